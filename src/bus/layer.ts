/**
 * The bus's behaviour, written once above any transport (DESIGN §2): the middleware chain (signature
 * checks, the behaviour monitor) on publish and before delivery, TTL, attempts with back-off, dead
 * letters with their reason, and critical-first order. The memory and NATS transports only move
 * envelopes and take back each one's outcome (transport.ts).
 */
import type { Clock } from '../core/clock.js';
import { CHANNELS, isExpired, type Envelope, type Priority } from '../core/envelope.js';
import { BusClosedError, errorMessage } from './errors.js';
import type { Bus, BusMiddleware, DeadLetter, Handler, PublishOptions, SubscribeOptions, Subscription } from './port.js';
import type { EnvelopeFactory } from './signing.js';
import { PRIORITIES_HIGH_FIRST, type ConsumerSpec, type Transport, type TransportConsumer, type TransportMessage } from './transport.js';

export const DEFAULT_CONCURRENCY = 8;
export const DEFAULT_MAX_ATTEMPTS = 5;
export const DEFAULT_RETRY_DELAY_MS = 50;
export const DEFAULT_KEEP_DEAD_LETTERS = 1000;
/** Real-time wait before asking a transport again after it failed to hand out messages. */
const TAKE_RETRY_MS = 1000;

export interface BusLayerOptions {
  transport: Transport;
  clock: Clock;
  /** Sees every envelope on publish and before delivery, in this order. */
  middleware?: BusMiddleware[];
  /** Signs dead-letter envelopes; without it dead letters are only kept in `deadLetters`. */
  envelopes?: EnvelopeFactory;
  /** Dead letters kept for inspection. @default 1000 */
  keepDeadLetters?: number;
  onError?: (err: unknown) => void;
  /** Real-time delay before the first redelivery of a failed message; doubles each attempt. @default 50 */
  retryDelayMs?: number;
}

/** A Bus that also keeps the dead letters this process produced, newest last. */
export interface LayeredBus extends Bus {
  readonly deadLetters: DeadLetter[];
}

export function createBus(opts: BusLayerOptions): LayeredBus {
  return new BusLayer(opts);
}

class BusLayer implements LayeredBus {
  readonly deadLetters: DeadLetter[] = [];
  private readonly transport: Transport;
  private readonly middleware: BusMiddleware[];
  private readonly subscribers = new Set<Subscriber>();
  private closed = false;
  /** Publishes between their call and the transport's acceptance (the middleware runs in between). */
  private accepting = 0;
  private acceptWaiters: (() => void)[] = [];
  /** Dead letters being published by a durable transport before their originals are let go. */
  private readonly givingUp = new Set<Promise<void>>();

  constructor(private readonly opts: BusLayerOptions) {
    this.transport = opts.transport;
    this.middleware = opts.middleware ?? [];
  }

  async publish(channel: string, env: Envelope, opts: PublishOptions = {}): Promise<void> {
    if (this.closed) throw new BusClosedError();
    let stored: Promise<void>;
    this.accepting += 1;
    try {
      for (const m of this.middleware) await m.onPublish?.(channel, env);
      stored = this.transport.publish(channel, env, {
        msgId: env.header.message_id,
        priority: priorityOf(env),
        key: opts.key ?? env.header.correlation_id,
      });
    } finally {
      this.accepting -= 1;
      if (this.accepting === 0) for (const w of this.acceptWaiters.splice(0)) w();
    }
    await stored;
  }

  async subscribe(channel: string, handler: Handler, opts: SubscribeOptions): Promise<Subscription> {
    if (this.closed) throw new BusClosedError();
    const spec: ConsumerSpec = {
      queue: opts.queue,
      ordered: opts.ordered ?? false,
      maxAttempts: positiveInt(opts.maxAttempts ?? DEFAULT_MAX_ATTEMPTS, 'maxAttempts'),
    };
    const concurrency = positiveInt(opts.concurrency ?? DEFAULT_CONCURRENCY, 'concurrency');
    const sub = new Subscriber(this, channel, handler, spec, concurrency);
    sub.start(await this.transport.consume(channel, spec, () => sub.kick()));
    this.subscribers.add(sub);
    return {
      unsubscribe: async () => {
        this.subscribers.delete(sub);
        await sub.stop();
      },
    };
  }

