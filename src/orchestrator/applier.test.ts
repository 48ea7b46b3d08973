import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../clock/clocks.js';
import { CHANNELS, AGENTS } from '../core/envelope.js';
import { CID as CASE_CID, VIN as CASE_VIN, reach, sample, serviced } from '../core/testing/fixtures.js';
import type { ServiceLabel } from '../core/payloads.js';
import { DEFAULT_WORKFLOW_CONFIG, newWorkflow, type Decision, type WorkflowEvent } from '../core/workflow.js';
import { createSqliteStore } from '../store/index.js';
import { partitionOf } from '../store/partition.js';
import type { DecisionCommit, Store } from '../store/port.js';
import { DecisionApplier, INTERNAL_FETCH_CHANNEL, commitOf, type ApplyResult } from './applier.js';

const T0 = Date.parse('2026-05-04T08:00:00Z');
const vinOf = (n: number): string => `1HGCM826${String(n).padStart(9, '0')}`;
const CYCLE: WorkflowEvent = { type: 'cycle_started' };
const TELEMETRY: WorkflowEvent = { type: 'telemetry_received', samples: [sample(T0 - 60_000)] };

const dir = mkdtempSync(join(tmpdir(), 'pitwall-applier-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const stores: Store[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  vi.restoreAllMocks();
});

async function openStore(path = ':memory:'): Promise<Store> {
  const store = createSqliteStore({ path });
  stores.push(store);
  await store.migrate();
  return store;
}

function applierOn(store: Store, clock = new ManualClock(T0)): DecisionApplier {
  return new DecisionApplier(store, clock, DEFAULT_WORKFLOW_CONFIG);
}

function applied(r: ApplyResult): Extract<ApplyResult, { status: 'applied' }> {
  if (r.status !== 'applied') throw new Error(`expected applied, got ${JSON.stringify(r)}`);
  return r;
}

/** The batches the store was asked to commit, as the VINs in each. */
function batchesOf(spy: { mock: { calls: [DecisionCommit[]][] } }): string[][] {
  return spy.mock.calls.map(([batch]) => batch.map((d) => d.workflow.vin));
}

