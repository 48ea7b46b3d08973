/** Checks an inbound AnalysisRequest: the bus is a boundary, so the payload is untrusted. */
import { isVin } from '../core/ids.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string; vin: string | null };

/** Upper bound on samples in one request: a larger batch is a producer bug, not a vehicle. */
export const MAX_SAMPLES_PER_REQUEST = 100_000;

export interface RawAnalysisRequest {
  vin: string;
  /** still unvalidated: each is checked with validateSample */
  samples: unknown[];
}

export function parseAnalysisRequest(payload: unknown, maxSamples = MAX_SAMPLES_PER_REQUEST): Parsed<RawAnalysisRequest> {
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
  return { ok: true, value: { vin, samples } };
}
