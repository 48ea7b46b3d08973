/**
 * Turns a unit's trajectory into one feature row per cycle. Single-cycle sensor readings in C-MAPSS
 * are noisy, so every feature summarises a trailing window: its mean, a shorter recent mean, its
 * least-squares slope (the degradation rate), and the drift of the recent mean from the unit's own
 * first cycles (each engine starts with unknown initial wear, so its own start is a better baseline
 * than the fleet's). The cycle count is a feature too: wear grows with age.
 * Windows shorter than their length at the start of a trajectory use the rows that exist; that is
 * the same as padding with the first rows for the mean up to a small bias, and keeps slopes honest.
 */
import { CMAPSS_CHANNELS, type CmapssUnit } from './cmapss.js';

export const FEATURE_KINDS = ['mean', 'recent', 'slope', 'drift', 'min', 'max'] as const;
export type FeatureKind = (typeof FEATURE_KINDS)[number];

export interface FeatureSpec {
  /** channel indices kept (0–2 settings, 3–23 sensors s1–s21) */
  channels: number[];
  /** z-score parameters per kept channel, fitted on the training set */
  mean: number[];
  std: number[];
  kinds: FeatureKind[];
  /** trailing window for mean, slope, min and max */
  window: number;
  /** trailing window of the recent mean */
  recentWindow: number;
  /** first cycles that form the unit's own baseline */
  baselineWindow: number;
}

export interface FeatureOptions {
  kinds: FeatureKind[];
  window: number;
  recentWindow: number;
  baselineWindow: number;
}

export const DEFAULT_FEATURE_OPTIONS: FeatureOptions = {
  kinds: ['mean', 'recent', 'slope', 'drift'],
  window: 20,
  recentWindow: 10,
  baselineWindow: 20,
};

/**
 * Keeps the sensors that vary on the training set and fits their z-scores. Operational settings are
 * left out: in FD001 they are one condition plus noise. A sensor with fewer than 3 distinct values
 * (s6 in FD001 flips between two readings) carries no degradation signal.
 */
export function fitFeatureSpec(
  units: readonly CmapssUnit[],
  options: FeatureOptions = DEFAULT_FEATURE_OPTIONS,
): FeatureSpec {
  const channels: number[] = [];
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 3; c < CMAPSS_CHANNELS; c++) {
    const distinct = new Set<number>();
    let n = 0;
    let sum = 0;
    let sumSq = 0;
    for (const u of units) {
      for (const row of u.rows) {
        const v = row[c]!;
        if (distinct.size < 3) distinct.add(v);
        n++;
        sum += v;
        sumSq += v * v;
      }
    }
    const m = sum / n;
    const s = Math.sqrt(Math.max(0, sumSq / n - m * m));
    if (distinct.size < 3 || !(s > 1e-9 * Math.max(1, Math.abs(m)))) continue;
    channels.push(c);
    mean.push(m);
    std.push(s);
  }
  return { channels, mean, std, ...options, kinds: [...options.kinds] };
}

export function featureCount(spec: FeatureSpec): number {
  return spec.channels.length * spec.kinds.length + 1;
}

export function featureNames(spec: FeatureSpec): string[] {
  const names: string[] = [];
  for (const c of spec.channels) for (const k of spec.kinds) names.push(`${channelName(c)}_${k}`);
  names.push('cycle');
  return names;
}

function channelName(c: number): string {
  return c < 3 ? `setting${c + 1}` : `s${c - 2}`;
}

/** Feature rows of the given cycle positions (indices into `unit.rows`), row-major. */
export function unitFeatures(unit: CmapssUnit, spec: FeatureSpec, positions: readonly number[]): Float64Array {
  const nf = featureCount(spec);
  const out = new Float64Array(positions.length * nf);
  const len = unit.rows.length;
  const y = new Float64Array(len);
  const prefix = new Float64Array(len + 1);
  const prefixJ = new Float64Array(len + 1);
  const kinds = spec.kinds;
  spec.channels.forEach((c, ci) => {
    const m = spec.mean[ci]!;
    const s = spec.std[ci]!;
    for (let j = 0; j < len; j++) {
      const v = (unit.rows[j]![c]! - m) / s;
      y[j] = v;
      prefix[j + 1] = prefix[j]! + v;
      prefixJ[j + 1] = prefixJ[j]! + j * v;
    }
    const baseN = Math.min(spec.baselineWindow, len);
    positions.forEach((t, r) => {
      const a = Math.max(0, t - spec.window + 1);
      const n = t - a + 1;
      const sy = prefix[t + 1]! - prefix[a]!;
      const meanW = sy / n;
      const ra = Math.max(0, t - spec.recentWindow + 1);
      const recent = (prefix[t + 1]! - prefix[ra]!) / (t - ra + 1);
      let col = r * nf + ci * kinds.length;
      for (const k of kinds) {
        let v: number;
        switch (k) {
          case 'mean':
            v = meanW;
            break;
          case 'recent':
            v = recent;
            break;
          case 'slope':
            v = slope(prefix, prefixJ, a, t);
            break;
          case 'drift':
            v = recent - prefix[Math.min(baseN, t + 1)]! / Math.min(baseN, t + 1);
            break;
          case 'min':
          case 'max': {
            let e = y[a]!;
            for (let j = a + 1; j <= t; j++) e = k === 'min' ? Math.min(e, y[j]!) : Math.max(e, y[j]!);
            v = e;
            break;
          }
          default: {
            const never: never = k;
            throw new Error(`unknown feature kind ${String(never)}`);
          }
        }
        out[col++] = v;
      }
    });
  });
  positions.forEach((t, r) => {
    out[r * nf + nf - 1] = unit.cycles[t]!;
  });
  return out;
}

/** Least-squares slope of y[a..b] against the index, from prefix sums of y and j·y. */
function slope(prefix: Float64Array, prefixJ: Float64Array, a: number, b: number): number {
  const n = b - a + 1;
  if (n < 3) return 0;
  const sy = prefix[b + 1]! - prefix[a]!;
  const sxy = prefixJ[b + 1]! - prefixJ[a]! - a * sy;
  const sx = (n * (n - 1)) / 2;
  const sxx = ((n - 1) * n * (2 * n - 1)) / 6;
  return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}
