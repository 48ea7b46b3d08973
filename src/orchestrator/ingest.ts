/**
 * The one telemetry ingest path (DESIGN: Ingest): every source of telemetry (the fleet poll, a case's
 * history fetch, MQTT) hands its raw samples to `TelemetryIngest`, which validates each sample once,
 * quarantines each reject with its reason, counts it once, and returns the accepted samples, converted to
 * canonical units. Nothing downstream validates them again: what ingest accepted is data.
 *
 * A sample's identity is its content, so the store keeps and counts a bad sample once however many sources
 * bring it and however often: the poll sees a vehicle's latest sample until a newer one exists, and
 * analysis windows overlap by days.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { validateSample, type Rejection, type TelemetrySample } from '../core/telemetry.js';
import type { QuarantinedSample, Store } from '../store/port.js';

/** Where samples come from, kept with each reject. */
export const INGEST_SOURCES = {
  /** The telematics API's paged fleet poll. */
  poll: 'telematics_api',
  /** A case's fetch of its vehicle's history from the telematics API. */
  history: 'telematics_history',
  /** Vehicles publishing on `vehicles/+/telemetry`. */
  mqtt: 'mqtt',
} as const;
export type IngestSource = (typeof INGEST_SOURCES)[keyof typeof INGEST_SOURCES];

export class TelemetryIngest {
  constructor(
    private readonly store: Pick<Store, 'quarantine' | 'upsertVehicles'>,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  /**
   * Samples a live source brings (the poll, MQTT), of any vehicles: the vehicles of the good ones are
   * recorded (a new one becomes due for an analysis cycle).
   */
  async live(raw: readonly unknown[], source: IngestSource): Promise<IngestResult> {
    const now = this.clock.now();
    const r = await this.admit(raw, { now, source });
    if (r.accepted.length > 0) {
      await this.store.upsertVehicles(
        r.accepted.map((s) => ({ vin: s.vin, lastSampleAt: s.ts })),
        now,
      );
    }
    return r;
  }

  /**
   * One vehicle's history, fetched for its case: a valid sample of another vehicle is refused. The
   * vehicle is known already (a case exists for it), so nothing is recorded about it.
   */
  history(raw: readonly unknown[], vin: string): Promise<IngestResult> {
    return this.admit(raw, { now: this.clock.now(), source: INGEST_SOURCES.history, vin });
  }

  /** A response body refused unread (over the size limit): quarantined as one oversized input. */
  refusedBody(source: IngestSource, body: { bytes: number; message: string }): Promise<void> {
    return quarantineRefusedBody(this.store, { now: this.clock.now(), source, ...body });
  }

  private async admit(raw: readonly unknown[], opts: IngestOptions): Promise<IngestResult> {
    const r = await ingestSamples(this.store, raw, opts);
    if (r.quarantined > 0) {
      this.log.debug({ rejected: r.rejected, quarantined: r.quarantined, source: opts.source, vin: opts.vin }, 'telemetry rejected');
    }
    return r;
  }
}

export interface IngestOptions {
  /** Clock time of receipt: future timestamps are judged against it. */
  now: number;
  /** Where the samples came from, kept with each reject. */
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

/** Validates and quarantines one batch: the step `TelemetryIngest` runs for every source. */
export async function ingestSamples(store: Pick<Store, 'quarantine'>, raw: readonly unknown[], opts: IngestOptions): Promise<IngestResult> {
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
  store: Pick<Store, 'quarantine'>,
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
