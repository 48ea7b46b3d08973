import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/clocks.js';
import { CHANNELS, type Envelope, type Priority } from '../core/envelope.js';
import { MemoryBus } from './memory.js';
import { EnvelopeFactory, keyRingFromSecret, verifyEnvelope } from './signing.js';
import { signatureMiddleware } from './verify.js';

const T0 = Date.parse('2026-03-01T00:00:00Z');
const keys = keyRingFromSecret('test-secret-0123456789');

function setup(opts: { verify?: boolean } = {}) {
  const clock = new ManualClock(T0);
  const bus = new MemoryBus({
    clock,
    envelopes: EnvelopeFactory.fromKeyRing('bus', keys, clock),
    middleware: opts.verify ? [signatureMiddleware(keys)] : [],
    retryDelayMs: 1,
  });
  const orch = EnvelopeFactory.fromKeyRing('orchestrator', keys, clock);
  const msg = (n: number, priority: Priority = 2, ttlMs?: number): Envelope =>
    orch.create({ messageType: 'test', receiver: 'x', correlationId: `c${n}`, priority, payload: { n }, ...(ttlMs ? { ttlMs } : {}) });
  return { clock, bus, msg };
}

describe('MemoryBus', () => {
  it('gives every queue group each message once, and splits a group between its members', async () => {
    const { bus, msg } = setup();
    const a1: number[] = [];
    const a2: number[] = [];
    const b: number[] = [];
    await bus.subscribe('ch', async (e) => void a1.push((e.payload as { n: number }).n), { queue: 'a', concurrency: 1 });
    await bus.subscribe('ch', async (e) => void a2.push((e.payload as { n: number }).n), { queue: 'a', concurrency: 1 });
    await bus.subscribe('ch', async (e) => void b.push((e.payload as { n: number }).n), { queue: 'b' });
    await Promise.all([1, 2, 3, 4].map((n) => bus.publish('ch', msg(n))));
    expect([...a1, ...a2].sort()).toEqual([1, 2, 3, 4]);
    expect(a1.length).toBeGreaterThan(0);
    expect(a2.length).toBeGreaterThan(0);
    expect(b.sort()).toEqual([1, 2, 3, 4]);
  });

  it('delivers queued messages critical first', async () => {
    const { bus, msg } = setup();
    const seen: number[] = [];
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    await bus.subscribe(
      'ch',
      async (e) => {
        const n = (e.payload as { n: number }).n;
        if (n === 0) await gate;
        seen.push(n);
      },
      { queue: 'q', concurrency: 1 },
    );
    const all = [bus.publish('ch', msg(0, 1)), bus.publish('ch', msg(1, 1)), bus.publish('ch', msg(2, 2)), bus.publish('ch', msg(3, 4))];
    release();
    await Promise.all(all);
    expect(seen).toEqual([0, 3, 2, 1]);
  });

  it('retries a failing handler, then dead-letters the message with the reason', async () => {
    const { bus, msg } = setup();
    let calls = 0;
    const dead: Envelope[] = [];
    await bus.subscribe(CHANNELS.deadLetter, async (e) => void dead.push(e), { queue: 'ops' });
    await bus.subscribe(
      'ch',
      async () => {
        calls += 1;
        throw new Error('scheduler down');
      },
      { queue: 'q', maxAttempts: 3 },
    );
    await bus.publish('ch', msg(1));
    await bus.drain();
    expect(calls).toBe(3);
    expect(bus.deadLetters).toHaveLength(1);
    expect(bus.deadLetters[0]!.reason).toBe('failed 3 times: scheduler down');
    expect(dead).toHaveLength(1);
    expect(verifyEnvelope(dead[0]!, keys)).toEqual({ ok: true });
  });

  it('dead-letters an expired message instead of handling it', async () => {
    const { bus, msg, clock } = setup();
    let handled = 0;
    await bus.subscribe('ch', async () => void (handled += 1), { queue: 'q' });
    const env = msg(1, 2, 1000);
    clock.advance(5000);
    await bus.publish('ch', env);
    expect(handled).toBe(0);
    expect(bus.deadLetters[0]!.reason).toMatch(/^expired/);
  });

  it('refuses a tampered or unsigned envelope when signatures are checked', async () => {
    const { bus, msg } = setup({ verify: true });
    const got: unknown[] = [];
    await bus.subscribe('ch', async (e) => void got.push(e.payload), { queue: 'q' });
    const good = msg(1);
    const tampered = { ...good, payload: { n: 666 } };
    const forged = { ...good, header: { ...good.header, sender: 'intruder' } };
    await bus.publish('ch', good);
    await bus.publish('ch', tampered);
    await bus.publish('ch', forged);
    expect(got).toEqual([{ n: 1 }]);
    expect(bus.deadLetters.map((d) => d.reason)).toEqual(['rejected: bad signature', 'rejected: bad signature']);
  });

  it('closes once handlers in flight finish, without waiting for messages nobody is left to handle', async () => {
    const { bus, msg } = setup();
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    let finished = 0;
    const sub = await bus.subscribe(
      'ch',
      async () => {
        await gate;
        finished += 1;
      },
      { queue: 'q', concurrency: 1 },
    );
    void bus.publish('ch', msg(1));
    void bus.publish('ch', msg(2));
    await sub.unsubscribe();
    const closed = bus.close();
    release();
    await closed;
    expect(finished).toBe(1);
    await expect(bus.publish('ch', msg(3))).rejects.toThrow(/closed/);
  });

  it('resolves publish only after every group handled the message', async () => {
    const { bus, msg } = setup();
    let done = false;
    await bus.subscribe(
      'ch',
      async () => {
        await new Promise((r) => setTimeout(r, 5));
        done = true;
      },
      { queue: 'q' },
    );
    await bus.publish('ch', msg(1));
    expect(done).toBe(true);
  });
});