  /** Resolves when every accepted message has been handled or dead-lettered. */
  async drain(): Promise<void> {
    for (;;) {
      if (this.accepting > 0) await new Promise<void>((r) => this.acceptWaiters.push(r));
      await Promise.all([...this.givingUp]);
      await this.transport.drain();
      if (this.accepting === 0 && this.givingUp.size === 0) return;
    }
  }

  /**
   * Refuses new messages, waits for what is being handled, and lets go of the transport. In one process
   * that means every queued message a member is left for; a durable transport keeps what is not taken yet.
   */
  async close(): Promise<void> {
    this.closed = true;
    if (this.transport.inProcess) await this.drain();
    const subs = [...this.subscribers];
    this.subscribers.clear();
    await Promise.all(subs.map((s) => s.stop()));
    await Promise.all(subs.map((s) => s.idle()));
    await Promise.all([...this.givingUp]);
    await this.transport.close();
  }

  /** @internal one message for one subscriber; settles it exactly once. */
  async deliver(sub: Subscriber, msg: TransportMessage): Promise<void> {
    const { envelope: env, deliveryCount: attempt } = msg;
    const { channel } = sub;
    const { queue: consumer, maxAttempts } = sub.spec;
    if (attempt > maxAttempts) {
      // Only a durable transport redelivers past the bound: the consumer that had it stopped or stalled.
      return this.giveUp(msg, channel, consumer, `gave up after ${attempt - 1} deliveries without an outcome`, attempt - 1);
    }
    if (isExpired(env.header, this.opts.clock.now())) {
      return this.giveUp(msg, channel, consumer, `expired: ttl ${env.header.ttl_ms} ms`, attempt);
    }
    try {
      for (const m of this.middleware) await m.beforeDeliver?.(channel, env, consumer);
    } catch (err) {
      return this.giveUp(msg, channel, consumer, `rejected: ${errorMessage(err)}`, attempt);
    }
    try {
      await sub.handler(env, { channel, attempt });
    } catch (err) {
      if (attempt >= maxAttempts) return this.giveUp(msg, channel, consumer, `failed ${attempt} times: ${errorMessage(err)}`, attempt);
      this.opts.onError?.(err);
      // Back off in real time: a failing handler usually waits on something outside (an API, a lock).
      msg.nak(this.retryDelay(attempt));
      return;
    }
    msg.ack();
  }

  /** @internal */
  report(err: unknown): void {
    this.opts.onError?.(err);
  }

  private retryDelay(attempt: number): number {
    return (this.opts.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS) * 2 ** (attempt - 1);
  }

  /**
   * Records a dead letter and publishes it, signed, on `channel.dead_letter`. In one process the message
   * is let go at once: a dead-letter consumer must never hold up the group that rejected the message. A
   * durable transport lets it go only once the dead letter is stored, so a crash in between redelivers
   * the message instead of losing it.
   */
  private async giveUp(msg: TransportMessage, channel: string, consumer: string, reason: string, attempts: number): Promise<void> {
    const env = msg.envelope;
    const dl: DeadLetter = { channel, original: env, consumer, reason, attempts };
    this.deadLetters.push(dl);
    const keep = this.opts.keepDeadLetters ?? DEFAULT_KEEP_DEAD_LETTERS;
    if (this.deadLetters.length > keep) this.deadLetters.splice(0, this.deadLetters.length - keep);
    const published = this.publishDeadLetter(dl);
    if (this.transport.inProcess) {
      void published.catch((err: unknown) => this.opts.onError?.(err));
      msg.term();
      return;
    }
    const tracked = published.then(
      () => msg.term(),
      (err: unknown) => {
        this.opts.onError?.(err);
        msg.nak(this.retryDelay(attempts));
      },
    );
    this.givingUp.add(tracked);
    try {
      await tracked;
    } finally {
      this.givingUp.delete(tracked);
    }
  }

