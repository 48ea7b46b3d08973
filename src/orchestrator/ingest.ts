/**
 * The one telemetry ingest path (DESIGN: Ingest): validates raw samples from any source (the fleet
 * poll, the history fetch, MQTT), quarantines each reject with its reason, and returns the accepted
 * samples. A sample's identity is its content, so the store keeps and counts a bad sample once however
 * many sources bring it and however often: the poll sees a vehicle's latest sample until a newer one
 * exists, and analysis windows overlap by days.
 */
import { createHash } from 'node:crypto';
import { validateSample, type Rejection, type TelemetrySample } from '../core/telemetry.js';
import type { QuarantinedSample, Store } from '../store/port.js';

export interface IngestOptions {
  /** Clock time of receipt: future timestamps are judged against it. */
  now: number;
  /** Where the samples came from, kept with each reject (`telematics_api`, `telematics_history`, `mqtt`). */
  source: string;
  /** The vehicle the samples were asked for: a valid sample of another VIN is refused (`invalid_vin`). */
  vin?: string;
}

export interface IngestResult {
  accepted: TelemetrySample[];
  /** Samples refused by this call, quarantined before or not. */
  rejected: number;
  /** Of those, the ones quarantined (and counted) for the first time. */
  quarantined: number;
}

export async function ingestSamples(store: Store, raw: readonly unknown[], opts: IngestOptions): Promise<IngestResult> {
  const accepted: TelemetrySample[] = [];
  const bad: QuarantinedSample[] = [];
  for (const item of raw) {
    const r = validateSample(item, opts.now);
    let rejection: Rejection;
    if (!r.ok) rejection = r.rejection;
    else if (opts.vin === undefined || r.sample.vin === opts.vin) {
      accepted.push(r.sample);
      continue;
    } else {
      rejection = { reason: 'invalid_vin', field: 'vin', message: `history of ${opts.vin} holds a sample of ${r.sample.vin}` };
    }
    const text = canonicalJson(item);
    bad.push({
      // Input that is not JSON has no content to know it by: it is stored and counted each time.
      key: text === null ? null : sampleKey(text),
      receivedAt: opts.now,
      vin: r.ok ? r.sample.vin : (r.vin ?? opts.vin ?? null),
      source: opts.source,
      rejection,
      // The store cuts it to a few KB.
      raw: text ?? String(item),
    });
  }
  const quarantined = bad.length > 0 ? (await store.quarantine(bad)).stored : 0;
  return { accepted, rejected: bad.length, quarantined };
}

/**
 * Quarantines a response body refused unread (over the size limit). It is not a sample and has no
 * content to know it by: each refusal is its own event, stored and counted.
 */
export async function quarantineRefusedBody(
  store: Store,
  opts: { now: number; source: string; bytes: number; message: string },
): Promise<void> {
  await store.quarantine([
    {
      key: null,
      receivedAt: opts.now,
      vin: null,
      source: opts.source,
      rejection: { reason: 'oversized', field: 'body', message: opts.message },
      raw: `(${opts.bytes} bytes, not kept)`,
    },
  ]);
}

/** A sample's identity: the hash of its content, whatever the order of its keys. */
export function sampleKey(canonical: string): string {
  return createHash('sha256').update(canonical).digest('base64url');
}

/**
 * JSON with object keys sorted at every level, so the same content from two sources reads the same;
 * null for a value JSON cannot hold (undefined, a cycle, a BigInt: samples parsed from JSON never are).
 */
export function canonicalJson(value: unknown): string | null {
  try {
    return JSON.stringify(sortKeys(value)) ?? null;
  } catch {
    return null;
  }
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== 'object' || value === null) return value;
  // fromEntries defines own properties: a `__proto__` key stays data, as JSON.parse made it.
  return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
}
