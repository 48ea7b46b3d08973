/**
 * One process's member of a queue group on JetStream: pull consumers ("lanes"), one per priority, and
 * for an ordered group one per priority and partition. It speaks the pull protocol itself
 * (`$JS.API.CONSUMER.MSG.NEXT`) because the layer must ask a lane "what is waiting now?" without
 * waiting: nats.js's `fetch` cannot (`expires` ≥ 1 s, no `no_wait`), and asking the critical lane first
 * is how a critical message overtakes low ones.
 *
 * Each lane has at most one pull request open at a time, so every message that arrives belongs to it:
 * - take (unordered lane): `no_wait` for as many as the layer has room for; the server answers with
 *   what is waiting, then a 404/408 status. A lane found dry gets a long poll for one message, so
 *   later sweeps answer from memory instead of asking the server again (one round trip per sweep for
 *   the busy lane instead of one per priority), and a critical message is in hand as soon as it is stored.
 * - listen: nothing was waiting anywhere, so each idle lane gets a long poll; whichever lane's message
 *   comes first wakes the layer, which then asks critical first again.
 * - ordered lanes hold `max_ack_pending` 1, so JetStream hands out a partition's next message only once
 *   the previous one is settled, by whichever process. A `no_wait` there would be parked by the server
 *   (NATS 2.9) while another process holds the partition, so ordered lanes only ever long-poll.
 * Critical first holds among the messages in hand or stored when the layer asks; a message stored a
 * moment ago may still be on its way to a lane's open long poll (the server acknowledges the publish and
 * hands the message to the poll independently), and a lower one in hand can go first in that moment.
 * Messages held (waiting in a lane or in a handler) are kept alive with `+WPI` so a slow handler is not
 * redelivered to another member; a process that dies stops doing that, and JetStream redelivers after
 * `ack_wait`.
 */
