/**
 * Publishes outbox rows to the bus (critical first) and runs the orchestrator's own internal work
 * (telemetry fetches). A row is marked sent only after the bus has taken it, so a crash in between
 * re-sends it with the same message id to consumers that are idempotent on it.
 */
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { sampleToWire, type TelemetrySampleWire } from '../core/telemetry.js';
import type { Bus } from '../bus/port.js';
import type { EnvelopeFactory } from '../bus/signing.js';
import type { OutboxRow, Store } from '../store/port.js';
import type { Effect } from '../core/workflow.js';
import { INTERNAL_FETCH_CHANNEL, type DecisionApplier } from './applier.js';
import { ingestSamples } from './ingest.js';
import type { TelematicsClient } from './telematics-client.js';
import { CircuitOpenError, isOutage, type TelematicsCircuit } from './telematics-circuit.js';

export interface DispatcherOptions {
  batchSize: number;
  /** Lease on claimed rows, in clock time. */
  leaseMs: number;
  /** Telemetry fetches in flight at once. */
  fetchConcurrency: number;
  /** History window sent to analysis. */
  analysisWindowMs: number;
  maxSamplesPerFetch: number;
  /** First real-time wait before a fetch that met an outage is tried again; doubles per attempt. */
  outageRetryMs: number;
  /** The longest of those waits. */
  outageRetryMaxMs: number;
}

interface HeldFetch {
  row: OutboxRow;
  /** Real ms before which it is not tried again. */
  retryAt: number;
}

export class OutboxDispatcher {
  private readonly inflight = new Set<string>();
  private fetching = 0;
  private readonly fetchQueue: OutboxRow[] = [];
  /**
   * Fetches that met a telematics outage: not the case's failure, so no `telemetry_failed` is applied;
   * they wait here (still claimed by this process) and go out again when the circuit lets them.
   */
  private readonly held: HeldFetch[] = [];
  /** Outages met by each held fetch in a row, for its back-off while the circuit stays closed. */
  private readonly heldAttempts = new Map<string, number>();
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
    private readonly circuit: TelematicsCircuit,
  ) {}

  /** Telemetry fetches waiting for the telematics API to come back. */
  get heldFetches(): number {
    return this.held.length;
  }

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
    this.releaseHeld();
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
      void this.fetch(row).then((held) => {
        this.fetching -= 1;
        if (!held) this.inflight.delete(row.messageId);
        this.pumpFetches();
      });
    }
  }

  /**
   * Sends held fetches out again once they may go: all that are due while the circuit is closed, one
   * (the probe) while it is half-open, none while it is open. The rest keep their place.
   */
  private releaseHeld(): void {
    if (this.held.length === 0 || !this.circuit.callable) return;
    const now = this.circuit.now();
    const budget = this.circuit.closed ? Infinity : 1;
    let released = 0;
    for (let i = 0; i < this.held.length && released < budget; ) {
      if (this.held[i]!.retryAt > now) {
        i += 1;
        continue;
      }
      this.fetchQueue.push(this.held.splice(i, 1)[0]!.row);
      released += 1;
    }
    if (released > 0) this.pumpFetches();
  }

  private hold(row: OutboxRow, err: unknown): void {
    const attempts = (this.heldAttempts.get(row.messageId) ?? 0) + 1;
    this.heldAttempts.set(row.messageId, attempts);
    const wait =
      err instanceof CircuitOpenError
        ? Math.max(err.retryInMs, 100)
        : Math.min(this.opts.outageRetryMaxMs, this.opts.outageRetryMs * 2 ** (attempts - 1));
    this.held.push({ row, retryAt: this.circuit.now() + wait });
  }

  /** Returns true when the fetch met an outage and is held to be tried again. */
  private async fetch(row: OutboxRow): Promise<boolean> {
    const { vin, since } = row.payload as { vin: string; since?: number | null };
    const now = this.clock.now();
    const from = Math.max(now - this.opts.analysisWindowMs, since ?? -Infinity);
    let samples: TelemetrySampleWire[] | null = null;
    let error: string | null = null;
    try {
      const raw = await this.telematics.fetchHistory(vin, from, this.opts.maxSamplesPerFetch);
      // The one ingest path: a bad sample the fleet poll or an earlier, overlapping window already
      // quarantined is refused again but stored and counted only once.
      const { accepted } = await ingestSamples(this.store, raw, { now: this.clock.now(), source: 'telematics_history', vin });
      samples = accepted.map(sampleToWire);
    } catch (err) {
      if (isOutage(err)) {
        this.hold(row, err);
        return true;
      }
      error = err instanceof Error ? err.message : String(err);
    }
    this.heldAttempts.delete(row.messageId);
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
    return false;
  }
}
