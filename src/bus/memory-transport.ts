/**
 * The in-process transport (embedded mode): per channel, a queue group holds four queues, one per
 * priority, that its members take from; a publish resolves once every group has settled the message.
 * Memory is all the durability there is in one process, so the outbox marks a row sent only after
 * that, and a crash before it re-sends the row to idempotent consumers instead of losing it.
 */
import type { Envelope, Priority } from '../core/envelope.js';
import { BusClosedError, BusConfigError } from './errors.js';
import type { ConsumerSpec, Transport, TransportConsumer, TransportMessage, TransportPublish } from './transport.js';

export interface MemoryTransportOptions {
  /**
   * Message ids remembered to take a second publish of the same id once (JetStream keeps a time window
   * instead; in one process a count bounds the memory it costs). @default 10000
   */
  dedupeWindow?: number;
}

export const DEFAULT_DEDUPE_WINDOW = 10_000;

/** What an empty queue hands out; never written to. */
const NONE: TransportMessage[] = [];

interface Pending {
  readonly env: Envelope;
  readonly key: string;
  readonly priority: Priority;
  deliveryCount: number;
  /** Called once the message leaves the group: handled, or given up. */
  readonly settle: () => void;
}

export function createMemoryTransport(opts: MemoryTransportOptions = {}): Transport {
  return new MemoryTransport(opts.dedupeWindow ?? DEFAULT_DEDUPE_WINDOW);
}

class MemoryTransport implements Transport {
  readonly inProcess = true;
  private readonly channels = new Map<string, Map<string, Group>>();
  /** Recent message ids and when their first publish settles. */
  private readonly recent = new Map<string, Promise<void>>();
  /**
   * The same ids in a ring, to forget the oldest without walking the map from its start (a Map keeps
   * deleted entries' slots until it rehashes, so `keys().next()` slows down as they pile up).
   */
  private readonly ring: (string | undefined)[];
  private ringAt = 0;
  private idleWaiters: (() => void)[] = [];
  private closed = false;

  constructor(private readonly dedupeWindow: number) {
    if (!Number.isInteger(dedupeWindow) || dedupeWindow < 0) throw new RangeError('dedupeWindow must be a non-negative integer');
    this.ring = new Array<string | undefined>(dedupeWindow);
  }

  publish(channel: string, env: Envelope, opts: TransportPublish): Promise<void> {
    if (this.closed) return Promise.reject(new BusClosedError());
    const earlier = this.recent.get(opts.msgId);
    if (earlier) return earlier;
    const groups = this.channels.get(channel);
    let settled: Promise<void>;
    if (!groups || groups.size === 0) {
      settled = Promise.resolve();
    } else {
      const each = [...groups.values()].map(
        (g) => new Promise<void>((settle) => g.enqueue({ env, key: opts.key, priority: opts.priority, deliveryCount: 1, settle })),
      );
      settled = each.length === 1 ? each[0]! : Promise.all(each).then(() => undefined);
    }
    this.remember(opts.msgId, settled);
    return settled;
  }

  async consume(channel: string, spec: ConsumerSpec, ready: () => void): Promise<TransportConsumer> {
    if (this.closed) throw new BusClosedError();
    let groups = this.channels.get(channel);
    if (!groups) {
      groups = new Map();
      this.channels.set(channel, groups);
    }
    let group = groups.get(spec.queue);
    if (!group) {
      group = new Group(spec.queue, spec.ordered, () => this.settled());
      groups.set(spec.queue, group);
    } else if (group.ordered !== spec.ordered) {
      throw new BusConfigError(`queue group ${spec.queue} on ${channel} is ${group.ordered ? '' : 'not '}ordered; a member must agree`);
    }
    return group.join(ready);
  }

