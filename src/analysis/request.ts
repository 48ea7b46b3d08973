/** Checks an inbound AnalysisRequest: the bus is a boundary, so the payload is untrusted. */
import { isVin } from '../core/ids.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string; vin: string | null };

/** Upper bound on samples in one request: a larger batch is a producer bug, not a vehicle. */
export const MAX_SAMPLES_PER_REQUEST = 100_000;

/**
 * Upper bound on a request's JSON size. A fortnight of hourly samples is well under 1 MB; a 10 MB request
 * is a producer bug or an attack, refused before any sample is looked at.
 */
export const MAX_REQUEST_BYTES = 8 * 1024 * 1024;

/**
 * The length `JSON.stringify(value)` would have, counted only up to `cap` (returns a number above `cap`
 * as soon as it is passed): a huge payload costs at most `cap` characters of work, and no copy.
 * Strings count their characters plus quotes (escapes ignored), so this slightly under-counts.
 */
export function jsonSizeUpTo(value: unknown, cap: number): number {
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') size += v.length + 2;
    else if (typeof v === 'number' || typeof v === 'boolean') size += String(v).length;
    else if (v === null || v === undefined) size += 4;
    else if (Array.isArray(v)) {
      size += 1 + v.length;
      for (const item of v) stack.push(item);
    } else if (typeof v === 'object') {
      const entries = Object.entries(v as Record<string, unknown>);
      size += 1 + entries.length;
      for (const [k, item] of entries) {
        size += k.length + 3;
        stack.push(item);
      }
    }
    if (size > cap) return size;
  }
  return size;
}

export interface RawAnalysisRequest {
  vin: string;
  /** still unvalidated: each is checked with validateSample */
  samples: unknown[];
  /** epoch ms of the vehicle's last service, if any */
  since?: number;
}

export function parseAnalysisRequest(
  payload: unknown,
  maxSamples = MAX_SAMPLES_PER_REQUEST,
  maxBytes = MAX_REQUEST_BYTES,
): Parsed<RawAnalysisRequest> {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    return { ok: false, error: 'invalid_payload: payload must be an object {vin, samples}', vin: null };
  }
  const p = payload as Record<string, unknown>;
  const vin = isVin(p['vin']) ? p['vin'] : null;
  if (!vin) return { ok: false, error: 'invalid_payload: vin must be a 17-character VIN', vin: null };
  const samples = p['samples'];
  if (!Array.isArray(samples)) return { ok: false, error: 'invalid_payload: samples must be an array', vin };
  if (samples.length > maxSamples) {
    return { ok: false, error: `invalid_payload: ${samples.length} samples exceed the limit of ${maxSamples}`, vin };
  }
  if (jsonSizeUpTo(samples, maxBytes) > maxBytes) {
    return { ok: false, error: `payload_too_large: the request exceeds ${maxBytes} bytes of JSON`, vin };
  }
  const since = p['since'];
  if (since !== undefined && since !== null && !(typeof since === 'number' && Number.isFinite(since) && since >= 0)) {
    return { ok: false, error: 'invalid_payload: since must be epoch milliseconds (a number ≥ 0) when given', vin };
  }
  return { ok: true, value: typeof since === 'number' ? { vin, samples, since } : { vin, samples } };
}
