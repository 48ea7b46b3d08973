/**
 * The simulated fleet: `createFleet({ seed, vehicles, startTime })`. Same seed → same fleet. Only
 * parameters and repair times are stored; telemetry is computed on demand, so 10,000 vehicles are cheap.
 */
import { HOUR, isoTime } from '../core/clock.js';
import { COMPONENTS, type Component, type TelemetrySample, type TelemetrySampleWire } from '../core/telemetry.js';
import { badDataKindFor, corrupt, type ServedSample } from './bad-data.js';
import { localTime, odometerAt, type DrivingProfile } from './driving.js';
import { laterBucket, plantFault, urgencyBucketFor, type FaultMode, type PlantedFault } from './faults.js';
import { hashString, mix, Rng, seedNumber } from './random.js';
import { computeSignals, type RepairLog, type VehicleModel } from './signals.js';
import { generateVehicleInfo, type VehicleInfo } from './vehicles.js';

export interface FleetOptions {
  seed: number | string;
  /** Number of vehicles. */
  vehicles: number;
  /** Virtual epoch ms at which the fleet starts; fault times are planted relative to it. */
  startTime: number;
  /** Share of vehicles with no planted fault. @default 0.6 */
  healthyShare?: number;
  /** Share of faulty vehicles given a second, later fault. @default 0.15 */
  secondFaultShare?: number;
  /** Share of served samples that are malformed. @default 0 */
  badSampleRate?: number;
}

/** Ground truth of one planted fault (wire shape). */
export interface FaultTruth {
  component: Component;
  mode: FaultMode;
  onset_at: string;
  fails_at: string;
  repaired_at?: string;
}

export interface VehicleGroundTruth {
  vin: string;
  healthy: boolean;
  faults: FaultTruth[];
}

export interface ServiceFindingRecord {
  component: Component;
  finding: 'confirmed' | 'not_found';
}

export class UnknownVehicleError extends Error {
  readonly code = 'unknown_vehicle';
  constructor(vin: string) {
    super(`no vehicle with VIN ${vin}`);
    this.name = 'UnknownVehicleError';
  }
}

export interface Fleet {
  readonly seed: number | string;
  readonly startTime: number;
  readonly size: number;
  readonly badSampleRate: number;
  /** Vehicles in a stable order (paging relies on it). */
  infos(): readonly VehicleInfo[];
  info(vin: string): VehicleInfo | undefined;
  odometerAt(vin: string, t: number): number | undefined;
  /** The clean, canonical sample at time t. */
  sample(vin: string, t: number): TelemetrySample | undefined;
  /** The sample as the telematics API serves it (bad-data injection applied). */
  servedSample(vin: string, t: number): ServedSample | undefined;
  groundTruth(): VehicleGroundTruth[];
  groundTruthFor(vin: string): VehicleGroundTruth | undefined;
  /**
   * Repairs the components at time `at`; throws UnknownVehicleError for an unknown VIN. Repeating a
   * repair (same components, same `at`) repairs nothing more and answers the same findings.
   */
  serviceVehicle(vin: string, components: readonly Component[], at: number): ServiceFindingRecord[];
}

interface Entry {
  info: VehicleInfo;
  model: VehicleModel;
  repairs: RepairLog;
}

function buildModel(info: VehicleInfo, seed: number, index: number, startTime: number, faults: PlantedFault[]): VehicleModel {
  const rng = new Rng(mix(seed, index, 3));
  const hourOffset = rng.int(0, 2);
  const driving: DrivingProfile = {
    key: mix(seed, hashString(info.vin)),
    hourOffset,
    dailyKm: rng.between(20, 90),
    dayZero: 0,
    initialKm: info.initial_odometer_km,
    cache: { day: 0, km: info.initial_odometer_km },
  };
  driving.dayZero = localTime(driving, startTime).day;
  driving.cache = { day: driving.dayZero, km: info.initial_odometer_km };
  return {
    vin: info.vin,
    powertrain: info.powertrain,
    driving,
    startTime,
    padBase: rng.between(5, 45),
    padPerKm: rng.between(0.0012, 0.0025),
    tyreBase: [0, 1, 2, 3].map(() => rng.between(232, 248)),
    batteryRest: rng.between(12.45, 12.7),
    sohBase: info.powertrain === 'ice' ? null : rng.between(86, 97),
    faults,
  };
}

function faultyOrdinals(seed: number, n: number, faulty: number): Map<number, number> {
  const order = Array.from({ length: n }, (_, i) => i);
  const rng = new Rng(mix(seed, 1));
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [order[i], order[j]] = [order[j] ?? 0, order[i] ?? 0];
  }
  return new Map(order.slice(0, faulty).map((vehicle, ordinal) => [vehicle, ordinal]));
}