  drain(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Drops what nobody is left to handle; the layer has already waited for the rest. */
  async close(): Promise<void> {
    this.closed = true;
    this.channels.clear();
    this.settled();
  }

  private remember(msgId: string, settled: Promise<void>): void {
    if (this.dedupeWindow === 0) return;
    const oldest = this.ring[this.ringAt];
    if (oldest !== undefined) this.recent.delete(oldest);
    this.ring[this.ringAt] = msgId;
    this.ringAt = (this.ringAt + 1) % this.dedupeWindow;
    this.recent.set(msgId, settled);
  }

  private settled(): void {
    if (this.idleWaiters.length === 0 || !this.isIdle()) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  /**
   * Nothing left that can still run. Messages queued for a group whose members have all left cannot,
   * so they do not hold up a drain (their publishers' outbox rows stay unsent and are sent again later).
   */
  private isIdle(): boolean {
    for (const groups of this.channels.values()) {
      for (const g of groups.values()) if (!g.idle) return false;
    }
    return true;
  }
}

/** One queue group on one channel: every message of the channel reaches the group once. */
class Group {
  /** Index 0 holds priority 4 (critical), index 3 priority 1. */
  private readonly queues: Pending[][] = [[], [], [], []];
  private readonly members: Member[] = [];
  private next = 0;
  /** Queued or parked, not taken. */
  private waiting = 0;
  private inflight = 0;
  /** Waiting out a retry back-off: neither queued nor in flight, but not done. */
  private delayed = 0;
  /** Ordered groups: the message that holds each key, and those of the key waiting behind it, in order. */
  private readonly holders = new Map<string, Pending>();
  private readonly parked = new Map<string, Pending[]>();

  constructor(
    readonly name: string,
    readonly ordered: boolean,
    private readonly onSettled: () => void,
  ) {}

  get idle(): boolean {
    return this.inflight === 0 && this.delayed === 0 && (this.waiting === 0 || this.members.length === 0);
  }

  join(ready: () => void): TransportConsumer {
    const member: Member = { ready };
    this.members.push(member);
    return {
      take: (priority, max) => this.take(priority, max),
      listen: () => {},
      close: async () => {
        const i = this.members.indexOf(member);
        if (i >= 0) this.members.splice(i, 1);
        this.onSettled();
      },
    };
  }

  enqueue(p: Pending, front = false): void {
    const q = this.queues[4 - p.priority]!;
    if (front) q.unshift(p);
    else q.push(p);
    this.waiting += 1;
    this.notify();
  }

  /** Offers the message to each member in turn, starting one further each time, as a round robin. */
  private notify(): void {
    const n = this.members.length;
    if (n === 0) return;
    const start = this.next % n;
    this.next = start + 1;
    for (let i = 0; i < n; i++) this.members[(start + i) % n]?.ready();
  }

  private take(priority: Priority, max: number): TransportMessage[] {
    const q = this.queues[4 - priority]!;
    if (q.length === 0) return NONE;
    const out: TransportMessage[] = [];
    while (out.length < max && q.length > 0) {
      const p = q.shift()!;
      if (this.ordered) {
        const holder = this.holders.get(p.key);
        if (holder && holder !== p) {
          this.park(p);
          continue;
        }
        this.holders.set(p.key, p);
      }
      this.waiting -= 1;
      this.inflight += 1;
      out.push(this.delivery(p));
    }
    return out;
  }

  private park(p: Pending): void {
    const list = this.parked.get(p.key);
    if (list) list.push(p);
    else this.parked.set(p.key, [p]);
  }

  private delivery(p: Pending): TransportMessage {
    let open = true;
    const done = () => {
      if (!open) return;
      open = false;
      this.inflight -= 1;
      this.release(p);
      p.settle();
      this.onSettled();
    };
    return {
      envelope: p.env,
      deliveryCount: p.deliveryCount,
      ack: done,
      term: done,
      nak: (delayMs) => {
        if (!open) return;
        open = false;
        this.inflight -= 1;
        this.delayed += 1;
        // The message keeps its key while it waits, so a later one of the key cannot overtake it.
        setTimeout(() => {
          this.delayed -= 1;
          p.deliveryCount += 1;
          this.enqueue(p);
        }, delayMs).unref();
      },
    };
  }

  /** The next message of a settled key goes to the front, so nothing of the key queued later overtakes it. */
  private release(p: Pending): void {
    if (!this.ordered) return;
    this.holders.delete(p.key);
    const list = this.parked.get(p.key);
    if (!list) return;
    const next = list.shift()!;
    if (list.length === 0) this.parked.delete(p.key);
    this.holders.set(next.key, next);
    this.waiting -= 1;
    this.enqueue(next, true);
  }
}

interface Member {
  ready: () => void;
}
