/**
 * Publishes the orchestrator's messages to the bus: outbox rows (critical first) and the non-durable
 * messages of a decision (analysis requests). It only publishes. Outbox rows on an `internal.*` channel
 * are work for this process, not messages (telemetry fetches): they are handed to the worker registered
 * for their channel, so the outbox keeps one claim, one lease and one order for everything a decision left
 * to do.
 *
 * A row is marked sent only after the bus has taken it, so a crash in between re-sends it with the same
 * message id to consumers that are idempotent on it. No message leaves larger than the broker takes
 * (`MAX_MESSAGE_BYTES`): producers keep under it (analysis requests carry a bounded window), and this is
 * the guard that a bug cannot pass.
 */
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { CHANNELS, type Envelope } from '../core/envelope.js';
import { MAX_MESSAGE_BYTES, type AnalysisRequest } from '../core/payloads.js';
import type { Effect } from '../core/workflow.js';
import type { Bus } from '../bus/port.js';
import type { EnvelopeFactory } from '../bus/signing.js';
import type { OutboxRow, Store } from '../store/port.js';

/** Channels whose outbox rows are the orchestrator's own work, not bus messages. */
export const INTERNAL_CHANNEL_PREFIX = 'internal.';

export interface DispatcherOptions {
  batchSize: number;
  /** Lease on claimed rows, in clock time. */
  leaseMs: number;
  /**
   * The VIN partitions whose rows this dispatcher may claim now (those its instance holds); every
   * partition when absent.
   */
  partitions?: () => readonly number[];
}

/** Takes a claimed `internal.*` row; it marks the row sent itself once the work is done. */
export type InternalWorker = (row: OutboxRow) => void;

/** A message whose encoded envelope is larger than any broker Pitwall runs on takes. */
export class MessageTooLargeError extends Error {
  readonly code = 'PW_MESSAGE_TOO_LARGE';
  constructor(
    readonly channel: string,
    readonly bytes: number,
  ) {
    super(`a ${bytes}-byte message on ${channel} is over the ${MAX_MESSAGE_BYTES}-byte limit`);
    this.name = 'MessageTooLargeError';
  }
}

/** Bytes of an envelope encoded as JSON, as a broker carries it. */
export function encodedSize(env: Envelope): number {
  return Buffer.byteLength(JSON.stringify(env));
}

export class OutboxDispatcher {
  private readonly inflight = new Set<string>();
  private running: Promise<void> | null = null;
  private again = false;
  published = 0;

  constructor(
    private readonly store: Pick<Store, 'claimOutbox' | 'markSent' | 'incrementCounters' | 'getAnalysisMemory'>,
    private readonly bus: Bus,
    private readonly envelopes: EnvelopeFactory,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly opts: DispatcherOptions,
    private readonly internal: Readonly<Record<string, InternalWorker>>,
  ) {}

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

  /**
   * Publishes a decision's non-durable messages (analysis requests with their telemetry). A crash before
   * this leaves the workflow waiting; its state timeout asks again, so nothing bulky is stored.
   */
  async publishEffects(effects: readonly Effect[], cause: Pick<OutboxRow, 'correlationId' | 'messageId'>): Promise<void> {
    for (const e of effects) {
      if (e.kind !== 'publish' || e.durable !== false) continue;
      try {
        const env = this.envelopes.create({
          messageType: e.messageType,
          receiver: e.receiver,
          correlationId: cause.correlationId,
          causationId: cause.messageId,
          priority: e.priority,
          payload: e.channel === CHANNELS.analysisRequest ? await this.withAnalysisMemory(e.payload as AnalysisRequest) : e.payload,
        });
        await this.send(e.channel, env);
      } catch (err) {
        await this.failed(err, e.channel, 'volatile publish failed; the state timeout will ask again');
      }
    }
  }

  /**
   * An analysis request carries what the analysis remembers of the vehicle, kept in the store (null for
   * none yet): any analysis agent instance then predicts alike, and the memory outlives restarts.
   */
  private async withAnalysisMemory(payload: AnalysisRequest): Promise<AnalysisRequest> {
    return { ...payload, memory: await this.store.getAnalysisMemory(payload.vin) };
  }

  private async pass(): Promise<void> {
    for (;;) {
      const now = this.clock.now();
      const rows = (
        await this.store.claimOutbox(now, this.opts.batchSize, this.opts.leaseMs, this.opts.partitions?.())
      ).filter((r) => !this.inflight.has(r.messageId));
      if (rows.length === 0) return;
      for (const row of rows) {
        if (row.channel.startsWith(INTERNAL_CHANNEL_PREFIX)) this.handOver(row);
        else {
          this.inflight.add(row.messageId);
          void this.publish(row);
        }
      }
      if (rows.length < this.opts.batchSize) return;
    }
  }

  private handOver(row: OutboxRow): void {
    const worker = this.internal[row.channel];
    // Left in the outbox: a process that knows the channel takes it once the lease expires.
    if (!worker) this.log.error({ channel: row.channel, message_id: row.messageId }, 'no worker for an internal outbox row');
    else worker(row);
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
      await this.send(row.channel, env);
      await this.store.markSent([row.messageId], this.clock.now());
    } catch (err) {
      // An oversized row would be refused again at every lease expiry: it leaves the outbox, counted and
      // logged, and its case's state timeout deals with the missing answer.
      if (err instanceof MessageTooLargeError) await this.store.markSent([row.messageId], this.clock.now()).catch(() => undefined);
      await this.failed(err, row.channel, 'publish failed; the row stays in the outbox');
    } finally {
      this.inflight.delete(row.messageId);
    }
  }

  private async send(channel: string, env: Envelope): Promise<void> {
    const bytes = encodedSize(env);
    if (bytes > MAX_MESSAGE_BYTES) throw new MessageTooLargeError(channel, bytes);
    await this.bus.publish(channel, env);
    this.published += 1;
  }

  private async failed(err: unknown, channel: string, otherwise: string): Promise<void> {
    if (err instanceof MessageTooLargeError) {
      this.log.error({ err: err.message, channel, bytes: err.bytes }, 'message over the size limit not published');
      await this.store.incrementCounters({ messages_oversized: 1 }).catch(() => undefined);
      return;
    }
    this.log.warn({ err: (err as Error).message, channel }, otherwise);
  }
}
