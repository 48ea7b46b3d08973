/**
 * Telemetry schema: signals named after COVESA VSS paths, in the VSS (metric) units.
 * A source may declare other units per signal (`units`); they are converted here, never guessed.
 */
import { isVin } from './ids.js';

export interface SignalSpec {
  readonly path: string;
  readonly unit: string;
  /** Physically possible range in the canonical unit; outside it a value is a sensor or transport fault. */
  readonly min: number;
  readonly max: number;
  readonly component: Component | null;
}

export const COMPONENTS = ['brakes', 'battery', 'cooling', 'engine_oil', 'tyres', 'transmission'] as const;
export type Component = (typeof COMPONENTS)[number];

const WHEELS = ['Row1.Wheel.Left', 'Row1.Wheel.Right', 'Row2.Wheel.Left', 'Row2.Wheel.Right'] as const;
type PerWheel = readonly [string, string, string, string];
/** One VSS path per wheel, front-left first. */
const perWheel = (leaf: string): PerWheel =>
  WHEELS.map((w) => `Vehicle.Chassis.Axle.${w}.${leaf}`) as unknown as PerWheel;

export const SIGNALS = {
  speed: 'Vehicle.Speed',
  odometer: 'Vehicle.TraveledDistance',
  engineSpeed: 'Vehicle.Powertrain.CombustionEngine.Speed',
  coolantTemp: 'Vehicle.Powertrain.CombustionEngine.EngineCoolant.Temperature',
  oilTemp: 'Vehicle.Powertrain.CombustionEngine.EngineOil.Temperature',
  oilPressure: 'Vehicle.Powertrain.CombustionEngine.EOP',
  transmissionTemp: 'Vehicle.Powertrain.Transmission.Temperature',
  batteryVoltage: 'Vehicle.LowVoltageBattery.CurrentVoltage',
  batteryHealth: 'Vehicle.Powertrain.TractionBattery.StateOfHealth',
  tyrePressure: perWheel('Tire.Pressure'),
  padWear: perWheel('Brake.PadWear'),
} as const;

const specs: SignalSpec[] = [
  { path: SIGNALS.speed, unit: 'km/h', min: 0, max: 350, component: null },
  { path: SIGNALS.odometer, unit: 'km', min: 0, max: 3_000_000, component: null },
  { path: SIGNALS.engineSpeed, unit: 'rpm', min: 0, max: 12_000, component: null },
  { path: SIGNALS.coolantTemp, unit: 'celsius', min: -60, max: 160, component: 'cooling' },
  { path: SIGNALS.oilTemp, unit: 'celsius', min: -60, max: 200, component: 'engine_oil' },
  { path: SIGNALS.oilPressure, unit: 'kPa', min: 0, max: 1200, component: 'engine_oil' },
  { path: SIGNALS.transmissionTemp, unit: 'celsius', min: -60, max: 220, component: 'transmission' },
  { path: SIGNALS.batteryVoltage, unit: 'V', min: 0, max: 20, component: 'battery' },
  { path: SIGNALS.batteryHealth, unit: 'percent', min: 0, max: 100, component: 'battery' },
  ...SIGNALS.tyrePressure.map((path) => ({ path, unit: 'kPa', min: 0, max: 600, component: 'tyres' as const })),
  ...SIGNALS.padWear.map((path) => ({ path, unit: 'percent', min: 0, max: 100, component: 'brakes' as const })),
];

export const SIGNAL_SPECS: ReadonlyMap<string, SignalSpec> = new Map(specs.map((s) => [s.path, s]));

/** Conversions from a declared unit to the canonical one. */
const CONVERSIONS: Record<string, Record<string, (v: number) => number>> = {
  celsius: { celsius: (v) => v, fahrenheit: (v) => ((v - 32) * 5) / 9, kelvin: (v) => v - 273.15 },
  kPa: { kPa: (v) => v, psi: (v) => v * 6.894757, bar: (v) => v * 100 },
  km: { km: (v) => v, m: (v) => v / 1000, mi: (v) => v * 1.609344 },
  'km/h': { 'km/h': (v) => v, mph: (v) => v * 1.609344, 'm/s': (v) => v * 3.6 },
  rpm: { rpm: (v) => v },
  V: { V: (v) => v, mV: (v) => v / 1000 },
  percent: { percent: (v) => v },
};

/** A validated, normalised sample: canonical units, epoch-ms time. */
export interface TelemetrySample {
  vin: string;
  /** epoch ms */
  ts: number;
  signals: Record<string, number>;
  dtcs: string[];
}

/** The wire shape of a sample (snake_case JSON). */
export interface TelemetrySampleWire {
  vin: string;
  timestamp: string;
  signals: Record<string, number>;
  units?: Record<string, string>;
  dtcs?: string[];
}

export const REJECTION_REASONS = [
  'not_an_object',
  'missing_vin',
  'invalid_vin',
  'invalid_timestamp',
  'future_timestamp',
  'missing_signals',
  'wrong_type',
  'not_finite',
  'out_of_range',
  'unknown_unit',
  'invalid_dtc',
  'oversized',
] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

export interface Rejection {
  reason: RejectionReason;
  /** The field at fault, as a JSON path (`signals.Vehicle.Speed`). */
  field: string;
  message: string;
}

