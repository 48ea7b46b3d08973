/**
 * The in-process Bus adapter (embedded mode). Queue groups, priority order (critical first), bounded
 * concurrency, retries, TTL and a dead-letter channel: the same semantics the NATS adapter gives.
 */
import type { Clock } from '../core/clock.js';
import { CHANNELS, isExpired, type Envelope } from '../core/envelope.js';
import type { Bus, BusMiddleware, DeadLetter, Handler, SubscribeOptions, Subscription } from './port.js';
import type { EnvelopeFactory } from './signing.js';

export interface MemoryBusOptions {
  clock: Clock;
  middleware?: BusMiddleware[];
  /** Signs dead-letter envelopes; without it dead letters are only kept in `deadLetters`. */
  envelopes?: EnvelopeFactory;
  /** Dead letters kept for inspection. @default 1000 */
  keepDeadLetters?: number;
  onError?: (err: unknown) => void;
  /** Real-time delay before the first redelivery of a failed message; doubles each attempt. @default 50 */
  retryDelayMs?: number;
}

interface Pending {
  channel: string;
  env: Envelope;
  attempt: number;
  /** Called once the message leaves the group: handled, or dead-lettered. */
  settle: () => void;
}

interface Member {
  handler: Handler;
  concurrency: number;
  inflight: number;
  maxAttempts: number;
}

/** One queue group on one channel: every message of the channel reaches the group once. */
class Group {
  readonly members: Member[] = [];
  /** Index 0 holds priority 4 (critical), index 3 priority 1. */
  private readonly queues: Pending[][] = [[], [], [], []];
  private next = 0;

  constructor(
    readonly name: string,
    private readonly bus: MemoryBus,
  ) {}

  get size(): number {
    return this.queues.reduce((n, q) => n + q.length, 0);
  }

  get inflight(): number {
    return this.members.reduce((n, m) => n + m.inflight, 0);
  }

  enqueue(p: Pending): void {
    const prio = Math.min(4, Math.max(1, p.env.header.priority || 1));
    this.queues[4 - prio]!.push(p);
    this.pump();
  }

  pump(): void {
    for (;;) {
      const member = this.freeMember();
      if (!member) return;
      const p = this.dequeue();
      if (!p) return;
      member.inflight += 1;
      void this.bus.deliver(this, member, p).finally(() => {
        member.inflight -= 1;
        this.pump();
        this.bus.settle();
      });
    }
  }

  private dequeue(): Pending | undefined {
    for (const q of this.queues) if (q.length > 0) return q.shift();
    return undefined;
  }

  private freeMember(): Member | undefined {
    for (let i = 0; i < this.members.length; i++) {
      const m = this.members[(this.next + i) % this.members.length]!;
      if (m.inflight < m.concurrency) {
        this.next = (this.next + i + 1) % this.members.length;
        return m;
      }
    }
    return undefined;
  }
}

export class MemoryBus implements Bus {
  private readonly channels = new Map<string, Map<string, Group>>();
  private readonly middleware: BusMiddleware[];
  private readonly idleWaiters: (() => void)[] = [];
  private closed = false;
  /** Messages waiting out a retry back-off: neither queued nor in flight, but not done. */
  private delayed = 0;
  readonly deadLetters: DeadLetter[] = [];

  constructor(private readonly opts: MemoryBusOptions) {
    this.middleware = opts.middleware ?? [];
  }

  async publish(channel: string, env: Envelope): Promise<void> {
    if (this.closed) throw new Error('bus is closed');
    for (const m of this.middleware) await m.onPublish?.(channel, env);
    const groups = this.channels.get(channel);
    if (!groups) return;
    // In one process memory is all the durability there is: publish resolves once every group has
    // handled (or dead-lettered) the message, so the outbox marks a row sent only after that, and a
    // crash before it re-sends the row to idempotent consumers instead of losing it.
    await Promise.all(
      [...groups.values()].map((g) => new Promise<void>((settle) => g.enqueue({ channel, env, attempt: 1, settle }))),
    );
  }