describe('DecisionApplier group commit', () => {
  it('commits the decisions of different VINs made in the same tick in one store call', async () => {
    const store = await openStore();
    const spy = vi.spyOn(store, 'commitDecisions');
    const applier = applierOn(store);
    const vins = [1, 2, 3, 4, 5].map(vinOf);
    const results = await Promise.all(vins.map((vin) => applier.apply({ vin, createIfMissing: true }, CYCLE)));
    expect(results.map((r) => applied(r).decision.workflow.state)).toEqual(vins.map(() => 'polling_telemetry'));
    expect(batchesOf(spy)).toEqual([vins]);
    for (const vin of vins) expect((await store.getCurrentWorkflow(vin))?.state).toBe('polling_telemetry');
  });

  it('runs the calls for one VIN one after another, each deciding on what the previous one wrote', async () => {
    const store = await openStore();
    const spy = vi.spyOn(store, 'commitDecisions');
    const applier = applierOn(store);
    const [vin, other] = [vinOf(1), vinOf(2)];
    const [first, second, third] = await Promise.all([
      applier.apply({ vin, createIfMissing: true }, CYCLE),
      applier.apply({ vin }, TELEMETRY),
      applier.apply({ vin: other, createIfMissing: true }, CYCLE),
    ]);
    expect(applied(first!).decision.workflow.state).toBe('polling_telemetry');
    // Had it been decided in the first batch, it would have found no workflow for the VIN.
    expect(applied(second!).previous.state).toBe('polling_telemetry');
    expect(applied(second!).decision.workflow.state).toBe('analyzing_data');
    expect(applied(third!).decision.workflow.state).toBe('polling_telemetry');
    expect(batchesOf(spy)).toEqual([[vin, other], [vin]]);
    expect((await store.getCurrentWorkflow(vin))?.version).toBe(2);
  });

  it('decides again when another process moved the workflow on (two appliers, one SQLite file)', async () => {
    const path = join(dir, 'conflict.db');
    const [storeA, storeB] = [await openStore(path), await openStore(path)];
    const [a, b] = [applierOn(storeA), applierOn(storeB)];
    const vin = vinOf(1);
    applied(await a.apply({ vin, createIfMissing: true }, CYCLE));

    // B loads the workflow, then A commits its event before B gets to commit: B's version is stale.
    let aDone: Promise<ApplyResult> | undefined;
    const load = storeB.getOpenWorkflows.bind(storeB);
    vi.spyOn(storeB, 'getOpenWorkflows').mockImplementationOnce(async (vins) => {
      const loaded = await load(vins);
      aDone = a.apply({ vin }, TELEMETRY);
      await aDone;
      return loaded;
    });
    const commitB = vi.spyOn(storeB, 'commitDecisions');
    const bResult = applied(await b.apply({ vin }, CYCLE));
    const aResult = applied(await aDone!);

    const outcomes = await Promise.all(commitB.mock.results.map((r) => r.value as Promise<string[]>));
    expect(outcomes).toEqual([['conflict'], ['committed']]);
    expect(aResult.decision.workflow.state).toBe('analyzing_data');
    expect(bResult.previous.version).toBe(aResult.decision.workflow.version);
    const final = await storeA.getCurrentWorkflow(vin);
    expect(final?.state).toBe('analyzing_data');
    expect(final?.version).toBe(3);
    expect(await storeA.countTransitions(final?.correlationId ?? '')).toBe(2);
  });

  it('reports a message it has applied before as a duplicate and writes nothing', async () => {
    const store = await openStore();
    const applier = applierOn(store);
    const vin = vinOf(1);
    applied(await applier.apply({ vin, createIfMissing: true }, CYCLE));
    const meta = { inboundId: 'msg-1', causationId: 'msg-1' };
    const first = applied(await applier.apply({ vin }, TELEMETRY, meta));
    expect(await applier.apply({ vin }, TELEMETRY, meta)).toEqual({ status: 'duplicate' });
    expect(await store.getCurrentWorkflow(vin)).toEqual(first.decision.workflow);
  });

  it('falls back to one commit per decision when the batch commit throws, so only the bad one fails', async () => {
    const store = await openStore();
    const commit = store.commitDecisions.bind(store);
    const bad = vinOf(2);
    const spy = vi.spyOn(store, 'commitDecisions').mockImplementation(async (batch) => {
      if (batch.some((d) => d.workflow.vin === bad)) throw new Error('disk I/O error');
      return commit(batch);
    });
    const applier = applierOn(store);
    const vins = [1, 2, 3].map(vinOf);
    const results = await Promise.allSettled(vins.map((vin) => applier.apply({ vin, createIfMissing: true }, CYCLE)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toEqual(new Error('disk I/O error'));
    expect(batchesOf(spy)).toEqual([vins, [vins[0]], [bad], [vins[2]]]);
    expect(await store.getCurrentWorkflow(vinOf(1))).not.toBeNull();
    expect(await store.getCurrentWorkflow(bad)).toBeNull();
    expect(await store.getCurrentWorkflow(vinOf(3))).not.toBeNull();
  });
});

describe('commitOf', () => {
  const previous = { ...newWorkflow(vinOf(1), 'workflow-1', T0), version: 4 };
  const after = { ...previous, version: 5, updatedAt: T0 + 1000 };
  let ids = 0;
  const newId = (): string => `id-${++ids}`;

  it('keeps durable publishes and telemetry fetches (with since) in the outbox, and nothing else', () => {
    const decision: Decision = {
      workflow: after,
      transitions: [{ fromState: 'idle', toState: 'polling_telemetry', timestamp: T0 + 1000, reason: 'cycle' }],
      effects: [
        {
          kind: 'publish',
          channel: CHANNELS.analysisRequest,
          messageType: 'analysis_request',
          receiver: AGENTS.dataAnalysis,
          priority: 2,
          payload: { bulky: true },
          key: 'workflow-1:analysis',
          durable: false,
        },
        {
          kind: 'publish',
          channel: CHANNELS.engagementRequest,
          messageType: 'engagement_request',
          receiver: AGENTS.customerEngagement,
          priority: 3,
          payload: { attempt: 1 },
          key: 'workflow-1:engage:1',
        },
        { kind: 'fetch_telemetry', vin: previous.vin, key: 'workflow-1:poll:1', since: T0 - 5000 },
        { kind: 'fetch_telemetry', vin: previous.vin, key: 'workflow-1:update:1', since: null },
        { kind: 'clear_timers' },
        { kind: 'set_timer', name: 'state_timeout', dueAt: T0 + 300_000, seq: 2 },
        { kind: 'count', counter: 'customers_engaged', by: 1 },
      ],
    };
    const commit = commitOf(previous, decision, T0 + 1000, { inboundId: 'msg-9', causationId: 'msg-9' }, newId);
    expect(commit.expectedVersion).toBe(4);
    expect(commit.inboundId).toBe('msg-9');
    expect(commit.transitions).toBe(decision.transitions);
    expect(commit.outbox.map((o) => [o.key, o.channel, o.payload])).toEqual([
      ['workflow-1:engage:1', CHANNELS.engagementRequest, { attempt: 1 }],
      ['workflow-1:poll:1', INTERNAL_FETCH_CHANNEL, { vin: previous.vin, since: T0 - 5000 }],
      ['workflow-1:update:1', INTERNAL_FETCH_CHANNEL, { vin: previous.vin, since: null }],
    ]);
    expect(new Set(commit.outbox.map((o) => o.messageId)).size).toBe(3);
    expect(commit.outbox.every((o) => o.causationId === 'msg-9' && o.createdAt === T0 + 1000)).toBe(true);
    expect(commit.timers).toEqual([
      { kind: 'clear' },
      { kind: 'set', name: 'state_timeout', dueAt: T0 + 300_000, seq: 2 },
    ]);
    expect(commit.counters).toEqual([{ counter: 'customers_engaged', by: 1 }]);
    expect(commit).not.toHaveProperty('analysisMemory');
    const remembered = commitOf(previous, decision, T0 + 1000, { analysisMemory: 'h1.layout.state' }, newId);
    expect(remembered.analysisMemory).toBe('h1.layout.state');
  });

  it('leaves the inbound id out when the decision has no cause, and writes no outbox row for an analysis request', async () => {
    const store = await openStore();
    const spy = vi.spyOn(store, 'commitDecisions');
    const applier = applierOn(store);
    const vin = vinOf(1);
    applied(await applier.apply({ vin, createIfMissing: true }, CYCLE));
    const r = applied(await applier.apply({ vin }, TELEMETRY));
    expect(r.decision.effects.some((e) => e.kind === 'publish' && e.durable === false)).toBe(true);
    const [, [second]] = spy.mock.calls.map(([batch]) => batch) as [DecisionCommit[], DecisionCommit[]];
    expect(second).not.toHaveProperty('inboundId');
    expect(second?.outbox).toEqual([]);
  });

  it('turns record_labels effects into the commit’s labels, and adds no labels key without them', () => {
    const brakes: ServiceLabel = {
      correlation_id: 'workflow-1',
      vin: previous.vin,
      component: 'brakes',
      finding: 'confirmed',
      serviced_at: T0,
      predicted: { mode: 'pad_wear', probability: 0.9, days_to_failure: 3, analysed_at: T0 - 5000 },
    };
    const tyres: ServiceLabel = { ...brakes, component: 'tyres', finding: 'not_found', predicted: null };
    const decision: Decision = {
      workflow: after,
      transitions: [],
      effects: [
        { kind: 'record_labels', labels: [brakes] },
        { kind: 'count', counter: 'failures_prevented', by: 1 },
        { kind: 'record_labels', labels: [tyres] },
      ],
    };
    const commit = commitOf(previous, decision, T0 + 1000, {}, newId);
    expect(commit.labels).toEqual([brakes, tyres]);
    expect(commit.outbox).toEqual([]);
    expect(commit.counters).toEqual([{ counter: 'failures_prevented', by: 1 }]);
    const plain = commitOf(previous, { workflow: after, transitions: [], effects: [] }, T0 + 1000, {}, newId);
    expect(plain).not.toHaveProperty('labels');
  });
});

describe('DecisionApplier and service labels', () => {
  it('stores the findings of an applied service report as labels, once, in the decision’s commit', async () => {
    const store = await openStore();
    const awaiting = reach('awaiting_service');
    await store.commitDecisions([
      { workflow: awaiting, expectedVersion: 0, transitions: [], outbox: [], timers: [], counters: [] },
    ]);
    const spy = vi.spyOn(store, 'commitDecisions');
    const applier = applierOn(store);
    const meta = { inboundId: 'svc-msg-1', causationId: 'svc-msg-1' };
    const report = serviced('appt-1');
    const servicedAt = report.type === 'service_completed' ? Date.parse(report.report.completed_at) : NaN;
    const r = applied(await applier.apply({ vin: CASE_VIN, correlationId: CASE_CID }, report, meta));
    expect(r.decision.workflow.state).toBe('collecting_feedback');
    const [[commit]] = spy.mock.calls.map(([batch]) => batch) as [DecisionCommit[]];
    expect(commit?.labels?.map((l) => [l.component, l.finding])).toEqual([['cooling', 'confirmed']]);

    const { items } = await store.listLabels({ limit: 10 });
    expect(items).toEqual([
      {
        correlation_id: CASE_CID,
        vin: CASE_VIN,
        component: 'cooling',
        finding: 'confirmed',
        serviced_at: servicedAt,
        predicted: { mode: 'pump_failure', probability: 0.8, days_to_failure: 3, analysed_at: awaiting.analysedAt },
      },
    ]);
    // The scheduler retries its webhook: the case has moved past the report, which stores nothing more.
    expect(await applier.apply({ vin: CASE_VIN, correlationId: CASE_CID }, report, meta)).toMatchObject({
      status: 'ignored',
    });
    expect(await store.countLabels()).toEqual({ confirmed: 1, not_found: 0 });
  });
});

describe('DecisionApplier and VIN partitions', () => {
  it("decides only the vehicles whose partition its instance holds, and commits only under the partition's epoch", async () => {
    const store = await openStore();
    const [held, other] = [vinOf(1), vinOf(2)];
    const lease = await store.leasePartitions('a', T0, 60_000);
    let epochs = new Map(lease.partitions.map((p, i) => [p, lease.epochs[i]!] as const));
    const partitionEpoch = (vin: string) => (vin === other ? undefined : epochs.get(partitionOf(vin)));
    const spy = vi.spyOn(store, 'commitDecisions');
    const applier = new DecisionApplier(store, new ManualClock(T0), DEFAULT_WORKFLOW_CONFIG, { partitionEpoch });

    const [mine, notMine] = await Promise.all([
      applier.apply({ vin: held, createIfMissing: true }, CYCLE),
      applier.apply({ vin: other, createIfMissing: true }, CYCLE),
    ]);
    expect(applied(mine).decision.workflow.state).toBe('polling_telemetry');
    expect(notMine).toEqual({ status: 'fenced' });
    expect(batchesOf(spy)).toEqual([[held]]);
    expect(spy.mock.calls[0]![0][0]!.partitionEpoch).toBe(lease.epochs[0]);
    expect(await store.getCurrentWorkflow(other)).toBeNull();

    // Another instance takes the partitions over after this one's lease expired, unbeknown to it.
    await store.leasePartitions('b', T0 + 60_001, 60_000);
    expect(await applier.apply({ vin: held }, TELEMETRY, { inboundId: 'fetch:1' })).toEqual({ status: 'fenced' });
    expect((await store.getCurrentWorkflow(held))?.state).toBe('polling_telemetry');
    // Under the epoch it holds the partition with now, it decides again.
    const taken = await store.leasePartitions('b', T0 + 60_002, 60_000);
    epochs = new Map(taken.partitions.map((p, i) => [p, taken.epochs[i]!] as const));
    expect(applied(await applier.apply({ vin: held }, TELEMETRY, { inboundId: 'fetch:1' })).decision.workflow.state).toBe('analyzing_data');
  });
});
