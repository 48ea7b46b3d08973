/**
 * Screening of validated samples before analysis: per signal, stuck sensors and spikes are excluded
 * (with a reason), dropouts are counted. `validateSample` already rejected what one sample alone shows
 * to be wrong; these faults only show against the vehicle's other readings.
 */
import { DAY, HOUR } from '../core/clock.js';
import { SIGNAL_SPECS, type TelemetrySample } from '../core/telemetry.js';
import { quantile } from './trend.js';

/** Reported with every analysis result (snake_case: it travels on the bus). */
export type { DataQuality } from '../core/payloads.js';

export type ScreenReason = 'stuck_sensor' | 'spike';

export interface ScreenOptions {
  /** A run of identical readings shorter than this is never stuck. @default 20 */
  stuckMinRun?: number;
  /** …nor one spanning less time than this. @default 6 h */
  stuckMinSpanMs?: number;
}

export interface Screened {
  /** the input (sorted by time) without the excluded readings */
  samples: TelemetrySample[];
  excluded: Record<ScreenReason, number>;
  signalsStuck: string[];
  gaps: number;
}

/** Neighbours each side a spike is judged against. */
const SPIKE_HALF_WINDOW = 5;
/** Neighbours needed on each side: at the newest reading a sudden real fault looks like a spike. */
const SPIKE_MIN_SIDE = 2;
const SPIKE_MADS = 6;
/** Changes smaller than this share of the physical range are never spikes (quantised signals have MAD 0). */
const SPIKE_RANGE_SHARE = 0.1;
/** During a stuck run, another signal moves by at least this share of its range (the vehicle is in use). */
const MOVING_RANGE_SHARE = 0.05;
/** A run is stuck only if this many times longer than the signal's typical run (slow, rounded signals repeat). */
const STUCK_RUN_FACTOR = 10;
/** A gap is this many times the signal's usual (median) interval… */
const GAP_FACTOR = 3;
/** …and at least a day: a vehicle parked overnight is not a dropout… */
const MIN_GAP_MS = DAY;
/** …unless the vehicle kept reporting other signals through it (a sensor dropout), then at least this long. */
const MIN_SENSOR_GAP_MS = HOUR;
/** Samples without the signal in between that make a gap a sensor dropout. */
const MIN_SAMPLES_IN_SENSOR_GAP = 3;

interface Reading {
  /** index into the sorted samples */
  i: number;
  t: number;
  v: number;
}

