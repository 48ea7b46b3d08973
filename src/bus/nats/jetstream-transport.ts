/**
 * The NATS JetStream transport (distributed mode) under the bus layer.
 * - A stream per channel family (`PITWALL_<FAMILY>` over `channel.<family>.>`), file storage, limits
 *   retention for `maxAgeMs`: a message published before its consumer group first subscribed is kept
 *   for the group (the in-process bus has no group yet to keep it for; on NATS a cluster starts its
 *   processes in any order).
 * - `Nats-Msg-Id` = `message_id`, so a publish repeated within the stream's duplicate window (an outbox
 *   row re-sent after a crash) is stored once. `publish` resolves on the PubAck, once stored.
 * - A queue group is a set of durable pull consumers named after it: every process of the group binds
 *   to the same names and pulls, so they share the messages; another group has its own consumers and
 *   gets every message too.
 * - Critical first: a consumer per priority (filtered on the subject's priority token), which the layer
 *   asks highest first. JetStream hands out a consumer's messages in stream order, so a critical message
 *   behind a thousand low ones could only overtake them from a queue of its own; per-priority consumers
 *   on one stream (rather than a stream per priority) keep one dedupe window and one retention per
 *   family, and NATS 2.9 has no priority groups of its own (those came in 2.11).
 * - Explicit acks; a failed message is NAKed with the layer's back-off; `max_deliver` is the layer's
 *   bound plus one, so a message whose handler never answered (a killed process) still comes back
 *   once more to be dead-lettered with a reason instead of being dropped silently by the server.
 */
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  ReplayPolicy,
  RetentionPolicy,
  StorageType,
  jetstream,
  jetstreamManager,
  type ConsumerConfig,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import type { Envelope } from '../../core/envelope.js';
import { BusClosedError, BusConfigError } from '../errors.js';
import { PRIORITIES_HIGH_FIRST, type ConsumerSpec, type Transport, type TransportConsumer, type TransportPublish } from '../transport.js';
import { checkNaming, durableName, familyOf, laneFilter, messageSubject, partitionOf, streamName, streamSubject } from './names.js';
import { PullConsumer, type LaneSpec } from './pull-consumer.js';

export interface JetStreamTransportOptions {
  /**
   * Prefixes stream names (`PITWALL-<NS>_<FAMILY>`) and subjects (`<ns>.channel.…`), so several
   * installations or test runs share one server without seeing each other's messages. Lower-case
   * letters and digits.
   * @default '' (streams `PITWALL_<FAMILY>`, subjects `channel.…`)
   */
  namespace?: string;
  /** Key partitions for ordered groups; every process must use the same number. @default 8 */
  partitions?: number;
  /** How long a consumer waits for an answer before redelivering; held messages are kept alive. @default 30000 */
  ackWaitMs?: number;
  /** The streams' dedupe window for `Nats-Msg-Id`. @default 120000 (JetStream's own default) */
  duplicateWindowMs?: number;
  /** How long a stream keeps messages. @default 86400000 (a day: an envelope's default TTL) */
  maxAgeMs?: number;
  /** How long an idle consumer's long poll stays open before it is renewed. @default 30000 */
  pollExpiresMs?: number;
  /** How long a publish waits for its PubAck. @default 5000 */
  publishTimeoutMs?: number;
  onError?: (err: unknown) => void;
}

export const NATS_DEFAULTS = {
  namespace: '',
  partitions: 8,
  ackWaitMs: 30_000,
  duplicateWindowMs: 120_000,
  maxAgeMs: 86_400_000,
  pollExpiresMs: 30_000,
  publishTimeoutMs: 5_000,
} as const;

/** Unordered lanes: enough for every member's handlers and buffers, far from a full lane parking pulls. */
const MAX_ACK_PENDING = 20_000;
/** How often a drain asks the server again while messages are still pending. */
const DRAIN_POLL_MS = 20;

type Resolved = Required<Omit<JetStreamTransportOptions, 'onError'>> & { onError: (err: unknown) => void };

/**
 * A transport over an open connection. `closeConnection` says whether closing the transport drains and
 * closes the connection too (true when the bus opened it).
 */
export async function createJetStreamTransport(nc: NatsConnection, opts: JetStreamTransportOptions = {}, closeConnection = false): Promise<Transport> {
  const resolved: Resolved = { ...NATS_DEFAULTS, onError: () => {}, ...definedOnly(opts) };
  checkNaming(resolved);
  for (const k of ['ackWaitMs', 'duplicateWindowMs', 'maxAgeMs', 'pollExpiresMs', 'publishTimeoutMs'] as const) {
    if (!Number.isFinite(resolved[k]) || resolved[k] < 1) throw new BusConfigError(`${k} must be a positive number`);
  }
  if (resolved.pollExpiresMs < 1000) throw new BusConfigError('pollExpiresMs must be at least 1000');
  const jsm = await jetstreamManager(nc);
  return new JetStreamTransport(nc, jsm, jetstream(nc), resolved, closeConnection);
}

class JetStreamTransport implements Transport {
  readonly inProcess = false;
  private readonly streams = new Map<string, Promise<string>>();
  private readonly consumers = new Set<PullConsumer>();
  /** Closed consumers whose taken messages are not all settled yet. */
  private readonly closing = new Set<PullConsumer>();
  private publishing = 0;
  private closed = false;

  constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly js: JetStreamClient,
    private readonly opts: Resolved,
    private readonly closeConnection: boolean,
  ) {}

  async publish(channel: string, env: Envelope, p: TransportPublish): Promise<void> {
    if (this.closed) throw new BusClosedError();
    this.publishing += 1;
    try {
      await this.stream(channel);
      const subject = messageSubject(this.opts, channel, p.priority, partitionOf(p.key, this.opts.partitions));
      await this.js.publish(subject, JSON.stringify(env), { msgID: p.msgId, timeout: this.opts.publishTimeoutMs });
    } finally {
      this.publishing -= 1;
    }
  }

  async consume(channel: string, spec: ConsumerSpec, ready: () => void): Promise<TransportConsumer> {
    if (this.closed) throw new BusClosedError();
    const stream = await this.stream(channel);
    const lanes: LaneSpec[] = [];
    for (const priority of PRIORITIES_HIGH_FIRST) {
      const partitions = spec.ordered ? Array.from({ length: this.opts.partitions }, (_, k) => k) : [null];
      for (const partition of partitions) lanes.push({ priority, partition, stream, durable: durableName(spec.queue, channel, priority, partition) });
    }
    // Members that disagree on ordering would bind to different consumers and each get every message.
    const otherKind = durableName(spec.queue, channel, 4, spec.ordered ? null : 0);
    if (await this.jsm.consumers.info(stream, otherKind).then(() => true, () => false)) {
      throw new BusConfigError(`queue group ${spec.queue} on ${channel} is ${spec.ordered ? 'not ' : ''}ordered; a member must agree`);
    }
    await Promise.all(lanes.map((lane) => this.ensureConsumer(channel, lane, spec)));
    const consumer: PullConsumer = new PullConsumer(this.nc, lanes, spec.ordered, ready, {
      pollExpiresMs: this.opts.pollExpiresMs,
      ackWaitMs: this.opts.ackWaitMs,
      onError: this.opts.onError,
      onClose: () => {
        this.consumers.delete(consumer);
        this.closing.add(consumer);
        void consumer.settled().then(() => this.closing.delete(consumer));
      },
    });
    this.consumers.add(consumer);
    return consumer;
  }

  /**
   * Resolves when this process has nothing buffered or in hand and the server has nothing pending or
   * unacknowledged for the groups this process serves, twice in a row (a handler's dead letter or
   * reply may be on its way in between).
   */
  async drain(): Promise<void> {
    let calm = 0;
    while (calm < 2) {
      const busy = this.publishing > 0 || [...this.consumers].some((c) => c.busy) || (await this.backlog());
      calm = busy ? 0 : calm + 1;
      await new Promise((r) => setTimeout(r, DRAIN_POLL_MS));
    }
  }

  /** Lets go of the consumers, waits for the messages taken to be settled, then closes the connection if it owns it. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.consumers].map((c) => c.close()));
    await Promise.all([...this.closing].map((c) => c.settled()));
    if (this.closeConnection && !this.nc.isClosed()) await this.nc.drain();
  }

  private async backlog(): Promise<boolean> {
    for (const c of this.consumers) {
      for (const lane of c.durables) {
        const info = await this.jsm.consumers.info(lane.stream, lane.durable);
        if (info.num_pending + info.num_ack_pending > 0) return true;
      }
    }
    return false;
  }

  /** The family's stream, created on first use; processes racing to create it get the same one. */
  private stream(channel: string): Promise<string> {
    const family = familyOf(channel);
    let s = this.streams.get(family);
    if (!s) {
      s = this.createStream(family, channel);
      this.streams.set(family, s);
      // A failed creation is tried again on the next use instead of failing every later publish.
      s.catch(() => this.streams.delete(family));
    }
    return s;
  }

  private async createStream(family: string, channel: string): Promise<string> {
    const name = streamName(this.opts, family);
    const subject = streamSubject(this.opts, channel);
    try {
      await this.jsm.streams.add({
        name,
        subjects: [subject],
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
        discard: DiscardPolicy.Old,
        max_age: nanos(this.opts.maxAgeMs),
        duplicate_window: nanos(this.opts.duplicateWindowMs),
        num_replicas: 1,
      });
    } catch (err) {
      // Another process made it first (with settings of its own): use it if it takes our subjects.
      const info = await this.jsm.streams.info(name).catch(() => null);
      if (!info) throw err;
      if (!info.config.subjects?.includes(subject)) {
        throw new BusConfigError(`stream ${name} exists without the subject ${subject}`, { cause: err });
      }
    }
    return name;
  }

  private async ensureConsumer(channel: string, lane: LaneSpec, spec: ConsumerSpec): Promise<void> {
    const filter = laneFilter(this.opts, channel, lane.priority, lane.partition);
    const config: Partial<ConsumerConfig> = {
      durable_name: lane.durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      replay_policy: ReplayPolicy.Instant,
      filter_subject: filter,
      ack_wait: nanos(this.opts.ackWaitMs),
      max_deliver: spec.maxAttempts + 1,
      max_ack_pending: spec.ordered ? 1 : MAX_ACK_PENDING,
    };
    try {
      await this.jsm.consumers.add(lane.stream, config);
    } catch (err) {
      // It exists with other settings: another member (or an earlier run) made it. Its subject must be
      // ours; what may differ (attempts, ack wait) follows the newest member.
      const info = await this.jsm.consumers.info(lane.stream, lane.durable).catch(() => null);
      if (!info) throw err;
      if (info.config.filter_subject !== filter) {
        throw new BusConfigError(`consumer ${lane.durable} on ${lane.stream} exists for other messages (${info.config.filter_subject})`, { cause: err });
      }
      await this.jsm.consumers.update(lane.stream, lane.durable, {
        ack_wait: config.ack_wait!,
        max_deliver: config.max_deliver!,
        max_ack_pending: config.max_ack_pending!,
      });
    }
  }
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
