/**
 * Publishes outbox rows to the bus (critical first) and runs the orchestrator's own internal work
 * (telemetry fetches). A row is marked sent only after the bus has taken it, so a crash in between
 * re-sends it with the same message id to consumers that are idempotent on it.
 */
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { validateSample, sampleToWire, type TelemetrySampleWire } from '../core/telemetry.js';
import type { Bus } from '../bus/port.js';
import type { EnvelopeFactory } from '../bus/signing.js';
import type { OutboxRow, QuarantinedSample, Store } from '../store/port.js';
import type { Effect } from '../core/workflow.js';
import { INTERNAL_FETCH_CHANNEL, type DecisionApplier } from './applier.js';
import type { TelematicsClient } from './telematics-client.js';

export interface DispatcherOptions {
  batchSize: number;
  /** Lease on claimed rows, in clock time. */
  leaseMs: number;
  /** Telemetry fetches in flight at once. */
  fetchConcurrency: number;
  /** History window sent to analysis. */
  analysisWindowMs: number;
  /**
   * Analysis windows overlap (each cycle re-reads days of history), so a bad sample is quarantined and
   * counted only while it is newer than this: once, by the first cycle that sees it.
   */
  freshRejectsMs: number;
  maxSamplesPerFetch: number;
}

export class OutboxDispatcher {
  private readonly inflight = new Set<string>();
  private fetching = 0;
  private readonly fetchQueue: OutboxRow[] = [];
  private running: Promise<void> | null = null;
  private again = false;
  published = 0;

  constructor(
    private readonly store: Store,
    private readonly bus: Bus,
    private readonly envelopes: EnvelopeFactory,
    private readonly clock: Clock,
    private readonly telematics: TelematicsClient,
    private readonly applier: DecisionApplier,
    private readonly log: Logger,
    private readonly opts: DispatcherOptions,
  ) {}

  get busy(): boolean {
    return this.inflight.size > 0 || this.running !== null;
  }

  /** Runs a dispatch pass soon; calls while one runs coalesce into one more pass. */
  wake(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.pass();
        } while (this.again);
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }

  private async pass(): Promise<void> {
    for (;;) {
      const rows = (await this.store.claimOutbox(this.clock.now(), this.opts.batchSize, this.opts.leaseMs)).filter(
        (r) => !this.inflight.has(r.messageId),
      );
      if (rows.length === 0) return;
      for (const row of rows) {
        this.inflight.add(row.messageId);
        if (row.channel === INTERNAL_FETCH_CHANNEL) {
          this.fetchQueue.push(row);
          this.pumpFetches();
        } else {
          void this.publish(row);
        }
      }
      if (rows.length < this.opts.batchSize) return;
    }
  }

  private async publish(row: OutboxRow): Promise<void> {
    try {
      const env = this.envelopes.create({
        messageId: row.messageId,
        messageType: row.messageType,
        receiver: row.receiver,
        correlationId: row.correlationId,
        causationId: row.causationId,
        priority: row.priority,
        payload: row.payload,
      });
      await this.bus.publish(row.channel, env);
      await this.store.markSent([row.messageId], this.clock.now());
      this.published += 1;
    } catch (err) {
      this.log.warn({ err: (err as Error).message, channel: row.channel }, 'publish failed; the row stays in the outbox');
    } finally {
      this.inflight.delete(row.messageId);
    }
  }

  /**
   * Publishes the decision's non-durable messages (analysis requests with their telemetry). A crash
   * before this leaves the workflow waiting; its state timeout asks again, so nothing bulky is stored.
   */
  private async publishVolatile(effects: readonly Effect[], cause: OutboxRow): Promise<void> {
    for (const e of effects) {
      if (e.kind !== 'publish' || e.durable !== false) continue;
      const env = this.envelopes.create({
        messageType: e.messageType,
        receiver: e.receiver,
        correlationId: cause.correlationId,
        causationId: cause.messageId,
        priority: e.priority,
        payload: e.payload,
      });
      try {
        await this.bus.publish(e.channel, env);
        this.published += 1;
      } catch (err) {
        this.log.warn({ err: (err as Error).message, channel: e.channel }, 'volatile publish failed; the state timeout will ask again');
      }
    }
  }

  private pumpFetches(): void {
    while (this.fetching < this.opts.fetchConcurrency && this.fetchQueue.length > 0) {
      const row = this.fetchQueue.shift()!;
      this.fetching += 1;
      void this.fetch(row).finally(() => {
        this.fetching -= 1;
        this.inflight.delete(row.messageId);
        this.pumpFetches();
      });
    }
  }

  private async fetch(row: OutboxRow): Promise<void> {
    const { vin, since } = row.payload as { vin: string; since?: number | null };
    const now = this.clock.now();
    const from = Math.max(now - this.opts.analysisWindowMs, since ?? -Infinity);
    let samples: TelemetrySampleWire[] | null = null;
    let error: string | null = null;
    try {
      const raw = await this.telematics.fetchHistory(vin, from, this.opts.maxSamplesPerFetch);
      samples = [];
      const bad: QuarantinedSample[] = [];
      const counts: Record<string, number> = {};
      const at = this.clock.now();
      for (const item of raw) {
        const r = validateSample(item, at);
        if (r.ok && r.sample.vin === vin) {
          samples.push(sampleToWire(r.sample));
          continue;
        }
        const stamped = Date.parse(String((item as { timestamp?: unknown } | null)?.timestamp));
        if (Number.isFinite(stamped) && stamped < at - this.opts.freshRejectsMs) continue;
        const rejection = r.ok
          ? { reason: 'invalid_vin' as const, field: 'vin', message: `history of ${vin} holds a sample of ${r.sample.vin}` }
          : r.rejection;
        bad.push({ receivedAt: at, vin, source: 'telematics_history', rejection, raw: JSON.stringify(item).slice(0, 4096) });
        counts[`telemetry_rejected:${rejection.reason}`] = (counts[`telemetry_rejected:${rejection.reason}`] ?? 0) + 1;
      }
      if (bad.length > 0) {
        await this.store.quarantine(bad);
        await this.store.incrementCounters(counts);
      }
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    try {
      const event = samples
        ? ({ type: 'telemetry_received', samples } as const)
        : ({ type: 'telemetry_failed', error: error ?? 'unknown' } as const);
      const result = await this.applier.apply({ vin, correlationId: row.correlationId }, event, {
        inboundId: `fetch:${row.messageId}`,
        causationId: row.messageId,
      });
      if (result.status === 'applied') await this.publishVolatile(result.decision.effects, row);
      await this.store.markSent([row.messageId], this.clock.now());
    } catch (err) {
      this.log.error({ err: (err as Error).message, vin }, 'could not apply telemetry fetch result');
    }
  }
}
