/**
 * Reads an inbound AnalysisRequest. The bus is a boundary: the message's shape is checked here, as any
 * consumer checks what it takes off the bus (a producer of another version, a bug). Its samples are not
 * validated again: ingest did that once, where they entered Pitwall (see `readRequestSample`).
 */
import { isVin } from '../core/ids.js';
import { MAX_MESSAGE_BYTES } from '../core/payloads.js';
import { MAX_CLOCK_SKEW_MS, SIGNAL_SPECS, type TelemetrySample } from '../core/telemetry.js';

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string; vin: string | null };

/** Upper bound on samples in one request: a larger batch is a producer bug, not a vehicle. */
export const MAX_SAMPLES_PER_REQUEST = 100_000;

/**
 * Upper bound on a request's JSON size: no broker carries a larger message, and the orchestrator sends a
 * bounded window well under it. A larger request is a producer bug or an attack, refused before any sample
 * is looked at.
 */
export const MAX_REQUEST_BYTES = MAX_MESSAGE_BYTES;

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
  /** as received: each is read with `readRequestSample` */
  samples: unknown[];
  /** epoch ms of the vehicle's last service, if any */
  since?: number;
  /** Absent: the agent keeps the vehicle's memory; null or a snapshot: the sender keeps it (AnalysisRequest.memory). */
  memory?: string | null;
}

/** A memory snapshot is about 1.5 KB; anything far larger is not one. */
export const MAX_MEMORY_CHARS = 64 * 1024;

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
  const memory = p['memory'];
  if (memory !== undefined && memory !== null && !(typeof memory === 'string' && memory.length <= MAX_MEMORY_CHARS)) {
    return { ok: false, error: `invalid_payload: memory must be null or a snapshot string of at most ${MAX_MEMORY_CHARS} characters when given`, vin };
  }
  return {
    ok: true,
    value: { vin, samples, ...(typeof since === 'number' ? { since } : {}), ...(memory !== undefined ? { memory } : {}) },
  };
}

/** Why a sample of a request is left out of the analysis (counted in `data_quality.excluded`). */
export type ExclusionReason =
  | 'not_an_object'
  | 'other_vin'
  | 'invalid_timestamp'
  | 'future_timestamp'
  | 'missing_signals'
  | 'wrong_type'
  | 'not_finite'
  | 'unknown_unit';

export type RequestSample =
  | { ok: true; sample: TelemetrySample; unknownSignals: number }
  | { ok: false; reason: ExclusionReason };

/**
 * Reads one sample of a request into the form the analysis works on: a check of the wire shape the
 * orchestrator sends, not a second validation. Ingest validated each sample where it entered Pitwall
 * (ranges, units converted to canonical ones, trouble-code syntax, size) and quarantined what it refused,
 * with the reason, once; judging those again here would count the same bad sample twice, in two places,
 * against two clocks. What stays is what a consumer checks of any message it takes off the bus, the types
 * it relies on: an object of this vehicle, a parseable time, finite numbers, codes as strings, and units
 * that are the canonical ones (a request carries no others). Two judgements stay here because they are the
 * analysis's own: a sample later than the analysis time is outside its window (it would plant a future day
 * in the vehicle's memory), and a signal the rules do not know is dropped and counted.
 */
export function readRequestSample(raw: unknown, vin: string, now: number): RequestSample {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, reason: 'not_an_object' };
  const s = raw as Record<string, unknown>;
  if (s['vin'] !== vin) return { ok: false, reason: 'other_vin' };
  const ts = typeof s['timestamp'] === 'string' ? Date.parse(s['timestamp']) : NaN;
  if (!Number.isFinite(ts)) return { ok: false, reason: 'invalid_timestamp' };
  if (ts > now + MAX_CLOCK_SKEW_MS) return { ok: false, reason: 'future_timestamp' };
  const signalsRaw = s['signals'];
  if (typeof signalsRaw !== 'object' || signalsRaw === null || Array.isArray(signalsRaw)) return { ok: false, reason: 'missing_signals' };
  const units = s['units'] ?? {};
  if (typeof units !== 'object' || units === null || Array.isArray(units)) return { ok: false, reason: 'wrong_type' };
  const signals: Record<string, number> = {};
  let unknownSignals = 0;
  for (const [path, value] of Object.entries(signalsRaw as Record<string, unknown>)) {
    const spec = SIGNAL_SPECS.get(path);
    if (!spec) {
      unknownSignals += 1;
      continue;
    }
    if (typeof value !== 'number') {
      // A JSON encoder writes NaN and ±Infinity as strings; the reason says what was meant.
      return { ok: false, reason: value === 'NaN' || value === 'Infinity' || value === '-Infinity' ? 'not_finite' : 'wrong_type' };
    }
    if (!Number.isFinite(value)) return { ok: false, reason: 'not_finite' };
    const unit = (units as Record<string, unknown>)[path];
    if (unit !== undefined && unit !== spec.unit) return { ok: false, reason: 'unknown_unit' };
    signals[path] = value;
  }
  const dtcs = s['dtcs'] ?? [];
  if (!Array.isArray(dtcs) || !dtcs.every((c) => typeof c === 'string')) return { ok: false, reason: 'wrong_type' };
  return { ok: true, sample: { vin, ts, signals, dtcs: dtcs as string[] }, unknownSignals };
}
