import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/clocks.js';
import { SECOND } from '../core/clock.js';
import { AGENTS, CHANNELS } from '../core/envelope.js';
import type { Workflow } from '../core/workflow.js';
import { MemoryBus } from '../bus/memory.js';
import { EnvelopeFactory, keyRingFromSecret } from '../bus/signing.js';
import { createSqliteStore } from '../store/index.js';
import type { Store } from '../store/port.js';
import { MainOrchestrationLoop } from './main-loop.js';
import type { TelematicsClient } from './telematics-client.js';

const T0 = Date.parse('2026-05-04T08:00:00Z');
const VIN = '1HGCM82633A004352';
const keys = keyRingFromSecret('test-secret-0123456789');

/** Waits (briefly, in real time) for the loop's own ticks to reach a state; the clock only moves when told. */
async function until<T>(check: () => Promise<T | null | undefined | false>, what: string): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const v = await check();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`not reached: ${what}`);
}

class CountingLoop extends MainOrchestrationLoop {
  readonly errors: string[] = [];
  override handleError(workflow: Workflow | null, error: Error): void {
    this.errors.push(`${workflow?.vin ?? '-'}: ${error.message}`);
  }
}

describe('MainOrchestrationLoop', () => {
  let store: Store;
  let loop: CountingLoop;
  afterEach(async () => {
    await loop.stop();
    await store.close();
  });

  function setup(telematics: TelematicsClient) {
    const clock = new ManualClock(T0);
    store = createSqliteStore({ path: ':memory:' });
    const bus = new MemoryBus({ clock });
    loop = new CountingLoop({
      telematicsApiUrl: 'http://127.0.0.1:1',
      schedulerApiUrl: 'http://127.0.0.1:1',
      store,
      bus,
      clock,
      keys,
      tickMs: 2,
      minPollGapMs: 0,
      telematicsClient: telematics,
    });
    return { clock, bus };
  }

  it('retries a failing telemetry fetch with back-off, then completes with "Failed after max retries"', async () => {
    let fetches = 0;
    const { clock } = setup({
      fetchPage: async () => ({ vehicles: [{ vin: VIN, timestamp: new Date(T0).toISOString(), signals: {} }], next_cursor: null }),
      fetchHistory: async () => {
        fetches += 1;
        throw new Error('503 from telematics');
      },
    });
    await loop.start();
    const status = () => loop.getWorkflowStatus(VIN);
    await until(async () => (await status())?.state === 'error', 'first error');
    for (const backoff of [30, 60]) {
      clock.advance(backoff * SECOND);
      const before = fetches;
      await until(async () => fetches > before && (await status())?.state === 'error', `retry after ${backoff} s`);
    }
    // The third retry fails too: with retries used up, that failure closes the case at once.
    clock.advance(120 * SECOND);
    const final = await until(async () => {
      const s = await status();
      return s?.state === 'completed' ? s : null;
    }, 'completed');
    expect(final.outcome).toBe('failed');
    expect(final.state_history.at(-1)?.reason).toBe('Failed after max retries');
    expect(final.error_count).toBe(4);
    expect(final.retry_count).toBe(3);
    expect(fetches).toBe(4);
    expect(loop.errors.filter((e) => e.startsWith(VIN))).toHaveLength(4);
    const stats = await loop.getStatistics();
    expect(stats.errors_encountered).toBe(4);
    expect(stats.completed_workflows).toBe(1);
  });

  it('times out a lost analysis after the state timeout and asks again', async () => {
    const { clock, bus } = setup({
      fetchPage: async () => ({ vehicles: [{ vin: VIN, timestamp: new Date(T0).toISOString(), signals: {} }], next_cursor: null }),
      fetchHistory: async () => [],
    });
    const requests: string[] = [];
    // An analysis agent that receives requests but never answers: a lost message.
    await bus.subscribe(CHANNELS.analysisRequest, async (env) => void requests.push(env.header.message_id), { queue: AGENTS.dataAnalysis });
    await loop.start();
    await until(async () => requests.length === 1 && (await loop.getWorkflowStatus(VIN))?.state === 'analyzing_data', 'analysis requested');
    clock.advance(300 * SECOND);
    await until(async () => (await loop.getWorkflowStatus(VIN))?.state === 'error', 'state timeout');
    expect((await loop.getWorkflowStatus(VIN))?.state_history.at(-1)?.reason).toBe('timeout in analyzing_data after 300 s');
    clock.advance(30 * SECOND);
    await until(async () => requests.length === 2, 'second request after the retry');
  });

  it('refuses an inbound message from a sender not allowed to send it, and counts it', async () => {
    const { clock } = setup({ fetchPage: async () => ({ vehicles: [], next_cursor: null }), fetchHistory: async () => [] });
    await loop.initialize();
    const forger = EnvelopeFactory.fromKeyRing(AGENTS.customerEngagement, keys, clock);
    const r = await loop.deliver(
      forger.create({ messageType: 'scheduling_result', receiver: 'orchestrator', correlationId: 'workflow-x-1', payload: { vin: VIN, ok: true } }),
    );
    expect(r).toEqual({ status: 'rejected', reason: 'customer_engagement may not send scheduling_result' });
    expect((await store.getCounters())['bus_rejected']).toBe(1);
  });

  it('closes an unanswered case through reminder and escalation as no_response (issue 7: it stayed open after the reminder)', async () => {
    const { clock, bus } = setup({
      fetchPage: async () => ({ vehicles: [{ vin: VIN, timestamp: new Date(T0).toISOString(), signals: {} }], next_cursor: null }),
      fetchHistory: async () => [],
    });
    const analyst = EnvelopeFactory.fromKeyRing(AGENTS.dataAnalysis, keys, clock);
    const sent: string[] = [];
    await bus.subscribe(CHANNELS.analysisRequest, async (env) => {
      await loop.deliver(
        analyst.create({
          messageType: 'analysis_result',
          receiver: 'orchestrator',
          correlationId: env.header.correlation_id,
          payload: {
            vin: VIN,
            anomalies: [],
            predicted_failures: [{ component: 'brakes', mode: 'pad_wear', probability: 0.9, days_to_failure: 3 }],
            predicted_days_to_failure: 3,
            failure_probability: 0.9,
            confidence: 0.8,
            samples_analyzed: 10,
            model_version: 'test',
          },
        }),
      );
    }, { queue: AGENTS.dataAnalysis });
    // The customer never answers; the notifications go nowhere.
    const sentTo: string[] = [];
    await bus.subscribe(
      CHANNELS.engagementRequest,
      async (env) => {
        sent.push((env.payload as { kind: string }).kind);
        sentTo.push(env.header.correlation_id);
      },
      { queue: AGENTS.customerEngagement },
    );
    await loop.start();
    await until(async () => sent.length === 1, 'first message');
    // High urgency gives the customer 24 h; each deadline passes in turn.
    clock.advance(25 * 3600 * SECOND);
    await until(async () => sent.length === 2, 'reminder');
    clock.advance(25 * 3600 * SECOND);
    await until(async () => sent.length === 3, 'escalation');
    clock.advance(25 * 3600 * SECOND);
    const final = await until(async () => {
      const cases = await store.listWorkflows({ limit: 10 });
      return cases.items.find((w) => w.state === 'completed') ?? null;
    }, 'no_response close');
    // (The next analysis cycle opens a new case for the same vehicle; only the first one is followed.)
    expect(sent.filter((_, i) => sentTo[i] === final.correlationId)).toEqual(['initial', 'reminder', 'escalation']);
    expect(final.outcome).toBe('no_response');
    expect(final.reason).toBe('no answer after escalation');
    // Nothing of the case is left to fire again.
    expect(await store.claimDueTimers(clock.now() + 365 * 86_400_000, 100, 1000)).toEqual(
      expect.not.arrayContaining([expect.objectContaining({ correlationId: final.correlationId })]),
    );
  });
});