export type ValidationResult =
  | { ok: true; sample: TelemetrySample; ignoredSignals: string[] }
  | { ok: false; rejection: Rejection; vin: string | null };

/** A sample with more signals or codes than this is not a vehicle reading but a fault upstream (or an attack). */
export const MAX_SIGNALS_PER_SAMPLE = 500;
export const MAX_DTCS_PER_SAMPLE = 100;

/** Samples stamped further than this ahead of the receiver's clock are rejected. */
export const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;
const DTC_PATTERN = /^[PCBU][0-3][0-9A-F]{3}$/;

function reject(reason: RejectionReason, field: string, message: string, vin: string | null): ValidationResult {
  return { ok: false, rejection: { reason, field, message }, vin };
}

/**
 * Validates one sample from an outside source and converts it to canonical units.
 * Signals Pitwall does not know are ignored (and listed), not fatal: sources carry more than we read.
 */
export function validateSample(input: unknown, now: number): ValidationResult {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return reject('not_an_object', '', 'a telemetry sample must be a JSON object', null);
  }
  const raw = input as Record<string, unknown>;
  const vin = raw['vin'];
  if (vin === undefined || vin === null || vin === '') return reject('missing_vin', 'vin', 'vin is required', null);
  if (!isVin(vin)) {
    return reject('invalid_vin', 'vin', 'vin must be 17 characters A-Z/0-9 without I, O, Q', null);
  }
  const tsRaw = raw['timestamp'];
  const ts = typeof tsRaw === 'string' ? Date.parse(tsRaw) : NaN;
  if (!Number.isFinite(ts)) {
    return reject('invalid_timestamp', 'timestamp', 'timestamp must be an ISO-8601 date-time string', vin);
  }
  if (ts > now + MAX_CLOCK_SKEW_MS) {
    return reject('future_timestamp', 'timestamp', `timestamp ${String(tsRaw)} is in the future`, vin);
  }
  const signalsRaw = raw['signals'];
  if (typeof signalsRaw !== 'object' || signalsRaw === null || Array.isArray(signalsRaw)) {
    return reject('missing_signals', 'signals', 'signals must be an object of VSS path → number', vin);
  }
  if (Object.keys(signalsRaw).length > MAX_SIGNALS_PER_SAMPLE) {
    return reject('oversized', 'signals', `more than ${MAX_SIGNALS_PER_SAMPLE} signals in one sample`, vin);
  }
  const unitsRaw = raw['units'] ?? {};
  if (typeof unitsRaw !== 'object' || unitsRaw === null || Array.isArray(unitsRaw)) {
    return reject('wrong_type', 'units', 'units must be an object of VSS path → unit name', vin);
  }
  const units = unitsRaw as Record<string, unknown>;
  const signals: Record<string, number> = {};
  const ignoredSignals: string[] = [];
  for (const [path, value] of Object.entries(signalsRaw as Record<string, unknown>)) {
    const spec = SIGNAL_SPECS.get(path);
    if (!spec) {
      ignoredSignals.push(path);
      continue;
    }
    const field = `signals.${path}`;
    if (value === 'NaN' || value === 'Infinity' || value === '-Infinity') {
      return reject('not_finite', field, `${path} is ${value}; a finite number is required`, vin);
    }
    if (typeof value !== 'number') {
      return reject('wrong_type', field, `${path} must be a number, got ${value === null ? 'null' : typeof value}`, vin);
    }
    if (!Number.isFinite(value)) return reject('not_finite', field, `${path} must be finite`, vin);
    const declared = units[path] ?? spec.unit;
    const convert = typeof declared === 'string' ? CONVERSIONS[spec.unit]?.[declared] : undefined;
    if (!convert) {
      const known = Object.keys(CONVERSIONS[spec.unit] ?? {}).join(', ');
      return reject('unknown_unit', `units.${path}`, `unit ${String(declared)} for ${path} is not one of: ${known}`, vin);
    }
    const v = convert(value);
    if (v < spec.min || v > spec.max) {
      return reject(
        'out_of_range',
        field,
        `${path} = ${v.toFixed(2)} ${spec.unit} is outside the physical range [${spec.min}, ${spec.max}]`,
        vin,
      );
    }
    signals[path] = v;
  }
  const dtcsRaw = raw['dtcs'] ?? [];
  if (!Array.isArray(dtcsRaw)) return reject('wrong_type', 'dtcs', 'dtcs must be an array of OBD-II codes', vin);
  if (dtcsRaw.length > MAX_DTCS_PER_SAMPLE) return reject('oversized', 'dtcs', `more than ${MAX_DTCS_PER_SAMPLE} DTCs in one sample`, vin);
  const dtcs: string[] = [];
  for (const [i, code] of dtcsRaw.entries()) {
    if (typeof code !== 'string' || !DTC_PATTERN.test(code)) {
      return reject('invalid_dtc', `dtcs[${i}]`, `dtcs[${i}] must look like P0217 (letter P/C/B/U + 4 hex digits)`, vin);
    }
    dtcs.push(code);
  }
  return { ok: true, sample: { vin, ts, signals, dtcs }, ignoredSignals };
}

export function sampleToWire(s: TelemetrySample): TelemetrySampleWire {
  return { vin: s.vin, timestamp: new Date(s.ts).toISOString(), signals: s.signals, dtcs: s.dtcs };
}
