import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/clocks.js';
import { SECOND } from '../core/clock.js';
import { AGENTS, CHANNELS } from '../core/envelope.js';
import type { Workflow } from '../core/workflow.js';
import { MemoryBus } from '../bus/memory.js';
import { EnvelopeFactory } from '../bus/signing.js';
import { createSqliteStore } from '../store/index.js';
import type { Store } from '../store/port.js';
import { MainOrchestrationLoop, type OrchestratorOptions } from './main-loop.js';
import { TEST_KEYS, brakesDueResult, testLoopOptions, until } from './testing/loop.js';
import { TelematicsError, type TelematicsClient } from './telematics-client.js';

const T0 = Date.parse('2026-05-04T08:00:00Z');
const VIN = '1HGCM82633A004352';
const keys = TEST_KEYS;
/** The telematics API's fleet page: one vehicle, VIN, seen at T0. */
const fleetPage = () => ({ vehicles: [{ vin: VIN, timestamp: new Date(T0).toISOString(), signals: {} }], next_cursor: null });

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

  function setup(telematics: TelematicsClient, over: Partial<OrchestratorOptions> = {}) {
    const clock = new ManualClock(T0);
    store = createSqliteStore({ path: ':memory:' });
    const bus = new MemoryBus({ clock });
    loop = newLoop(telematics, clock, bus, over);
    return { clock, bus };
  }

  function newLoop(telematics: TelematicsClient, clock: ManualClock, bus: MemoryBus, over: Partial<OrchestratorOptions> = {}) {
    return new CountingLoop(testLoopOptions({ store, bus, clock, telematicsClient: telematics }, over));
  }

  it('drops a telemetry fetch answered after it stopped: the store may be closed by then, and the row is taken back later', async () => {
    let answer: (v: unknown[]) => void = () => undefined;
    setup({
      fetchPage: async () => fleetPage(),
      fetchHistory: () => new Promise((resolve) => (answer = resolve)),
    });
    await loop.start();
    await until(async () => (await loop.getWorkflowStatus(VIN))?.state === 'polling_telemetry', 'a fetch in flight');
    await loop.stop();
    const commits: unknown[] = [];
    const commit = store.commitDecisions.bind(store);
    store.commitDecisions = async (batch) => {
      commits.push(batch);
      return commit(batch);
    };
    answer([]);
    // The answer's handling is a few promise steps (ingest, then apply): let them all run.
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(commits).toEqual([]);
    expect((await loop.getWorkflowStatus(VIN))?.state).toBe('polling_telemetry');
  });

  it('retries a failing telemetry fetch with back-off, then completes with "Failed after max retries"', async () => {
    let fetches = 0;
    const { clock } = setup({
      fetchPage: async () => fleetPage(),
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
      fetchPage: async () => fleetPage(),
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
      fetchPage: async () => fleetPage(),
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
          payload: brakesDueResult(VIN),
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

  it('waits out a telematics outage as one circuit: no case burns a retry, and each resumes when the API is back (issue 7)', async () => {
    let down = false;
    let pages = 0;
    const outage = () => new TelematicsError('GET /api/telemetry: connect ECONNREFUSED 127.0.0.1', null);
    const { clock } = setup(
      {
        fetchPage: async () => {
          pages += 1;
          if (down) throw outage();
          return fleetPage();
        },
        fetchHistory: async () => {
          if (down) throw outage();
          return [];
        },
      },
      { outageProbeMs: 20 },
    );
    await loop.start();
    await until(async () => pages > 0, 'first poll');
    down = true;
    await until(async () => (await loop.getWorkflowStatus(VIN)) !== null, 'a case');
    // The held fetch retries on real-time back-off and fails each time: three failures in a row open the
    // circuit with no clock time passing, so no state timeout can fall due before it opens.
    await until(async () => loop.telematics.state === 'open', 'the circuit opens');
    expect(loop.telematics.held_fetches).toBe(1);
    // Ten state timeouts pass while the API is down: the case waits in polling_telemetry.
    const stateTimeout = loop.options.workflow.stateTimeoutMs;
    for (let i = 0; i < 10; i++) {
      clock.advance(stateTimeout);
      await new Promise((r) => setTimeout(r, 10));
    }
    const waiting = await loop.getWorkflowStatus(VIN);
    expect(waiting).toMatchObject({ state: 'polling_telemetry', error_count: 0, retry_count: 0 });
    down = false;
    await until(async () => loop.telematics.state === 'closed', 'the circuit closes');
    const resumed = await until(async () => {
      const st = await loop.getWorkflowStatus(VIN);
      return st && st.state !== 'polling_telemetry' ? st : null;
    }, 'the case resumes');
    expect(resumed.state_history.map((h) => h.to_state)).not.toContain('error');
    expect(resumed.error_count).toBe(0);
    const stats = await loop.getStatistics();
    expect(stats.failed_workflows).toBe(0);
  });

  it('gives work taken back after a restart its full time (issue 7: a taken-back fetch timed out at once)', async () => {
    const leaseMs = 600 * SECOND;
    // The first process claims the case's fetch and dies with it in flight.
    const { clock, bus } = setup(
      {
        fetchPage: async () => fleetPage(),
        fetchHistory: () => new Promise<never>(() => undefined),
      },
      { leaseMs },
    );
    await loop.start();
    await until(async () => (await loop.getWorkflowStatus(VIN))?.state === 'polling_telemetry', 'a fetch in flight');
    await loop.stop();
    // It restarts just before the case's state timeout: the fetch is taken back once its lease expires.
    clock.advance(loop.options.workflow.stateTimeoutMs - SECOND);
    let fetched = 0;
    loop = newLoop(
      {
        fetchPage: async () => ({ vehicles: [], next_cursor: null }),
        fetchHistory: async () => {
          fetched += 1;
          return [];
        },
      },
      clock,
      bus,
      { leaseMs },
    );
    let polls = 0;
    loop.events.on('event', (e) => {
      if (e.type === 'poll') polls += 1;
    });
    await loop.start();
    // The old deadline passes while the lease still holds the fetch: ticks run (each polls first), and
    // the case must still be waiting, not in error.
    for (let i = 1; i <= 3; i++) {
      clock.advance(60 * SECOND);
      await until(async () => polls >= i, `tick ${i}`);
    }
    expect(await loop.getWorkflowStatus(VIN)).toMatchObject({ state: 'polling_telemetry', error_count: 0 });
    clock.advance(leaseMs);
    await until(async () => fetched === 1, 'the fetch taken back');
    const st = await until(async () => {
      const s = await loop.getWorkflowStatus(VIN);
      return s && s.state !== 'polling_telemetry' ? s : null;
    }, 'the case moves on');
    expect(st.state_history.map((h) => h.to_state)).not.toContain('error');
    expect(st.error_count).toBe(0);
  });
});