  async subscribe(channel: string, handler: Handler, opts: SubscribeOptions): Promise<Subscription> {
    let groups = this.channels.get(channel);
    if (!groups) {
      groups = new Map();
      this.channels.set(channel, groups);
    }
    let group = groups.get(opts.queue);
    if (!group) {
      group = new Group(opts.queue, this);
      groups.set(opts.queue, group);
    }
    const member: Member = {
      handler,
      concurrency: opts.concurrency ?? 8,
      inflight: 0,
      maxAttempts: opts.maxAttempts ?? 5,
    };
    group.members.push(member);
    group.pump();
    const g = group;
    return {
      unsubscribe: async () => {
        const i = g.members.indexOf(member);
        if (i >= 0) g.members.splice(i, 1);
        this.settle();
      },
    };
  }

  /** @internal called by a group for one message. */
  async deliver(group: Group, member: Member, p: Pending): Promise<void> {
    const { env, channel } = p;
    if (isExpired(env.header, this.opts.clock.now())) {
      await this.deadLetter(channel, env, group.name, `expired: ttl ${env.header.ttl_ms} ms`, p.attempt);
      p.settle();
      return;
    }
    try {
      for (const m of this.middleware) await m.beforeDeliver?.(channel, env, group.name);
    } catch (err) {
      await this.deadLetter(channel, env, group.name, `rejected: ${errorMessage(err)}`, p.attempt);
      p.settle();
      return;
    }
    try {
      await member.handler(env, { channel, attempt: p.attempt });
      p.settle();
    } catch (err) {
      if (p.attempt >= member.maxAttempts) {
        await this.deadLetter(channel, env, group.name, `failed ${p.attempt} times: ${errorMessage(err)}`, p.attempt);
        p.settle();
      } else {
        this.opts.onError?.(err);
        // Back off in real time: a failing handler usually waits on something outside (an API, a lock).
        const delay = (this.opts.retryDelayMs ?? 50) * 2 ** (p.attempt - 1);
        this.delayed += 1;
        setTimeout(() => {
          this.delayed -= 1;
          group.enqueue({ ...p, attempt: p.attempt + 1 });
        }, delay).unref();
      }
    }
  }

  private async deadLetter(channel: string, env: Envelope, consumer: string, reason: string, attempts: number) {
    const dl: DeadLetter = { channel, original: env, consumer, reason, attempts };
    this.deadLetters.push(dl);
    const keep = this.opts.keepDeadLetters ?? 1000;
    if (this.deadLetters.length > keep) this.deadLetters.splice(0, this.deadLetters.length - keep);
    if (channel === CHANNELS.deadLetter || !this.opts.envelopes) return;
    try {
      const out = this.opts.envelopes.create({
        messageType: 'dead_letter',
        receiver: 'operator',
        correlationId: env.header.correlation_id,
        causationId: env.header.message_id,
        priority: env.header.priority,
        payload: dl,
      });
      // Not awaited: a dead-letter consumer must never hold up the group that rejected the message.
      void this.publish(CHANNELS.deadLetter, out).catch((err: unknown) => this.opts.onError?.(err));
    } catch (err) {
      this.opts.onError?.(err);
    }
  }

  /** @internal */
  settle(): void {
    if (!this.isIdle()) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  /**
   * Nothing left that can still run. Messages queued for a group whose members have all left cannot,
   * so they do not hold up a drain (their publishers' outbox rows stay unsent and are sent again later).
   */
  private isIdle(): boolean {
    if (this.delayed > 0) return false;
    for (const groups of this.channels.values()) {
      for (const g of groups.values()) {
        if (g.inflight > 0 || (g.size > 0 && g.members.length > 0)) return false;
      }
    }
    return true;
  }

  drain(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Refuses new messages, waits for what is being handled, and drops what nobody is left to handle. */
  async close(): Promise<void> {
    this.closed = true;
    await this.drain();
    this.channels.clear();
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
