/** Synthetic telemetry for analysis tests: deterministic noise, days of samples, wire or validated form. */
import { DAY, HOUR } from '../../core/clock.js';
import { mulberry32 } from '../../core/prng.js';
import type { TelemetrySample } from '../../core/telemetry.js';

export const TEST_VIN = '1HGCM82633A004352';
export const T0 = Date.UTC(2025, 0, 1);

/** A seeded PRNG so "noise" is the same on every run. */
export const prng = mulberry32;

/** Uniform noise in [-amplitude, amplitude]. */
export function noise(rand: () => number, amplitude: number): number {
  return (rand() * 2 - 1) * amplitude;
}

export interface SeriesSpec {
  days: number;
  perDay: number;
  /** signals of the sample taken `day` days (fractional) after T0; the i-th of its day */
  signals: (day: number, i: number) => Record<string, number>;
  dtcs?: (day: number, i: number) => string[];
}

/** Samples spread over the day between 07:00 and 19:00 UTC. */
export function series(spec: SeriesSpec): TelemetrySample[] {
  const out: TelemetrySample[] = [];
  for (let d = 0; d < spec.days; d++) {
    for (let i = 0; i < spec.perDay; i++) {
      const ts = T0 + d * DAY + 7 * HOUR + Math.floor((i * 12 * HOUR) / spec.perDay);
      out.push({ vin: TEST_VIN, ts, signals: spec.signals((ts - T0) / DAY, i), dtcs: spec.dtcs?.(d, i) ?? [] });
    }
  }
  return out;
}

export function lastTs(samples: readonly TelemetrySample[]): number {
  return samples[samples.length - 1]!.ts;
}