import { createInbox, nanos, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { Envelope, Priority } from '../../core/envelope.js';
import type { TransportConsumer, TransportMessage } from '../transport.js';

export interface LaneSpec {
  priority: Priority;
  /** The key partition of an ordered lane; null for a lane that takes every partition. */
  partition: number | null;
  stream: string;
  durable: string;
}

export interface PullConsumerOptions {
  /** Real ms a long poll stays open on the server. */
  pollExpiresMs: number;
  /** The consumers' `ack_wait`; held messages are marked in progress three times per period. */
  ackWaitMs: number;
  onError: (err: unknown) => void;
  /** Told once, when the consumer closes. */
  onClose?: () => void;
}

/**
 * How long a `no_wait` pull may take before it is written off. It carries no `expires`: NATS 2.9 reads
 * `no_wait` with `expires` as "wait until it expires". The server answers at once unless the lane is at
 * `max_ack_pending`, which unordered lanes set far above what their members hold.
 */
const NO_WAIT_TIMEOUT_MS = 3000;
/** Beyond its expiry, how long a request may go unanswered (a lost connection) before it is written off. */
const REQUEST_GRACE_MS = 2000;
const STATUS_HEARTBEAT = 100;
/** The answers that end a pull normally: nothing (more) waiting, or the request's time is up. */
const STATUS_NO_MESSAGES = 404;
const STATUS_TIMEOUT = 408;
/** Real ms before asking a lane again after the server refused a pull (a deleted consumer, no responders). */
const REFUSED_BACKOFF_MS = 1000;

interface Held {
  readonly reply: string;
  readonly lane: Lane;
  readonly envelope: Envelope;
  readonly deliveryCount: number;
  taken: boolean;
}

interface PullRequest {
  readonly id: string;
  readonly lane: Lane;
  readonly kind: 'take' | 'poll';
  readonly batch: number;
  received: number;
  readonly timer: NodeJS.Timeout;
  readonly done: () => void;
}

class Lane {
  readonly buffer: Held[] = [];
  request: PullRequest | null = null;
  /** Taken by the layer and not settled yet. */
  holding = 0;
  constructor(readonly spec: LaneSpec) {}
}

export class PullConsumer implements TransportConsumer {
  private readonly lanes: Lane[];
  private readonly byPriority = new Map<Priority, Lane[]>();
  private readonly byDurable = new Map<string, Lane>();
  private readonly requests = new Map<string, PullRequest>();
  /** Buffered or taken, not settled: kept alive with +WPI. */
  private readonly held = new Set<Held>();
  private readonly inbox = createInbox();
  private readonly sub: Subscription;
  private readonly heartbeat: NodeJS.Timeout;
  private nextRequest = 0;
  /** Where an ordered take starts among a priority's partitions, so none is always served last. */
  private rotate = 0;
  private closed = false;
  private readonly settledWaiters: (() => void)[] = [];

  constructor(
    private readonly nc: NatsConnection,
    lanes: LaneSpec[],
    private readonly ordered: boolean,
    private readonly ready: () => void,
    private readonly opts: PullConsumerOptions,
  ) {
    this.lanes = lanes.map((s) => new Lane(s));
    for (const lane of this.lanes) {
      this.byDurable.set(lane.spec.durable, lane);
      const list = this.byPriority.get(lane.spec.priority) ?? [];
      list.push(lane);
      this.byPriority.set(lane.spec.priority, list);
    }
    this.sub = nc.subscribe(`${this.inbox}.*`, { callback: (err, msg) => (err ? this.opts.onError(err) : this.receive(msg)) });
    this.heartbeat = setInterval(() => this.keepAlive(), Math.max(100, Math.floor(opts.ackWaitMs / 3)));
    this.heartbeat.unref();
  }

  /** The lanes' durable consumers, for a drain that asks the server what is left. */
  get durables(): LaneSpec[] {
    return this.lanes.map((l) => l.spec);
  }

  /** Messages here that are buffered or being handled. */
  get busy(): boolean {
    return this.held.size > 0;
  }

  take(priority: Priority, max: number): TransportMessage[] | Promise<TransportMessage[]> {
    const lanes = this.byPriority.get(priority) ?? [];
    if (this.closed || max <= 0) return [];
    if (this.ordered) {
      for (const lane of lanes) this.poll(lane);
      return this.takeBuffered(lanes, max);
    }
    const lane = lanes[0]!;
    if (lane.buffer.length >= max || lane.request) return this.takeBuffered(lanes, max);
    const want = max - lane.buffer.length;
    const before = lane.buffer.length;
    return this.pull(lane, 'take', want).then(() => {
      // The lane ran dry: listen on it, so the next sweep need not ask the server whether it is still
      // empty, and a critical message is in hand the moment it is stored.
      if (lane.buffer.length - before < want) this.poll(lane);
      return this.takeBuffered(lanes, max);
    });
  }

  listen(): void {
    for (const lane of this.lanes) this.poll(lane);
  }

  /** Takes nothing more; what is buffered goes back to the group at once, what is taken settles as usual. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.opts.onClose?.();
    this.sub.unsubscribe();
    for (const req of [...this.requests.values()]) this.finish(req);
    for (const lane of this.lanes) {
      for (const h of lane.buffer.splice(0)) this.settle(h, '-NAK');
    }
    if (this.held.size === 0) clearInterval(this.heartbeat);
  }

  /** Resolves once every message it took is settled (closing the connection earlier would leave them to ack_wait). */
  settled(): Promise<void> {
    if (this.held.size === 0) return Promise.resolve();
    return new Promise((r) => this.settledWaiters.push(r));
  }

  /** Opens a long poll on an idle lane: one message, whenever it comes. */
  private poll(lane: Lane): void {
    if (this.closed || lane.request) return;
    if (this.ordered && lane.holding > 0) return;
    void this.pull(lane, 'poll', 1);
  }

  private pull(lane: Lane, kind: PullRequest['kind'], batch: number): Promise<void> {
    const id = String(++this.nextRequest);
    const body = kind === 'take' ? { batch, no_wait: true } : { batch, expires: nanos(this.opts.pollExpiresMs) };
    const timeoutMs = kind === 'take' ? NO_WAIT_TIMEOUT_MS : this.opts.pollExpiresMs + REQUEST_GRACE_MS;
    return new Promise<void>((done) => {
      const timer = setTimeout(() => this.finish(req), timeoutMs);
      timer.unref();
      const req: PullRequest = { id, lane, kind, batch, received: 0, timer, done };
      lane.request = req;
      this.requests.set(id, req);
      try {
        this.nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${lane.spec.stream}.${lane.spec.durable}`, JSON.stringify(body), {
          reply: `${this.inbox}.${id}`,
        });
      } catch (err) {
        this.opts.onError(err);
        this.finish(req);
      }
    });
  }

  private finish(req: PullRequest): void {
    if (!this.requests.delete(req.id)) return;
    clearTimeout(req.timer);
    if (req.lane.request === req) req.lane.request = null;
    req.done();
    // A long poll that ended empty (expired) lets the layer look again and open a new one.
    if (req.kind === 'poll' && !this.closed) this.ready();
  }

  private receive(msg: Msg): void {
    const code = msg.headers?.code ?? 0;
    if (code >= 100) {
      if (code === STATUS_HEARTBEAT) return;
      const req = this.requests.get(msg.subject.slice(this.inbox.length + 1));
      if (!req) return;
      if (code === STATUS_NO_MESSAGES || code === STATUS_TIMEOUT) {
        this.finish(req);
        return;
      }
      // Refused: say so, and keep the lane's request open a while so the layer does not ask in a tight loop.
      this.opts.onError(new Error(`pull from ${req.lane.spec.stream}/${req.lane.spec.durable} refused: ${code} ${msg.headers?.description ?? ''}`));
      clearTimeout(req.timer);
      setTimeout(() => this.finish(req), REFUSED_BACKOFF_MS).unref();
      return;
    }
    const reply = msg.reply ?? '';
    const info = parseAckSubject(reply);
    const lane = info ? this.byDurable.get(info.consumer) : undefined;
    if (!info || !lane) {
      this.opts.onError(new Error(`a message on ${msg.subject} that no lane of this consumer asked for`));
      return;
    }
    const req = lane.request;
    if (req) req.received += 1;
    const envelope = decodeEnvelope(msg.data);
    if (!envelope) {
      // Not an envelope: nothing can handle it and nothing can dead-letter it as one, so say so and drop it.
      this.opts.onError(new Error(`dropped an undecodable message on ${msg.subject} (${reply})`));
      this.respond(reply, '+TERM');
    } else if (this.closed) {
      this.respond(reply, '-NAK');
    } else {
      const h: Held = { reply, lane, envelope, deliveryCount: info.deliveryCount, taken: false };
      lane.buffer.push(h);
      this.held.add(h);
    }
    if (req && req.received >= req.batch) this.finish(req);
    else if (!req || req.kind === 'poll') this.ready();
  }

  private takeBuffered(lanes: Lane[], max: number): TransportMessage[] {
    const out: TransportMessage[] = [];
    const n = lanes.length;
    const start = this.rotate++ % Math.max(1, n);
    for (let i = 0; i < n && out.length < max; i++) {
      const lane = lanes[(start + i) % n]!;
      while (lane.buffer.length > 0 && out.length < max) {
        const h = lane.buffer.shift()!;
        h.taken = true;
        lane.holding += 1;
        out.push(this.delivery(h));
      }
    }
    return out;
  }

  private delivery(h: Held): TransportMessage {
    return {
      envelope: h.envelope,
      deliveryCount: h.deliveryCount,
      ack: () => this.settle(h, '+ACK'),
      nak: (delayMs) => this.settle(h, delayMs > 0 ? `-NAK ${JSON.stringify({ delay: nanos(delayMs) })}` : '-NAK'),
      term: () => this.settle(h, '+TERM'),
    };
  }

  private settle(h: Held, answer: string): void {
    if (!this.held.delete(h)) return;
    if (h.taken) h.lane.holding -= 1;
    this.respond(h.reply, answer);
    if (this.held.size === 0) {
      if (this.closed) clearInterval(this.heartbeat);
      for (const w of this.settledWaiters.splice(0)) w();
    }
  }

  private keepAlive(): void {
    for (const h of this.held) this.respond(h.reply, '+WPI');
  }

  private respond(reply: string, answer: string): void {
    try {
      this.nc.publish(reply, answer);
    } catch (err) {
      this.opts.onError(err);
    }
  }
}

/**
 * `$JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<ts>.<pending>`, or the newer
 * form with `<domain>.<account hash>` after `ACK` and a random token at the end.
 */
export function parseAckSubject(reply: string): { consumer: string; deliveryCount: number } | null {
  const t = reply.split('.');
  if (t[0] !== '$JS' || t[1] !== 'ACK') return null;
  const at = t.length === 9 ? 3 : t.length >= 11 ? 5 : -1;
  if (at < 0) return null;
  const deliveryCount = Number(t[at + 1]);
  if (!Number.isInteger(deliveryCount) || deliveryCount < 1) return null;
  return { consumer: t[at]!, deliveryCount };
}

const decoder = new TextDecoder();

function decodeEnvelope(data: Uint8Array): Envelope | null {
  try {
    const v = JSON.parse(decoder.decode(data)) as Partial<Envelope> | null;
    if (!v || typeof v !== 'object' || !v.header || typeof v.header !== 'object' || typeof v.header.message_id !== 'string') return null;
    return v as Envelope;
  } catch {
    return null;
  }
}
