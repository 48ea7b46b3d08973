/**
 * The bus contract, and what only a durable broker shows, against a real nats-server with JetStream:
 * PITWALL_TEST_NATS_URL (default nats://127.0.0.1:4222). Each test gets streams of its own namespace
 * and deletes them after. Without a server the tests are skipped (failed under CI=true).
 */
import { randomBytes } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../clock/clocks.js';
import { CHANNELS, type Envelope } from '../../core/envelope.js';
import { requireService, serviceUrl } from '../../testing/services.js';
import { busContract } from '../contract.js';
import type { LayeredBus } from '../layer.js';
import type { DeadLetter } from '../port.js';
import { EnvelopeFactory, keyRingFromSecret } from '../signing.js';
import { createNatsBus, deleteNamespace, type NatsBusOptions } from './index.js';
import { streamName } from './names.js';

const url = serviceUrl('nats');
const up = await requireService('nats', url);

function newNamespace(): string {
  return `t${randomBytes(5).toString('hex')}`;
}

async function removeNamespace(namespace: string): Promise<void> {
  const nc = await connect({ servers: url });
  try {
    await deleteNamespace(nc, namespace);
  } finally {
    await nc.close();
  }
}

if (!up) {
  describe.skip('NATS JetStream bus (needs nats-server: eval "$(scripts/services.sh | tail -2)")', () => {
    it('runs the bus contract', () => {});
  });
} else {
  let namespace = '';
  busContract(
    'NATS JetStream',
    async (setup) => {
      namespace = newNamespace();
      return createNatsBus({ servers: url, namespace, pollExpiresMs: 1000, ...setup });
    },
    () => removeNamespace(namespace),
  );

  describe('NATS JetStream bus', () => {
    const T0 = Date.parse('2026-03-01T00:00:00Z');
    const keys = keyRingFromSecret('nats-test-secret-0123456789');
    let ns: string;
    let clock: ManualClock;
    let sender: EnvelopeFactory;
    const open: LayeredBus[] = [];
    let admin: NatsConnection;

    beforeAll(async () => {
      admin = await connect({ servers: url });
    });
    afterAll(async () => {
      await admin.close();
    });
    beforeEach(() => {
      ns = newNamespace();
      clock = new ManualClock(T0);
      sender = EnvelopeFactory.fromKeyRing('orchestrator', keys, clock);
    });
    afterEach(async () => {
      try {
        // Bounded: a failed test can leave a handler blocked, and the streams must go all the same.
        await Promise.race([Promise.allSettled(open.splice(0).map((b) => b.close())), new Promise((r) => setTimeout(r, 5000))]);
      } finally {
        await deleteNamespace(admin, ns);
      }
    });

    /** A bus closed after the test; `kept: false` for one whose process the test kills instead. */
    async function bus(over: Partial<NatsBusOptions> = {}, kept = true): Promise<LayeredBus> {
      const b = await createNatsBus({
        servers: url,
        namespace: ns,
        clock,
        envelopes: EnvelopeFactory.fromKeyRing('bus', keys, clock),
        retryDelayMs: 1,
        pollExpiresMs: 1000,
        ...over,
      });
      if (kept) open.push(b);
      return b;
    }

    function msg(n: number): Envelope {
      return sender.create({ messageType: 'nats_test', receiver: 'tester', correlationId: `case-${n}`, payload: { n } });
    }

    it('keeps a message stored before its group first subscribes, and hands it over then', async () => {
      const b = await bus();
      await b.publish('channel.kept.work', msg(1));
      const jsm = await jetstreamManager(admin);
      expect((await jsm.streams.info(streamName({ namespace: ns, partitions: 8 }, 'kept'))).state.messages).toBe(1);
      const got: unknown[] = [];
      await b.subscribe('channel.kept.work', async (e) => void got.push(e.payload), { queue: 'late' });
      await until(() => got.length === 1);
      expect(got).toEqual([{ n: 1 }]);
    });

    it('stores a message_id published by two processes once', async () => {
      const [b1, b2] = [await bus(), await bus()];
      const env = msg(1);
      await b1.publish('channel.dedupe.work', env);
      await b2.publish('channel.dedupe.work', env);
      const jsm = await jetstreamManager(admin);
      expect((await jsm.streams.info(streamName({ namespace: ns, partitions: 8 }, 'dedupe'))).state.messages).toBe(1);
    });

    it('dead-letters a message whose consumer died holding it, once the server redelivers it', async () => {
      // A member that takes the message and never answers: its process is gone (connection closed).
      const connection = await connect({ servers: url });
      const dying = await bus({ connection, ackWaitMs: 1000 }, false);
      let taken = false;
      await dying.subscribe(
        'channel.crash.work',
        async () => {
          taken = true;
          await new Promise<never>(() => {});
        },
        { queue: 'workers', maxAttempts: 1 },
      );
      const survivor = await bus({ ackWaitMs: 1000 });
      const dead: Envelope<DeadLetter>[] = [];
      await survivor.subscribe(CHANNELS.deadLetter, async (e) => void dead.push(e as Envelope<DeadLetter>), { queue: 'operator' });
      await dying.publish('channel.crash.work', msg(1));
      await until(() => taken);
      await connection.close();
      let handled = 0;
      await survivor.subscribe('channel.crash.work', async () => void (handled += 1), { queue: 'workers', maxAttempts: 1 });
      await until(() => dead.length === 1);
      expect(handled).toBe(0);
      expect(dead[0]!.payload).toMatchObject({ channel: 'channel.crash.work', consumer: 'workers', attempts: 1 });
      expect(dead[0]!.payload.reason).toBe('gave up after 1 deliveries without an outcome');
    });

    it('refuses a member that disagrees with its group on ordering', async () => {
      const b = await bus();
      await b.subscribe('channel.mixed.work', async () => {}, { queue: 'q', ordered: true });
      await expect(b.subscribe('channel.mixed.work', async () => {}, { queue: 'q' })).rejects.toThrow(/ordered/);
    });
  });
}

async function until(cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
