/**
 * The behaviour every Bus transport must show under the bus layer (DESIGN §2): the memory transport runs
 * it in memory.test.ts, NATS JetStream in nats/nats-bus.test.ts against a real server.
 * Usage: `busContract('memory', async (setup) => createMemoryBus(setup), undefined, { publishAwaitsHandlers: true })`.
 * `makeBus` builds a fresh bus over fresh streams for each test from the given setup; `cleanup` runs
 * after the test's `close()`, for example to delete the test's streams.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/clocks.js';
import { CHANNELS, type Envelope, type Priority } from '../core/envelope.js';
import type { Bus, BusMiddleware, DeadLetter, Delivery, SubscribeOptions } from './port.js';
import { EnvelopeFactory, keyRingFromSecret, verifyEnvelope } from './signing.js';
import { signatureMiddleware } from './verify.js';

export interface BusSetup {
  clock: ManualClock;
  middleware: BusMiddleware[];
  envelopes: EnvelopeFactory;
  retryDelayMs: number;
  onError: (err: unknown) => void;
}

export interface BusTraits {
  /**
   * Publish resolves only once the consumers handled the message (the in-process bus); otherwise once
   * the message is stored. @default false
   */
  publishAwaitsHandlers?: boolean;
}

const T0 = Date.parse('2026-03-01T00:00:00Z');
const SECRET = 'contract-secret-0123456789';
/** Real time a condition may take to come true: generous, for a loaded CI machine and a real broker. */
const WAIT_MS = 15_000;
/** Real time a bus gets to close after a test before its streams are cleaned up anyway. */
const CLOSE_WAIT_MS = 5_000;

interface Payload {
  n: number;
  key?: string;
}

