/**
 * Vehicle identity and owners: VINs with a valid check digit, models, plants, batches, firmware, owners.
 * Everything is drawn from a seeded generator, so the same seed yields the same fleet.
 */
import { Rng } from './random.js';

export const POWERTRAINS = ['ice', 'hybrid', 'ev'] as const;
export type Powertrain = (typeof POWERTRAINS)[number];

/** `dependable` is never drawn for a fleet; scenarios (end-to-end tests, demos) ask for it with `personas`. */
export const PERSONAS = ['prompt', 'busy', 'reluctant', 'unreachable', 'dependable'] as const;
export type Persona = (typeof PERSONAS)[number];

export const CONTACT_CHANNELS = ['email', 'sms', 'push'] as const;
export type ContactChannel = (typeof CONTACT_CHANNELS)[number];

/** Wire shape (snake_case) of a vehicle's owner. */
export interface OwnerInfo {
  name: string;
  email: string;
  phone: string;
  preferred_channel: ContactChannel;
  persona: Persona;
}

/** Wire shape of a vehicle's metadata, as served by GET /api/vehicles. */
export interface VehicleInfo {
  vin: string;
  make: string;
  model: string;
  model_year: number;
  plant: string;
  production_batch: string;
  firmware_version: string;
  powertrain: Powertrain;
  /** Odometer at the fleet's start time; the served `odometer_km` grows with driving. */
  initial_odometer_km: number;
  owner: OwnerInfo;
}

interface ModelSpec {
  name: string;
  code: string;
  powertrain: Powertrain;
}

const MAKE = 'Pitwall Motors';
const WMI = 'PWM';
const MODELS: readonly ModelSpec[] = [
  { name: 'Aster', code: 'AS1', powertrain: 'ice' },
  { name: 'Dune', code: 'DU4', powertrain: 'ice' },
  { name: 'Borealis Hybrid', code: 'BH2', powertrain: 'hybrid' },
  { name: 'Ember Hybrid', code: 'EH3', powertrain: 'hybrid' },
  { name: 'Corvid EV', code: 'CE7', powertrain: 'ev' },
];
const PLANTS = [
  { code: 'A', name: 'Arlon' },
  { code: 'K', name: 'Kassel' },
  { code: 'V', name: 'Valencia' },
  { code: 'T', name: 'Toluca' },
] as const;

const FIRST = ['Ada', 'Ben', 'Chloe', 'Dario', 'Elif', 'Femi', 'Greta', 'Hugo', 'Ines', 'Jonas', 'Kira', 'Luca', 'Maya', 'Nils', 'Olga', 'Priya', 'Rafael', 'Sofia', 'Tariq', 'Uma', 'Viktor', 'Wen', 'Yara', 'Zoe'];
const LAST = ['Fischer', 'Garcia', 'Hansen', 'Ivanova', 'Jensen', 'Kowalski', 'Lopez', 'Moreau', 'Novak', 'Okafor', 'Petrov', 'Rossi', 'Schmidt', 'Tanaka', 'Weber', 'Yilmaz'];

// VIN position 10 model-year codes (ISO 3779): 2010 = A … 2030 = Y, skipping I, O, Q, U, Z.
const YEAR_CODES = 'ABCDEFGHJKLMNPRSTVWXY';
const TRANSLITERATION: Record<string, number> = {
  A: 1, B: 2, C: 3, D: 4, E: 5, F: 6, G: 7, H: 8, J: 1, K: 2, L: 3, M: 4, N: 5, P: 7, R: 9,
  S: 2, T: 3, U: 4, V: 5, W: 6, X: 7, Y: 8, Z: 9,
};
const WEIGHTS = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2];

/** North-American check digit (position 9), so generated VINs pass real-world validators too. */
export function vinCheckDigit(vin17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) {
    const c = vin17[i] ?? '0';
    const v = c >= '0' && c <= '9' ? Number(c) : (TRANSLITERATION[c] ?? 0);
    sum += v * (WEIGHTS[i] ?? 0);
  }
  const r = sum % 11;
  return r === 10 ? 'X' : String(r);
}

function buildVin(model: ModelSpec, year: number, plantCode: string, serial: number, trim: string, body: string): string {
  const yearCode = YEAR_CODES[(year - 2010) % YEAR_CODES.length] ?? 'A';
  const draft = `${WMI}${model.code}${trim}${body}0${yearCode}${plantCode}${String(serial).padStart(6, '0')}`;
  return draft.slice(0, 8) + vinCheckDigit(draft) + draft.slice(9);
}

/** Batches that the quality module should be able to single out (more cooling faults). */
export const SUSPECT_BATCH_SUFFIX = '-W14';

export function generateVehicleInfo(rng: Rng, index: number): VehicleInfo {
  const model = rng.pick(MODELS);
  const modelYear = rng.int(2018, 2025);
  const plant = rng.pick(PLANTS);
  const week = rng.int(10, 18);
  const trim = rng.pick(['A', 'B', 'C', 'D', 'E']);
  const vin = buildVin(model, modelYear, plant.code, 100000 + index, trim, rng.pick(['1', '2', '3']));
  const firmwareMinor = Math.max(0, modelYear - 2018);
  const firmware = `${model.powertrain === 'ev' ? 5 : 3}.${firmwareMinor}.${rng.int(0, 4)}`;
  const ageYears = Math.max(0.2, 2026 - modelYear - rng.next());
  const first = rng.pick(FIRST);
  const last = rng.pick(LAST);
  const persona = rng.weighted<Persona>([
    ['prompt', 45],
    ['busy', 30],
    ['reluctant', 15],
    ['unreachable', 10],
  ]);
  return {
    vin,
    make: MAKE,
    model: model.name,
    model_year: modelYear,
    plant: plant.name,
    production_batch: `${plant.code}${modelYear}-W${String(week).padStart(2, '0')}`,
    firmware_version: firmware,
    powertrain: model.powertrain,
    initial_odometer_km: Math.round(ageYears * rng.between(9000, 22000) * 10) / 10,
    owner: {
      name: `${first} ${last}`,
      email: `${first}.${last}.${index}@example.com`.toLowerCase(),
      phone: `+447700900${String(index % 1000).padStart(3, '0')}`,
      preferred_channel: rng.weighted<ContactChannel>([
        ['email', 45],
        ['sms', 35],
        ['push', 20],
      ]),
      persona,
    },
  };
}