export function createFleet(opts: FleetOptions): Fleet {
  const n = opts.vehicles;
  if (!Number.isInteger(n) || n < 0 || n > 1_000_000) throw new RangeError('vehicles must be an integer in [0, 1000000]');
  const healthyShare = opts.healthyShare ?? 0.6;
  if (!(healthyShare >= 0 && healthyShare <= 1)) throw new RangeError('healthyShare must be in [0, 1]');
  const badSampleRate = opts.badSampleRate ?? 0;
  if (!(badSampleRate >= 0 && badSampleRate <= 1)) throw new RangeError('badSampleRate must be in [0, 1]');
  const secondShare = opts.secondFaultShare ?? 0.15;
  const seed = seedNumber(opts.seed);
  const { startTime } = opts;
  const ordinals = faultyOrdinals(seed, n, Math.round(n * (1 - healthyShare)));
  const entries: Entry[] = [];
  const byVin = new Map<string, Entry>();
  for (let i = 0; i < n; i++) {
    const info = generateVehicleInfo(new Rng(mix(seed, i, 2)), i);
    const faults: PlantedFault[] = [];
    const ordinal = ordinals.get(i);
    if (ordinal !== undefined) {
      const rng = new Rng(mix(seed, i, 4));
      const bucket = urgencyBucketFor(ordinal, rng);
      const first = plantFault(rng, info, startTime, bucket, null);
      faults.push(first);
      if (rng.next() < secondShare) faults.push(plantFault(rng, info, startTime, laterBucket(bucket), first.component));
    }
    const entry: Entry = { info, model: buildModel(info, seed, i, startTime, faults), repairs: {} };
    entries.push(entry);
    byVin.set(info.vin, entry);
  }
  const infos = entries.map((e) => e.info);

  const truthOf = (e: Entry): VehicleGroundTruth => ({
    vin: e.info.vin,
    healthy: e.model.faults.length === 0,
    faults: e.model.faults.map((f) => {
      const repaired = e.repairs[f.component]?.[0];
      return {
        component: f.component,
        mode: f.mode,
        onset_at: isoTime(f.onsetAt),
        fails_at: isoTime(f.failsAt),
        ...(repaired !== undefined ? { repaired_at: isoTime(repaired) } : {}),
      };
    }),
  });

  const sample = (vin: string, t: number): TelemetrySample | undefined => {
    const e = byVin.get(vin);
    if (!e) return undefined;
    const { signals, dtcs } = computeSignals(e.model, t, e.repairs);
    return { vin, ts: t, signals, dtcs };
  };

  return {
    seed: opts.seed,
    startTime,
    size: n,
    badSampleRate,
    infos: () => infos,
    info: (vin) => byVin.get(vin)?.info,
    odometerAt: (vin, t) => {
      const e = byVin.get(vin);
      return e ? Math.round(odometerAt(e.model.driving, t) * 10) / 10 : undefined;
    },
    sample,
    servedSample: (vin, t) => {
      const s = sample(vin, t);
      const e = byVin.get(vin);
      if (!s || !e) return undefined;
      const wire: TelemetrySampleWire & { dtcs: string[] } = {
        vin,
        timestamp: isoTime(t),
        signals: s.signals,
        dtcs: s.dtcs,
      };
      const kind = badDataKindFor(e.model.driving.key, t, badSampleRate);
      return kind ? corrupt(wire, kind, e.model.driving.key, t) : wire;
    },
    groundTruth: () => entries.map(truthOf),
    groundTruthFor: (vin) => {
      const e = byVin.get(vin);
      return e ? truthOf(e) : undefined;
    },
    serviceVehicle: (vin, components, at) => {
      const e = byVin.get(vin);
      if (!e) throw new UnknownVehicleError(vin);
      const unique = [...new Set(components)].filter((c) => (COMPONENTS as readonly string[]).includes(c));
      return unique.map((component) => {
        const log = e.repairs[component] ?? [];
        const faulty = e.model.faults.some((f) => f.component === component);
        // The same repair again (a retried request, a journal replayed) gets the first answer, not a second repair.
        if (log.includes(at)) return { component, finding: faulty && log[0] === at ? 'confirmed' : 'not_found' };
        e.repairs[component] = [...log, at].sort((a, b) => a - b);
        return { component, finding: faulty && log.length === 0 ? 'confirmed' : 'not_found' };
      });
    },
  };
}

export const DEFAULT_SAMPLE_INTERVAL_MS = HOUR;
