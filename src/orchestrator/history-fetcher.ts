/**
 * The orchestrator's own work behind `fetch_telemetry` effects: fetch a case's vehicle history from the
 * telematics API, hand it to the ingest module, and apply what came of it to the case (`telemetry_received`
 * with a bounded window of the accepted samples, or `telemetry_failed`). The decision's analysis request is
 * then published by the dispatcher, like every other message.
 *
 * A fetch effect is an outbox row on the `internal.*` channel, so a crash loses none: the row stays
 * unsent until the fetch's result is applied, and is taken back when its lease expires. A fetch that meets a
 * telematics outage is not the case's failure: it is held here (still claimed by this process) and goes out
 * again when the circuit lets it.
 */
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { Effect } from '../core/workflow.js';
import type { TelemetrySampleWire } from '../core/telemetry.js';
import type { OutboxRow, Store } from '../store/port.js';
import { analysisWindow } from './analysis-window.js';
import type { DecisionApplier } from './applier.js';
import { INGEST_SOURCES, type TelemetryIngest } from './ingest.js';
import { isOversizedBody, type TelematicsClient } from './telematics-client.js';
import { CircuitOpenError, isOutage, type TelematicsCircuit } from './telematics-circuit.js';

export interface HistoryFetcherOptions {
  /** Fetches in flight at once. */
  concurrency: number;
  /** History asked for, back from now (clock time). */
  windowMs: number;
  /** Samples asked for per fetch. */
  maxSamples: number;
  /** First real-time wait before a fetch that met an outage is tried again; doubles per attempt. */
  outageRetryMs: number;
  /** The longest of those waits. */
  outageRetryMaxMs: number;
}

export interface HistoryFetcherDeps {
  store: Pick<Store, 'markSent'>;
  clock: Clock;
  /** The telematics client behind `circuit`. */
  telematics: TelematicsClient;
  circuit: TelematicsCircuit;
  ingest: TelemetryIngest;
  applier: DecisionApplier;
  /** Publishes the non-durable messages of a decision this fetch caused (the dispatcher's `publishEffects`). */
  publish(effects: readonly Effect[], cause: OutboxRow): Promise<void>;
  log: Logger;
}

interface HeldFetch {
  row: OutboxRow;
  /** Real ms before which it is not tried again. */
  retryAt: number;
}

export class HistoryFetcher {
  /** Rows in hand (queued, fetching or held): a row claimed again after its lease is not fetched twice. */
  private readonly inHand = new Set<string>();
  private fetching = 0;
  private readonly queue: OutboxRow[] = [];
  /**
   * Fetches that met a telematics outage: not the case's failure, so no `telemetry_failed` is applied;
   * they wait here and go out again when the circuit lets them.
   */
  private readonly held: HeldFetch[] = [];
  /** Outages met by each held fetch in a row, for its back-off while the circuit stays closed. */
  private readonly heldAttempts = new Map<string, number>();
  /** Set by `stop`: a fetch answered afterwards is dropped (its row is taken back after its lease). */
  private stopped = false;
  /** Fetch results being applied: `stop` waits for these, never for the network. */
  private readonly applying = new Set<Promise<void>>();

  constructor(
    private readonly deps: HistoryFetcherDeps,
    private readonly opts: HistoryFetcherOptions,
  ) {}

  /** Fetches waiting for the telematics API to come back. */
  get heldFetches(): number {
    return this.held.length;
  }

  /**
   * Takes no more rows and waits for the results being applied; fetches still on the network are left
   * to fail or be dropped, and their rows are claimed again (by this process or another) after their lease.
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.queue.length = 0;
    this.held.length = 0;
    await Promise.allSettled([...this.applying]);
  }

  /** Takes rows again after a `stop` (a loop started again). */
  resume(): void {
    this.stopped = false;
    this.inHand.clear();
  }

  /** Takes a claimed fetch row; one already in hand is ignored. */
  take(row: OutboxRow): void {
    if (this.stopped || this.inHand.has(row.messageId)) return;
    this.inHand.add(row.messageId);
    this.queue.push(row);
    this.pump();
  }

