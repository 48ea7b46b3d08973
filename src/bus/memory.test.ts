import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/clocks.js';
import { CHANNELS, type Envelope, type Priority } from '../core/envelope.js';
import { busContract } from './contract.js';
import { MemoryBus, createMemoryBus } from './memory.js';
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

busContract('memory', async (setup) => createMemoryBus(setup), undefined, { publishAwaitsHandlers: true });

describe('MemoryBus', () => {
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

  it('keeps the dead letters it produced, with their reasons', async () => {
    const { bus, msg, clock } = setup({ verify: true });
    const dead: Envelope[] = [];
    await bus.subscribe(CHANNELS.deadLetter, async (e) => void dead.push(e), { queue: 'ops' });
    await bus.subscribe('ch', async () => {}, { queue: 'q' });
    const stale = msg(1, 2, 1000);
    clock.advance(5000);
    await bus.publish('ch', stale);
    await bus.drain();
    expect(bus.deadLetters.map((d) => [d.consumer, d.reason])).toEqual([['q', 'expired: ttl 1000 ms']]);
    expect(dead).toHaveLength(1);
    expect(verifyEnvelope(dead[0]!, keys)).toEqual({ ok: true });
  });

  it('resolves a second publish of a message still being handled when the first is done, handling it once', async () => {
    const { bus, msg } = setup();
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    let calls = 0;
    await bus.subscribe(
      'ch',
      async () => {
        calls += 1;
        await gate;
      },
      { queue: 'q' },
    );
    const env = msg(1);
    let firstDone = false;
    const first = bus.publish('ch', env).then(() => (firstDone = true));
    const again = bus.publish('ch', env).then(() => firstDone);
    release();
    await first;
    expect(await again).toBe(true);
    expect(calls).toBe(1);
  });
});
