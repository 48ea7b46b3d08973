/**
 * Planted faults: which component fails, how, and when (the hidden ground truth), and how far the
 * degradation has progressed at a given time. Drift accelerates toward `failsAt` so it is learnable.
 */
import { DAY, HOUR } from '../core/clock.js';
import type { Component } from '../core/telemetry.js';
import type { Urgency } from '../core/urgency.js';
import type { Rng } from './random.js';
import { SUSPECT_BATCH_SUFFIX, type VehicleInfo } from './vehicles.js';

export const FAULT_MODES = {
  brakes: ['pad_wear'],
  battery: ['low_voltage', 'traction_degradation'],
  cooling: ['overheating'],
  engine_oil: ['low_pressure'],
  tyres: ['slow_leak'],
  transmission: ['overheating'],
} as const satisfies Record<Component, readonly string[]>;
export type FaultMode = (typeof FAULT_MODES)[Component][number];

export interface PlantedFault {
  component: Component;
  mode: FaultMode;
  onsetAt: number;
  failsAt: number;
  /** Wheel indices (0 FL, 1 FR, 2 RL, 3 RR) for brakes and tyres. */
  wheels: number[];
  /** Shape of the drift: severity = progress^exponent (>1 accelerates near failure). */
  exponent: number;
}

/** How long before `startTime` a fault of each urgency fails (ms), as [min, max]. */
const FAILS_IN: Record<Urgency, readonly [number, number]> = {
  critical: [6 * HOUR, 22 * HOUR],
  high: [1.5 * DAY, 6.5 * DAY],
  medium: [8 * DAY, 28 * DAY],
  low: [35 * DAY, 120 * DAY],
};
const DRIFT_DAYS: Record<Urgency, readonly [number, number]> = {
  critical: [10, 25],
  high: [12, 30],
  medium: [14, 35],
  low: [20, 45],
};

/** Urgency mix of faulty vehicles after the first four (which cover every level, for demos). */
const URGENCY_WEIGHTS: readonly (readonly [Urgency, number])[] = [
  ['critical', 15],
  ['high', 20],
  ['medium', 25],
  ['low', 40],
];
const GUARANTEED_ORDER: readonly Urgency[] = ['critical', 'high', 'medium', 'low'];

export function urgencyBucketFor(faultyOrdinal: number, rng: Rng): Urgency {
  return GUARANTEED_ORDER[faultyOrdinal] ?? rng.weighted(URGENCY_WEIGHTS);
}

function componentWeights(info: VehicleInfo): [Component, number][] {
  const suspect = info.production_batch.endsWith(SUSPECT_BATCH_SUFFIX);
  if (info.powertrain === 'ev') {
    return [
      ['brakes', 2],
      ['battery', 3],
      ['tyres', 3],
      ['transmission', 1],
    ];
  }
  return [
    ['brakes', 2],
    ['battery', 2],
    ['cooling', suspect ? 8 : 2],
    ['engine_oil', 2],
    ['tyres', 2],
    ['transmission', 1],
  ];
}

function modeFor(component: Component, info: VehicleInfo, rng: Rng): FaultMode {
  if (component === 'battery') {
    return info.powertrain === 'ice' || rng.next() < 0.4 ? 'low_voltage' : 'traction_degradation';
  }
  return FAULT_MODES[component][0];
}

function wheelsFor(component: Component, rng: Rng): number[] {
  if (component === 'brakes') return rng.next() < 0.7 ? [0, 1] : [2, 3];
  if (component === 'tyres') return [rng.int(0, 3)];
  return [];
}

export function plantFault(
  rng: Rng,
  info: VehicleInfo,
  startTime: number,
  urgency: Urgency,
  exclude: Component | null,
): PlantedFault {
  const weights = componentWeights(info).filter(([c]) => c !== exclude);
  const component = rng.weighted(weights);
  const [lo, hi] = FAILS_IN[urgency];
  const failsAt = Math.round(startTime + rng.between(lo, hi));
  const [dLo, dHi] = DRIFT_DAYS[urgency];
  return {
    component,
    mode: modeFor(component, info, rng),
    onsetAt: Math.round(failsAt - rng.between(dLo, dHi) * DAY),
    failsAt,
    wheels: wheelsFor(component, rng),
    exponent: rng.between(1.6, 2.4),
  };
}

/** A later, less urgent bucket for a vehicle's optional second fault. */
export function laterBucket(u: Urgency): Urgency {
  return u === 'critical' ? 'medium' : u === 'high' ? 'medium' : 'low';
}

/**
 * Degradation in [0, 1.25]: 0 before onset, 1 exactly at `failsAt` (the limit is crossed), then it keeps
 * worsening a little. A repair at or before `t` clears it.
 */
export function severity(f: PlantedFault, t: number, repairedAt: number | undefined): number {
  if (repairedAt !== undefined && repairedAt <= t) return 0;
  if (t <= f.onsetAt) return 0;
  const progress = (t - f.onsetAt) / (f.failsAt - f.onsetAt);
  return Math.min(1.25, Math.pow(progress, f.exponent));
}