  /**
   * Sends held fetches out again once they may go: all that are due while the circuit is closed, one
   * (the probe) while it is half-open, none while it is open. The rest keep their place.
   */
  releaseHeld(): void {
    const { circuit } = this.deps;
    if (this.held.length === 0 || !circuit.callable) return;
    const now = circuit.now();
    const budget = circuit.closed ? Infinity : 1;
    let released = 0;
    for (let i = 0; i < this.held.length && released < budget;) {
      if (this.held[i]!.retryAt > now) {
        i += 1;
        continue;
      }
      this.queue.push(this.held.splice(i, 1)[0]!.row);
      released += 1;
    }
    if (released > 0) this.pump();
  }

  private pump(): void {
    while (this.fetching < this.opts.concurrency && this.queue.length > 0) {
      const row = this.queue.shift()!;
      this.fetching += 1;
      // Not awaited by a stopping loop: a fetch may hang on the network, and its row is taken back anyway.
      void this.fetch(row).then((held) => {
        this.fetching -= 1;
        if (!held) this.inHand.delete(row.messageId);
        this.pump();
      });
    }
  }

  private hold(row: OutboxRow, err: unknown): void {
    const attempts = (this.heldAttempts.get(row.messageId) ?? 0) + 1;
    this.heldAttempts.set(row.messageId, attempts);
    const wait =
      err instanceof CircuitOpenError
        ? Math.max(err.retryInMs, 100)
        : Math.min(this.opts.outageRetryMaxMs, this.opts.outageRetryMs * 2 ** (attempts - 1));
    this.held.push({ row, retryAt: this.deps.circuit.now() + wait });
  }

  /** Returns true when the fetch met an outage and is held to be tried again. */
  private async fetch(row: OutboxRow): Promise<boolean> {
    const { clock, telematics, ingest, log } = this.deps;
    const { vin, since } = row.payload as { vin: string; since?: number | null };
    const from = Math.max(clock.now() - this.opts.windowMs, since ?? -Infinity);
    let samples: TelemetrySampleWire[] | null = null;
    let error: string | null = null;
    try {
      const raw = await telematics.fetchHistory(vin, from, this.opts.maxSamples);
      // A bad sample the fleet poll or an earlier, overlapping window already quarantined is refused
      // again but stored and counted only once.
      const { accepted } = await ingest.history(raw, vin);
      samples = analysisWindow(accepted);
    } catch (err) {
      if (isOutage(err)) {
        this.hold(row, err);
        return true;
      }
      if (isOversizedBody(err)) {
        await ingest
          .refusedBody(INGEST_SOURCES.history, { bytes: err.bytes, message: err.message })
          .catch((e: unknown) =>
            log.warn({ err: (e as Error).message, vin }, 'could not quarantine a refused history body'),
          );
      }
      error = err instanceof Error ? err.message : String(err);
    }
    this.heldAttempts.delete(row.messageId);
    if (this.stopped) return false;
    const applied = this.applyResult(row, vin, samples, error);
    this.applying.add(applied);
    await applied;
    this.applying.delete(applied);
    return false;
  }

  private async applyResult(row: OutboxRow, vin: string, samples: TelemetrySampleWire[] | null, error: string | null): Promise<void> {
    const { clock, applier, store, log } = this.deps;
    try {
      const event = samples
        ? ({ type: 'telemetry_received', samples } as const)
        : ({ type: 'telemetry_failed', error: error ?? 'unknown' } as const);
      const result = await applier.apply({ vin, correlationId: row.correlationId }, event, {
        inboundId: `fetch:${row.messageId}`,
        causationId: row.messageId,
      });
      // Fenced: the vehicle's partition changed hands; the row stays for its new holder to fetch again.
      if (result.status === 'fenced') return;
      if (result.status === 'applied') await this.deps.publish(result.decision.effects, row);
      await store.markSent([row.messageId], clock.now());
    } catch (err) {
      log.error({ err: (err as Error).message, vin }, 'could not apply telemetry fetch result');
    }
  }
}
