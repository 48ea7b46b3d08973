import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { ManualClock } from '../clock/clocks.js';
import { AGENTS, CHANNELS } from '../core/envelope.js';
import { MAX_MESSAGE_BYTES } from '../core/payloads.js';
import type { Effect } from '../core/workflow.js';
import { FakeBus } from '../bus/testing/fake-bus.js';
import { EnvelopeFactory } from '../bus/signing.js';
import type { OutboxRow } from '../store/port.js';
import { INTERNAL_FETCH_CHANNEL } from './applier.js';
import { OutboxDispatcher } from './dispatcher.js';
import { TEST_KEYS, until } from './testing/loop.js';

const T0 = Date.parse('2026-05-04T08:00:00Z');
const VIN = '1HGCM82633A004352';
const REMEMBERED_VIN = '2HGCM82633A004352';

const row = (id: string, channel: string, payload: unknown = { vin: VIN }): OutboxRow => ({
  messageId: id,
  correlationId: 'workflow-x-1',
  key: `workflow-x-1:${id}`,
  channel,
  messageType: channel === INTERNAL_FETCH_CHANNEL ? 'fetch_telemetry' : 'engagement_request',
  receiver: AGENTS.customerEngagement,
  priority: 3,
  payload,
  createdAt: T0,
  causationId: null,
});

/** An outbox holding `rows` until they are claimed once, recording what is marked sent and counted. */
function outbox(rows: OutboxRow[]) {
  const unclaimed = [...rows];
  const sent: string[] = [];
  const counters: Record<string, number> = {};
  return {
    sent,
    counters,
    store: {
      claimOutbox: async () => unclaimed.splice(0),
      markSent: async (ids: string[]) => void sent.push(...ids),
      incrementCounters: async (d: Record<string, number>) => {
        for (const [k, v] of Object.entries(d)) counters[k] = (counters[k] ?? 0) + v;
      },
      getAnalysisMemory: async (vin: string) => (vin === REMEMBERED_VIN ? 'h1.layout.remembered' : null),
    },
  };
}

function dispatcher(store: ReturnType<typeof outbox>['store'], bus: FakeBus, taken: OutboxRow[] = []) {
  const clock = new ManualClock(T0);
  return new OutboxDispatcher(
    store,
    bus,
    EnvelopeFactory.fromKeyRing(AGENTS.orchestrator, TEST_KEYS, clock),
    clock,
    pino({ level: 'silent' }),
    { batchSize: 10, leaseMs: 1000 },
    { [INTERNAL_FETCH_CHANNEL]: (r) => void taken.push(r) },
  );
}

describe('OutboxDispatcher', () => {
  it('only publishes: bus rows go to the bus and are marked sent, internal rows go to their worker unsent', async () => {
    const o = outbox([row('m1', CHANNELS.engagementRequest), row('f1', INTERNAL_FETCH_CHANNEL), row('m2', CHANNELS.schedulingRequest)]);
    const bus = new FakeBus();
    const taken: OutboxRow[] = [];
    await dispatcher(o.store, bus, taken).wake();
    await until(async () => o.sent.length === 2, 'both bus rows sent');
    expect(bus.published.map((p) => [p.channel, p.env.header.message_id])).toEqual([
      [CHANNELS.engagementRequest, 'm1'],
      [CHANNELS.schedulingRequest, 'm2'],
    ]);
    expect(taken.map((r) => r.messageId)).toEqual(['f1']);
    // The worker marks its row sent when its work is done, not the dispatcher.
    expect(o.sent.sort()).toEqual(['m1', 'm2']);
  });

  it('leaves an internal row no worker knows in the outbox, for a process that knows it', async () => {
    const o = outbox([row('x1', 'internal.unknown.work')]);
    const bus = new FakeBus();
    await dispatcher(o.store, bus).wake();
    expect(bus.published).toEqual([]);
    expect(o.sent).toEqual([]);
  });

  it('never publishes a message over MAX_MESSAGE_BYTES: the row leaves the outbox, counted', async () => {
    const big = { vin: VIN, note: 'x'.repeat(MAX_MESSAGE_BYTES) };
    const o = outbox([row('big', CHANNELS.engagementRequest, big), row('ok', CHANNELS.engagementRequest)]);
    const bus = new FakeBus();
    await dispatcher(o.store, bus).wake();
    // Rows are published beside the pass, not in it.
    await until(async () => o.counters['messages_oversized'] === 1, 'the oversized row counted');
    expect(bus.published.map((p) => p.env.header.message_id)).toEqual(['ok']);
    // Refused again at every lease expiry otherwise: it is taken out, and the case's state timeout acts.
    expect(o.sent.sort()).toEqual(['big', 'ok']);
  });

  it('publishes a decision’s non-durable messages, caused by the row that led to it, under the same guard', async () => {
    const o = outbox([]);
    const bus = new FakeBus();
    const d = dispatcher(o.store, bus);
    const request = (payload: unknown): Effect => ({
      kind: 'publish',
      channel: CHANNELS.analysisRequest,
      messageType: 'analysis_request',
      receiver: AGENTS.dataAnalysis,
      priority: 2,
      payload,
      key: 'k',
      durable: false,
    });
    const durable: Effect = { ...request({ vin: VIN }), durable: true } as Effect;
    await d.publishEffects([request({ vin: VIN, samples: [] }), durable, request({ vin: VIN, samples: ['x'.repeat(MAX_MESSAGE_BYTES)] })], {
      correlationId: 'workflow-x-1',
      messageId: 'f1',
    });
    expect(bus.published.map((p) => [p.channel, p.env.header.causation_id, p.env.header.correlation_id])).toEqual([
      [CHANNELS.analysisRequest, 'f1', 'workflow-x-1'],
    ]);
    expect(o.counters).toEqual({ messages_oversized: 1 });
  });

  it('sends each analysis request with the vehicle’s memory from the store, null for a vehicle not remembered yet', async () => {
    const o = outbox([]);
    const bus = new FakeBus();
    const d = dispatcher(o.store, bus);
    const request = (vin: string): Effect => ({
      kind: 'publish',
      channel: CHANNELS.analysisRequest,
      messageType: 'analysis_request',
      receiver: AGENTS.dataAnalysis,
      priority: 2,
      payload: { vin, samples: [] },
      key: `k-${vin}`,
      durable: false,
    });
    await d.publishEffects([request(REMEMBERED_VIN), request(VIN)], { correlationId: 'workflow-x-1', messageId: 'f1' });
    expect(bus.published.map((p) => p.env.payload)).toEqual([
      { vin: REMEMBERED_VIN, samples: [], memory: 'h1.layout.remembered' },
      { vin: VIN, samples: [], memory: null },
    ]);
  });
});