  private publishDeadLetter(dl: DeadLetter): Promise<void> {
    const env = dl.original;
    if (dl.channel === CHANNELS.deadLetter || !this.opts.envelopes) return Promise.resolve();
    try {
      const out = this.opts.envelopes.create({
        messageType: 'dead_letter',
        receiver: 'operator',
        correlationId: env.header.correlation_id,
        causationId: env.header.message_id,
        priority: priorityOf(env),
        payload: dl,
      });
      return this.publish(CHANNELS.deadLetter, out);
    } catch (err) {
      return Promise.reject(err);
    }
  }
}

/**
 * One subscription: takes messages from its transport consumer while it has room, critical first, and
 * hands each to the layer. Runs synchronously as long as the transport answers synchronously, so the
 * in-process bus hands a message to a free member in the same turn it was published.
 */
class Subscriber {
  private consumer: TransportConsumer | null = null;
  private inflight = 0;
  private sweeping = false;
  /** A kick arrived during a sweep: sweep once more when it ends. */
  private again = false;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly layer: BusLayer,
    readonly channel: string,
    readonly handler: Handler,
    readonly spec: ConsumerSpec,
    private readonly concurrency: number,
  ) {}

  start(consumer: TransportConsumer): void {
    this.consumer = consumer;
    this.kick();
  }

  /** Messages may be waiting, or a slot came free. */
  kick(): void {
    if (!this.consumer || this.stopped) return;
    if (this.sweeping) {
      this.again = true;
      return;
    }
    this.sweep(this.consumer);
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.consumer?.close();
  }

  /** Resolves when no handler of this subscription is running. */
  idle(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private get free(): number {
    return this.concurrency - this.inflight;
  }

  /**
   * Asks for messages priority by priority, critical first, until the slots are full or each priority
   * has been asked once; then listens. A kick during the sweep (a message arrived, a slot freed) asks
   * again from the top, so a critical message that came in meanwhile is not left behind a low one.
   */
  private sweep(consumer: TransportConsumer): void {
    this.sweeping = true;
    this.again = false;
    let i = 0;
    const step = (): void => {
      for (;;) {
        if (this.stopped || this.free <= 0) {
          // Full: the next settled message kicks again.
          this.sweeping = false;
          return;
        }
        if (i === PRIORITIES_HIGH_FIRST.length) {
          if (this.again) {
            this.again = false;
            i = 0;
            continue;
          }
          this.sweeping = false;
          consumer.listen();
          return;
        }
        const got = consumer.take(PRIORITIES_HIGH_FIRST[i]!, this.free);
        i += 1;
        if (Array.isArray(got)) {
          this.dispatch(got);
          continue;
        }
        got.then(
          (msgs) => {
            if (this.stopped) {
              // Stopped while asking: hand them straight back for another member.
              for (const m of msgs) m.nak(0);
              this.sweeping = false;
              return;
            }
            this.dispatch(msgs);
            step();
          },
          (err: unknown) => {
            this.sweeping = false;
            this.layer.report(err);
            setTimeout(() => this.kick(), TAKE_RETRY_MS).unref();
          },
        );
        return;
      }
    };
    step();
  }

  private dispatch(msgs: TransportMessage[]): void {
    for (const msg of msgs) {
      this.inflight += 1;
      void this.layer.deliver(this, msg).then(this.settled, this.failed);
    }
  }

  private readonly settled = (): void => {
    this.inflight -= 1;
    if (this.inflight === 0) for (const w of this.idleWaiters.splice(0)) w();
    this.kick();
  };

  private readonly failed = (err: unknown): void => {
    this.layer.report(err);
    this.settled();
  };
}

function priorityOf(env: Envelope): Priority {
  const p = Math.round(Number(env.header.priority) || 1);
  return Math.min(4, Math.max(1, p)) as Priority;
}

function positiveInt(n: number, name: string): number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`${name} must be a positive integer`);
  return n;
}
