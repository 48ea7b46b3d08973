/**
 * Malformed samples, as real telematics feeds deliver them now and then. Which sample is bad, and how,
 * is a pure function of (vehicle key, time), so a re-poll returns the same bad sample.
 */
import { SIGNALS } from '../core/telemetry.js';
import { unit } from './random.js';

/** A sample as served: possibly malformed, hence looser than TelemetrySampleWire. */
export interface ServedSample {
  vin?: string;
  timestamp: string;
  signals: Record<string, number | string>;
  units?: Record<string, string>;
  dtcs: string[];
}

export const BAD_DATA_KINDS = ['nan_string', 'string_number', 'out_of_range', 'unknown_unit', 'missing_vin'] as const;
export type BadDataKind = (typeof BAD_DATA_KINDS)[number];

export function badDataKindFor(key: number, t: number, rate: number): BadDataKind | null {
  if (rate <= 0 || unit(key, 41, t) >= rate) return null;
  return BAD_DATA_KINDS[Math.floor(unit(key, 42, t) * BAD_DATA_KINDS.length)] ?? 'nan_string';
}

/** Returns a corrupted copy of a clean sample. */
export function corrupt(sample: ServedSample, kind: BadDataKind, key: number, t: number): ServedSample {
  const paths = Object.keys(sample.signals);
  const path = paths[Math.floor(unit(key, 43, t) * paths.length)] ?? SIGNALS.speed;
  const out: ServedSample = { ...sample, signals: { ...sample.signals } };
  switch (kind) {
    case 'nan_string':
      out.signals[path] = 'NaN';
      break;
    case 'string_number':
      out.signals[path] = String(sample.signals[path]);
      break;
    case 'out_of_range':
      out.signals[SIGNALS.speed] = 987.6;
      break;
    case 'unknown_unit':
      out.units = { [path]: 'furlongs' };
      break;
    case 'missing_vin':
      delete out.vin;
      break;
    default: {
      const _exhaustive: never = kind;
      return _exhaustive;
    }
  }
  return out;
}