function median(values: number[]): number {
  const s = values.sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function rangeOf(signal: string): number {
  const spec = SIGNAL_SPECS.get(signal);
  return spec ? spec.max - spec.min : Infinity;
}

/** Readings of screened signals: those of a component (speed, rpm and odometer are context, not predicted). */
function readingsBySignal(samples: readonly TelemetrySample[]): Map<string, Reading[]> {
  const by = new Map<string, Reading[]>();
  for (const [i, s] of samples.entries()) {
    for (const [signal, v] of Object.entries(s.signals)) {
      if (!SIGNAL_SPECS.get(signal)?.component) continue;
      const list = by.get(signal);
      if (list) list.push({ i, t: s.ts, v });
      else by.set(signal, [{ i, t: s.ts, v }]);
    }
  }
  return by;
}

/** Indices (into `readings`) of single readings far from both sides' neighbours (median/MAD test). */
function spikes(signal: string, readings: readonly Reading[]): number[] {
  const floor = SPIKE_RANGE_SHARE * rangeOf(signal);
  const out: number[] = [];
  for (let k = SPIKE_MIN_SIDE; k < readings.length - SPIKE_MIN_SIDE; k++) {
    const v = readings[k]!.v;
    // Cheap test first: a spike differs from both adjacent readings by more than the floor.
    if (Math.abs(v - readings[k - 1]!.v) <= floor || Math.abs(v - readings[k + 1]!.v) <= floor) continue;
    const around: number[] = [];
    for (let j = Math.max(0, k - SPIKE_HALF_WINDOW); j <= Math.min(readings.length - 1, k + SPIKE_HALF_WINDOW); j++) {
      if (j !== k) around.push(readings[j]!.v);
    }
    // A value the signal also takes nearby (a parked reading among driving ones) is a state, not a spike.
    if (around.some((x) => Math.abs(v - x) <= floor)) continue;
    const m = median(around);
    const mad = median(around.map((x) => Math.abs(x - m)));
    if (Math.abs(v - m) > floor + SPIKE_MADS * 1.4826 * mad) out.push(k);
  }
  return out;
}

/** Whether some other signal moved materially over samples [from, to]: the vehicle was in use. */
function othersMoved(samples: readonly TelemetrySample[], signal: string, from: number, to: number): boolean {
  const lo = new Map<string, number>();
  const hi = new Map<string, number>();
  for (let i = from; i <= to; i++) {
    for (const [other, v] of Object.entries(samples[i]!.signals)) {
      if (other === signal) continue;
      lo.set(other, Math.min(lo.get(other) ?? v, v));
      hi.set(other, Math.max(hi.get(other) ?? v, v));
    }
  }
  for (const [other, min] of lo) {
    if (hi.get(other)! - min >= MOVING_RANGE_SHARE * rangeOf(other)) return true;
  }
  return false;
}

/** Indices (into `readings`) of the repeats of stuck runs; the first reading of a run may be true and stays. */
function stuckRepeats(samples: readonly TelemetrySample[], signal: string, readings: readonly Reading[], opts: Required<ScreenOptions>): number[] {
  const runs: Array<[number, number]> = [];
  let start = 0;
  for (let k = 1; k <= readings.length; k++) {
    if (k < readings.length && readings[k]!.v === readings[start]!.v) continue;
    runs.push([start, k - 1]);
    start = k;
  }
  const typical = median(runs.map(([a, b]) => b - a + 1));
  const out: number[] = [];
  for (const [a, b] of runs) {
    const length = b - a + 1;
    if (length < Math.max(opts.stuckMinRun, STUCK_RUN_FACTOR * typical)) continue;
    if (readings[b]!.t - readings[a]!.t < opts.stuckMinSpanMs) continue;
    if (!othersMoved(samples, signal, readings[a]!.i, readings[b]!.i)) continue;
    for (let k = a + 1; k <= b; k++) out.push(k);
  }
  return out;
}

function countGaps(readings: readonly Reading[]): number {
  if (readings.length < 3) return 0;
  const intervals: number[] = [];
  for (let k = 1; k < readings.length; k++) intervals.push(readings[k]!.t - readings[k - 1]!.t);
  const usual = GAP_FACTOR * quantile(intervals, 0.5);
  let gaps = 0;
  for (let k = 1; k < readings.length; k++) {
    const d = intervals[k - 1]!;
    const sensorOnly = readings[k]!.i - readings[k - 1]!.i - 1 >= MIN_SAMPLES_IN_SENSOR_GAP;
    if (d > Math.max(usual, sensorOnly ? MIN_SENSOR_GAP_MS : MIN_GAP_MS)) gaps++;
  }
  return gaps;
}

/** Screens validated samples of one vehicle (any order); returns them sorted, without the excluded readings. */
export function screenSamples(input: readonly TelemetrySample[], opts: ScreenOptions = {}): Screened {
  const o: Required<ScreenOptions> = { stuckMinRun: opts.stuckMinRun ?? 20, stuckMinSpanMs: opts.stuckMinSpanMs ?? 6 * HOUR };
  const samples = [...input].sort((a, b) => a.ts - b.ts);
  const excluded: Record<ScreenReason, number> = { stuck_sensor: 0, spike: 0 };
  const drop = new Map<number, Set<string>>();
  const mark = (i: number, signal: string): void => {
    const set = drop.get(i);
    if (set) set.add(signal);
    else drop.set(i, new Set([signal]));
  };
  const signalsStuck: string[] = [];
  let gaps = 0;
  for (const [signal, readings] of readingsBySignal(samples)) {
    gaps += countGaps(readings);
    const stuck = stuckRepeats(samples, signal, readings, o);
    if (stuck.length > 0) signalsStuck.push(signal);
    for (const k of stuck) mark(readings[k]!.i, signal);
    excluded.stuck_sensor += stuck.length;
    // Spikes are judged on the readings left after the stuck runs, so a stuck plateau is no neighbour.
    const stuckSet = new Set(stuck);
    const rest = readings.filter((_, k) => !stuckSet.has(k));
    const spiky = spikes(signal, rest);
    for (const k of spiky) mark(rest[k]!.i, signal);
    excluded.spike += spiky.length;
  }
  const out = samples.map((s, i) => {
    const signals = drop.get(i);
    if (!signals) return s;
    return { ...s, signals: Object.fromEntries(Object.entries(s.signals).filter(([k]) => !signals.has(k))) };
  });
  return { samples: out, excluded, signalsStuck: signalsStuck.sort(), gaps };
}

/** Distinct UTC days among the samples' timestamps. */
export function coverageDays(samples: readonly TelemetrySample[]): number {
  return new Set(samples.map((s) => Math.floor(s.ts / DAY))).size;
}

/** Whether a screened sample still carries something to analyse. */
export function isUsable(s: TelemetrySample): boolean {
  return s.dtcs.length > 0 || Object.keys(s.signals).length > 0;
}