export function busContract(name: string, makeBus: (setup: BusSetup) => Promise<Bus>, cleanup?: () => Promise<void>, traits: BusTraits = {}): void {
  describe(`Bus contract: ${name}`, () => {
    const keys = keyRingFromSecret(SECRET);
    let clock: ManualClock;
    let bus: Bus | null;
    let sender: EnvelopeFactory;
    const channel = 'channel.contract.work';

    async function open(middleware: BusMiddleware[] = []): Promise<Bus> {
      bus = await makeBus({ clock, middleware, envelopes: EnvelopeFactory.fromKeyRing('bus', keys, clock), retryDelayMs: 1, onError: () => {} });
      return bus;
    }

    function msg(n: number, over: { priority?: Priority; ttlMs?: number; key?: string } = {}): Envelope<Payload> {
      return sender.create({
        messageType: 'contract_test',
        receiver: 'tester',
        correlationId: `case-${over.key ?? n}`,
        priority: over.priority ?? 2,
        payload: over.key === undefined ? { n } : { n, key: over.key },
        ...(over.ttlMs === undefined ? {} : { ttlMs: over.ttlMs }),
      });
    }

    /** Collects what reaches a queue group; `work` runs before a message counts as handled. */
    async function collect(b: Bus, opts: SubscribeOptions, work?: (p: Payload, d: Delivery) => Promise<void>, on = channel) {
      const got: Payload[] = [];
      const sub = await b.subscribe(
        on,
        async (env, d) => {
          await work?.(env.payload as Payload, d);
          got.push(env.payload as Payload);
        },
        opts,
      );
      return { got, sub };
    }

    async function deadLetters(b: Bus): Promise<Envelope<DeadLetter>[]> {
      const dead: Envelope<DeadLetter>[] = [];
      await b.subscribe(CHANNELS.deadLetter, async (env) => void dead.push(env as Envelope<DeadLetter>), { queue: 'operator' });
      return dead;
    }

    beforeEach(() => {
      clock = new ManualClock(T0);
      sender = EnvelopeFactory.fromKeyRing('orchestrator', keys, clock);
      bus = null;
    });
    afterEach(async () => {
      try {
        // A failed test can leave a handler blocked for ever; the cleanup must run all the same.
        if (bus) await Promise.race([bus.close(), pause(CLOSE_WAIT_MS)]);
      } finally {
        await cleanup?.();
      }
    });

    it('splits a queue group between its members and gives every group each message once', async () => {
      const b = await open();
      const slow = () => pause(5);
      const a1 = await collect(b, { queue: 'a', concurrency: 1 }, slow);
      const a2 = await collect(b, { queue: 'a', concurrency: 1 }, slow);
      const other = await collect(b, { queue: 'b' });
      const ns = Array.from({ length: 12 }, (_, i) => i);
      await Promise.all(ns.map((n) => b.publish(channel, msg(n))));
      await until(() => a1.got.length + a2.got.length === ns.length && other.got.length === ns.length, 'every message handled');
      await b.drain();
      expect(sorted([...a1.got, ...a2.got].map((p) => p.n))).toEqual(ns);
      expect(a1.got.length).toBeGreaterThan(0);
      expect(a2.got.length).toBeGreaterThan(0);
      expect(sorted(other.got.map((p) => p.n))).toEqual(ns);
    });

    it('stops handing messages to a member that left its group', async () => {
      const b = await open();
      const leaving = await collect(b, { queue: 'a' });
      const staying = await collect(b, { queue: 'a' });
      await leaving.sub.unsubscribe();
      await Promise.all([1, 2, 3, 4].map((n) => b.publish(channel, msg(n))));
      await until(() => staying.got.length === 4, 'the remaining member handled all');
      expect(leaving.got).toEqual([]);
    });

    it('takes a waiting critical message before a waiting low one', async () => {
      const b = await open();
      const gate = deferred();
      let blocked = false;
      const order: number[] = [];
      await collect(
        b,
        { queue: 'q', concurrency: 1 },
        async (p) => {
          if (p.n === 0) {
            blocked = true;
            await gate.promise;
          }
          order.push(p.n);
        },
      );
      const first = b.publish(channel, msg(0, { priority: 2 }));
      await until(() => blocked, 'the first message is being handled');
      const waiting = [b.publish(channel, msg(1, { priority: 1 })), b.publish(channel, msg(2, { priority: 4 }))];
      // Both are waiting once stored (the in-process bus has them queued before publish returns). A
      // broker hands a stored message to a consumer's open pull a moment after acknowledging it, so give
      // that moment before the handler frees its slot.
      if (!traits.publishAwaitsHandlers) {
        await Promise.all(waiting);
        await pause(50);
      }
      gate.resolve();
      await Promise.all([first, ...waiting]);
      await until(() => order.length === 3, 'all three handled');
      expect(order).toEqual([0, 2, 1]);
    });

    it('hands an ordered group the messages of one key one at a time, in publish order', async () => {
      const b = await open();
      const running = new Set<string>();
      const finished: Payload[] = [];
      let overlaps = 0;
      const work = async (p: Payload) => {
        if (running.has(p.key!)) overlaps += 1;
        running.add(p.key!);
        await pause(1);
        running.delete(p.key!);
        finished.push(p);
      };
      // Two members with room for several messages each: only the ordering keeps one key in one hand.
      await collect(b, { queue: 'q', ordered: true, concurrency: 4 }, work);
      await collect(b, { queue: 'q', ordered: true, concurrency: 4 }, work);
      const keysUsed = ['A', 'B', 'C'];
      const pubs: Promise<void>[] = [];
      for (let n = 0; n < 8; n++) for (const key of keysUsed) pubs.push(b.publish(channel, msg(n, { key }), { key }));
      await Promise.all(pubs);
      await until(() => finished.length === 24, 'every message handled');
      expect(overlaps).toBe(0);
      for (const key of keysUsed) expect(finished.filter((p) => p.key === key).map((p) => p.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    });

    it('delivers a failed message again, counting the attempts', async () => {
      const b = await open();
      const dead = await deadLetters(b);
      const attempts: number[] = [];
      const ok = await collect(b, { queue: 'q', maxAttempts: 3 }, async (_p, d) => {
        attempts.push(d.attempt);
        if (d.attempt === 1) throw new Error('flaky');
      });
      await b.publish(channel, msg(1));
      await until(() => ok.got.length === 1, 'handled on the second attempt');
      await b.drain();
      expect(attempts).toEqual([1, 2]);
      expect(dead).toEqual([]);
    });

    it('dead-letters a message that fails every attempt, signed, with the reason', async () => {
      const b = await open();
      const dead = await deadLetters(b);
      let calls = 0;
      await b.subscribe(
        channel,
        async () => {
          calls += 1;
          throw new Error('scheduler down');
        },
        { queue: 'q', maxAttempts: 3 },
      );
      const env = msg(1);
      await b.publish(channel, env);
      await until(() => dead.length === 1, 'a dead letter');
      await b.drain();
      expect(calls).toBe(3);
      expect(verifyEnvelope(dead[0]!, keys)).toEqual({ ok: true });
      expect(dead[0]!.header).toMatchObject({ message_type: 'dead_letter', sender: 'bus', correlation_id: env.header.correlation_id, causation_id: env.header.message_id });
      expect(dead[0]!.payload).toEqual({ channel, original: env, consumer: 'q', reason: 'failed 3 times: scheduler down', attempts: 3 });
    });

    it('dead-letters an expired message instead of handling it', async () => {
      const b = await open();
      const dead = await deadLetters(b);
      const handled = await collect(b, { queue: 'q' });
      const env = msg(1, { ttlMs: 1000 });
      clock.advance(5000);
      await b.publish(channel, env);
      await until(() => dead.length === 1, 'a dead letter');
      expect(handled.got).toEqual([]);
      expect(dead[0]!.payload).toMatchObject({ channel, consumer: 'q', reason: 'expired: ttl 1000 ms', attempts: 1 });
    });

    it('takes a message published twice with one message_id once', async () => {
      const b = await open();
      const handled = await collect(b, { queue: 'q', concurrency: 1 });
      const env = msg(1);
      await b.publish(channel, env);
      await b.publish(channel, env);
      await b.publish(channel, msg(2));
      await until(() => handled.got.some((p) => p.n === 2), 'the later message handled');
      await b.drain();
      expect(handled.got.map((p) => p.n)).toEqual([1, 2]);
    });

    it('shows middleware every envelope on publish and before delivery', async () => {
      const seen: string[] = [];
      const b = await open([
        {
          onPublish: (ch, env) => void seen.push(`publish ${ch} ${(env.payload as Payload).n}`),
          beforeDeliver: (ch, env, consumer) => void seen.push(`deliver ${ch} ${(env.payload as Payload).n} to ${consumer}`),
        },
      ]);
      const handled = await collect(b, { queue: 'q' });
      await b.publish(channel, msg(7));
      await until(() => handled.got.length === 1, 'handled');
      expect(seen).toEqual([`publish ${channel} 7`, `deliver ${channel} 7 to q`]);
    });

    it('refuses a tampered or forged envelope when signatures are checked', async () => {
      const b = await open([signatureMiddleware(keys)]);
      const dead = await deadLetters(b);
      const handled = await collect(b, { queue: 'q' });
      const good = msg(1);
      const other = msg(2);
      const tampered: Envelope = { ...other, payload: { n: 666 } };
      const third = msg(3);
      const forged: Envelope = { ...third, header: { ...third.header, sender: 'intruder' } };
      await b.publish(channel, good);
      await b.publish(channel, tampered);
      await b.publish(channel, forged);
      await until(() => dead.length === 2 && handled.got.length === 1, 'two refused, one handled');
      expect(handled.got).toEqual([{ n: 1 }]);
      expect(dead.map((d) => d.payload.reason)).toEqual(['rejected: bad signature', 'rejected: bad signature']);
      expect(sorted(dead.map((d) => (d.payload.original.payload as Payload).n))).toEqual([3, 666]);
    });

    it('refuses to publish once closed', async () => {
      const b = await open();
      await b.close();
      await expect(b.publish(channel, msg(1))).rejects.toThrow(/closed/);
    });

  });
}

/** Real time a handler spends, so that several messages are in hand at once. */
function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function sorted(ns: number[]): number[] {
  return [...ns].sort((a, b) => a - b);
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** Polls in real time: a broker's work happens outside the virtual clock. */
async function until(cond: () => boolean, what: string, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
