/**
 * The behaviour every Store adapter must show (DESIGN §2): SQLite runs it now, PostgreSQL later.
 * Usage, in an adapter's test file: `storeContract('sqlite :memory:', async () => createSqliteStore(...))`.
 * `makeStore` may return a migrated or an empty store: each test calls `migrate()` (twice, as it must
 * be idempotent). `cleanup` runs after `close()`, for example to drop a test schema or file.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WORKFLOW_STATES, type TimerName, type Workflow } from '../core/workflow.js';
import { analysisMemoryContract } from './contract-analysis-memory.js';
import { labelsContract } from './contract-labels.js';
import { listingContract } from './contract-listing.js';
import { fencingContract } from './contract-fencing.js';
import { parkedContract } from './contract-parked.js';
import { partitionsContract } from './contract-partitions.js';
import { quarantineContract } from './contract-quarantine.js';
import { retentionContract } from './contract-retention.js';
import type { Store } from './port.js';
import { timerInboundId } from './timer-inbound.js';
import { T0, cidOf, decision, next, opened, outboxRow, vinOf } from './contract-fixtures.js';

export function storeContract(name: string, makeStore: () => Promise<Store>, cleanup?: () => Promise<void>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;

    beforeEach(async () => {
      store = await makeStore();
      await store.migrate();
      await store.migrate();
    });
    afterEach(async () => {
      await store.close();
      await cleanup?.();
    });

    async function open(n: number, at = T0 + n, over: Parameters<typeof opened>[2] = {}): Promise<Workflow> {
      const wf = opened(vinOf(n), at, over);
      expect(await store.commitDecisions([decision(null, wf)])).toEqual(['committed']);
      return wf;
    }

    describe('workflows and decisions', () => {
      it('stores a new workflow whole, with its transitions in order', async () => {
        const wf = await open(1);
        const later = next(wf, { state: 'analyzing_data', urgency: 'high' });
        const commit = decision(wf, later, {
          transitions: [
            { fromState: 'polling_telemetry', toState: 'error', timestamp: later.updatedAt, reason: 'first' },
            { fromState: 'error', toState: 'analyzing_data', timestamp: later.updatedAt, reason: 'second' },
          ],
        });
        expect(await store.commitDecisions([commit])).toEqual(['committed']);
        expect(await store.getWorkflow(wf.correlationId)).toEqual(later);
        expect((await store.getTransitions(wf.correlationId)).map((t) => t.reason)).toEqual([
          'idle -> polling_telemetry',
          'first',
          'second',
        ]);
        expect(await store.getWorkflow('workflow-missing')).toBeNull();
        expect(await store.getTransitions('workflow-missing')).toEqual([]);
        expect(await store.commitDecisions([])).toEqual([]);
      });

      it('refuses a decision made from a stale version and writes none of it', async () => {
        const wf = await open(1);
        const a = next(wf, { state: 'analyzing_data' });
        const b = next(wf, { state: 'error' });
        expect(await store.commitDecisions([decision(wf, a)])).toEqual(['committed']);
        const stale = decision(wf, b, {
          outbox: [outboxRow(b, 'stale')],
          timers: [{ kind: 'set', name: 'retry', dueAt: T0, seq: 1 }],
          counters: [{ counter: 'errors_encountered', by: 1 }],
          inboundId: 'msg-stale',
        });
        expect(await store.commitDecisions([stale])).toEqual(['conflict']);
        expect(await store.getWorkflow(wf.correlationId)).toEqual(a);
        expect(await store.getTransitions(wf.correlationId)).toHaveLength(2);
        expect(await store.claimOutbox(T0 + 1e9, 10, 1000)).toEqual([]);
        expect(await store.claimDueTimers(T0 + 1e9, 10, 1000)).toEqual([]);
        expect(await store.getCounters()).toEqual({});
        // The conflicting message was not consumed: re-deciding from the fresh version commits.
        const retried = decision(a, next(a, { state: 'error' }), { inboundId: 'msg-stale' });
        expect(await store.commitDecisions([retried])).toEqual(['committed']);
      });

      it('refuses to create a workflow whose id exists', async () => {
        const wf = await open(1);
        expect(await store.commitDecisions([decision(null, { ...wf, state: 'error' })])).toEqual(['conflict']);
        expect((await store.getWorkflow(wf.correlationId))?.state).toBe('polling_telemetry');
      });

      it('keeps at most one open workflow per VIN', async () => {
        const first = await open(1, T0);
        const second = opened(vinOf(1), T0 + 5000);
        expect(await store.commitDecisions([decision(null, second)])).toEqual(['conflict']);
        expect(await store.getCurrentWorkflow(vinOf(1))).toEqual(first);

        const closed = next(first, { state: 'completed' });
        expect(await store.commitDecisions([decision(first, closed)])).toEqual(['committed']);
        expect(await store.getCurrentWorkflow(vinOf(1))).toEqual(closed);
        expect(await store.commitDecisions([decision(null, second)])).toEqual(['committed']);
        expect(await store.getCurrentWorkflow(vinOf(1))).toEqual(second);

        const closedToo = next(second, { state: 'completed' });
        await store.commitDecisions([decision(second, closedToo)]);
        expect((await store.getCurrentWorkflow(vinOf(1)))?.correlationId).toBe(second.correlationId);
        expect(await store.getCurrentWorkflow(vinOf(2))).toBeNull();
      });

      it('writes nothing for an inbound id it has already processed, even within one batch', async () => {
        const wf = await open(1);
        const a = next(wf, { state: 'analyzing_data' });
        const parts = {
          inboundId: 'msg-1',
          outbox: [outboxRow(a, 'analyze')],
          counters: [{ counter: 'anomalies_detected' as const, by: 1 }],
        };
        const b = next(a, { state: 'error' });
        const outcomes = await store.commitDecisions([
          decision(wf, a, parts),
          decision(a, b, { inboundId: 'msg-1', outbox: [outboxRow(b, 'other')] }),
        ]);
        expect(outcomes).toEqual(['committed', 'duplicate']);
        expect(await store.commitDecisions([decision(a, b, { inboundId: 'msg-1' })])).toEqual(['duplicate']);
        expect(await store.getWorkflow(wf.correlationId)).toEqual(a);
        expect(await store.getTransitions(wf.correlationId)).toHaveLength(2);
        expect((await store.claimOutbox(T0 + 1e9, 10, 1000)).map((r) => r.key)).toEqual([
          `${wf.correlationId}:analyze`,
        ]);
        expect(await store.getCounters()).toEqual({ anomalies_detected: 1 });
      });

      it('commits a batch as if its decisions were committed one after another', async () => {
        const first = await open(1, T0);
        const closed = next(first, { state: 'completed' });
        const second = opened(vinOf(1), T0 + 5000);
        // Closing the open workflow, then opening the VIN's next one: both stand.
        expect(await store.commitDecisions([decision(first, closed), decision(null, second)])).toEqual([
          'committed',
          'committed',
        ]);
        // The other way round, the new one meets the VIN's open workflow and is refused.
        const third = opened(vinOf(1), T0 + 9000);
        const closedToo = next(second, { state: 'completed' });
        expect(await store.commitDecisions([decision(null, third), decision(second, closedToo)])).toEqual([
          'conflict',
          'committed',
        ]);
        // Two steps of one workflow in one batch: the second is made from the first's version.
        const other = await open(2);
        const a = next(other, { state: 'analyzing_data' });
        const b = next(a, { state: 'assessing_urgency' });
        const outcomes = await store.commitDecisions([
          decision(other, a, { timers: [{ kind: 'set', name: 'state_timeout', dueAt: T0 + 10, seq: 1 }] }),
          decision(a, b, {
            firedTimer: { name: 'state_timeout', seq: 1 },
            timers: [{ kind: 'set', name: 'retry', dueAt: T0 + 20, seq: 2 }],
          }),
        ]);
        expect(outcomes).toEqual(['committed', 'committed']);
        expect(await store.getWorkflow(other.correlationId)).toEqual(b);
        expect((await store.getTransitions(other.correlationId)).map((t) => t.toState)).toEqual([
          'polling_telemetry',
          'analyzing_data',
          'assessing_urgency',
        ]);
        expect((await store.claimDueTimers(T0 + 1e9, 10, 50)).map((t) => t.name)).toEqual(['retry']);
      });

      it('a conflicting decision in a batch does not roll back the others', async () => {
        const [w1, w2, w3] = [await open(1), await open(2), await open(3)];
        const n1 = next(w1, { state: 'analyzing_data' });
        const n3 = next(w3, { state: 'analyzing_data' });
        const outcomes = await store.commitDecisions([
          decision(w1, n1, { outbox: [outboxRow(n1, 'a')], inboundId: 'in-1' }),
          decision({ ...w2, version: 7 }, next({ ...w2, version: 7 }), {
            outbox: [outboxRow(w2, 'b')],
            inboundId: 'in-2',
          }),
          decision(w3, n3, { outbox: [outboxRow(n3, 'c')], inboundId: 'in-3' }),
        ]);
        expect(outcomes).toEqual(['committed', 'conflict', 'committed']);
        expect(await store.getWorkflow(w1.correlationId)).toEqual(n1);
        expect(await store.getWorkflow(w2.correlationId)).toEqual(w2);
        expect(await store.getWorkflow(w3.correlationId)).toEqual(n3);
        const keys = (await store.claimOutbox(T0 + 1e9, 10, 1000)).map((r) => r.key).sort();
        expect(keys).toEqual([`${w1.correlationId}:a`, `${w3.correlationId}:c`]);
        expect(await store.commitDecisions([decision(w2, next(w2), { inboundId: 'in-2' })])).toEqual(['committed']);
      });

      it('returns the open workflows of many VINs, and only open ones', async () => {
        const vins: string[] = [];
        const batch = [];
        for (let n = 0; n < 1200; n++) {
          const wf = opened(vinOf(n), T0 + n, n % 3 === 0 ? { state: 'completed' } : {});
          batch.push(decision(null, wf));
          vins.push(wf.vin);
        }
        await store.commitDecisions(batch);
        const found = await store.getOpenWorkflows([...vins, vins[1] ?? '', vinOf(99_999)]);
        expect(found.size).toBe(800);
        expect(found.get(vinOf(1))?.correlationId).toBe(cidOf(vinOf(1), T0 + 1));
        expect(found.has(vinOf(0))).toBe(false);
        expect((await store.getOpenWorkflows([vinOf(2)])).size).toBe(1);
        expect((await store.getOpenWorkflows([])).size).toBe(0);
      });

      it('counts workflows in every state, zero where there are none', async () => {
        await open(1);
        await open(2);
        await open(3, T0, { state: 'completed' });
        const counts = await store.countWorkflowsByState();
        expect(Object.keys(counts).sort()).toEqual([...WORKFLOW_STATES].sort());
        expect(counts.polling_telemetry).toBe(2);
        expect(counts.completed).toBe(1);
        expect(counts.idle).toBe(0);
      });
    });

    listingContract(() => store);
    retentionContract(() => store);
    labelsContract(() => store);
    quarantineContract(() => store);
    partitionsContract(() => store);
    analysisMemoryContract(() => store);
    parkedContract(() => store);
    fencingContract(() => store);

    describe('outbox', () => {
      it('never enqueues the same effect key twice', async () => {
        const wf = await open(1);
        const a = next(wf);
        const b = next(a);
        await store.commitDecisions([decision(wf, a, { outbox: [outboxRow(a, 'notify')] })]);
        await store.commitDecisions([decision(a, b, { outbox: [outboxRow(b, 'notify'), outboxRow(b, 'other')] })]);
        const claimed = await store.claimOutbox(T0 + 1e9, 10, 1000);
        expect(claimed.map((r) => r.key).sort()).toEqual([`${wf.correlationId}:notify`, `${wf.correlationId}:other`]);
        expect(claimed.find((r) => r.key.endsWith('notify'))?.createdAt).toBe(a.updatedAt);
      });

      it('hands out the most urgent rows first, leases them, and stops after markSent', async () => {
        const wf = await open(1);
        const a = next(wf);
        const rows = [
          outboxRow(a, 'low-old', { priority: 1, createdAt: T0 }),
          outboxRow(a, 'crit-new', { priority: 4, createdAt: T0 + 50, causationId: 'cause-1' }),
          outboxRow(a, 'high-old', { priority: 3, createdAt: T0 + 10 }),
          outboxRow(a, 'crit-old', { priority: 4, createdAt: T0 + 20 }),
          outboxRow(a, 'high-new', { priority: 3, createdAt: T0 + 30 }),
        ];
        await store.commitDecisions([decision(wf, a, { outbox: rows })]);
        const now = T0 + 100;
        const first = await store.claimOutbox(now, 3, 1000);
        expect(first.map((r) => r.key.split(':').pop())).toEqual(['crit-old', 'crit-new', 'high-old']);
        expect(first[1]).toEqual(rows[1]);
        const second = await store.claimOutbox(now, 10, 1000);
        expect(second.map((r) => r.key.split(':').pop())).toEqual(['high-new', 'low-old']);
        expect(await store.claimOutbox(now + 999, 10, 1000)).toEqual([]);

        await store.markSent(
          first.map((r) => r.messageId),
          now + 500,
        );
        const again = await store.claimOutbox(now + 1000, 10, 1000);
        expect(again.map((r) => r.key.split(':').pop())).toEqual(['high-new', 'low-old']);
        await store.markSent(
          again.map((r) => r.messageId),
          now + 1000,
        );
        expect(await store.claimOutbox(now + 1e9, 10, 1000)).toEqual([]);
        await store.markSent([], now);
      });
    });

    describe('timers', () => {
      it('sets, replaces, claims when due, leases, clears and deletes timers', async () => {
        const wf = await open(1);
        const a = next(wf);
        await store.commitDecisions([
          decision(wf, a, {
            timers: [
              { kind: 'set', name: 'state_timeout', dueAt: T0 + 300, seq: 1 },
              { kind: 'set', name: 'retry', dueAt: T0 + 100, seq: 1 },
              { kind: 'set', name: 'state_timeout', dueAt: T0 + 200, seq: 2 },
            ],
          }),
        ]);
        expect(await store.claimDueTimers(T0 + 99, 10, 50)).toEqual([]);
        const due = await store.claimDueTimers(T0 + 250, 10, 50);
        expect(due).toEqual([
          { correlationId: wf.correlationId, vin: wf.vin, name: 'retry', dueAt: T0 + 100, seq: 1 },
          { correlationId: wf.correlationId, vin: wf.vin, name: 'state_timeout', dueAt: T0 + 200, seq: 2 },
        ]);
        expect(await store.claimDueTimers(T0 + 299, 10, 50)).toEqual([]);
        expect((await store.claimDueTimers(T0 + 300, 1, 50)).map((t) => t.name)).toEqual(['retry']);

        await store.deleteTimer(wf.correlationId, 'retry', 1);
        expect((await store.claimDueTimers(T0 + 1000, 10, 50)).map((t) => t.name)).toEqual(['state_timeout']);

        const b = next(a);
        await store.commitDecisions([
          decision(a, b, { timers: [{ kind: 'clear' }, { kind: 'set', name: 'retry', dueAt: T0 + 5000, seq: 3 }] }),
        ]);
        expect(await store.claimDueTimers(T0 + 1e9, 10, 50)).toEqual([
          { correlationId: wf.correlationId, vin: wf.vin, name: 'retry', dueAt: T0 + 5000, seq: 3 },
        ]);
      });

      it('deletes a timer that fired without effect only if its seq still matches', async () => {
        const wf = await open(1);
        const a = next(wf);
        await store.commitDecisions([
          decision(wf, a, { timers: [{ kind: 'set', name: 'state_timeout', dueAt: T0 + 100, seq: 1 }] }),
        ]);
        const [stale] = await store.claimDueTimers(T0 + 100, 10, 50);
        expect(stale?.seq).toBe(1);
        // Between the claim and the delete, a decision sets the same timer again with a newer seq.
        const b = next(a);
        await store.commitDecisions([
          decision(a, b, { timers: [{ kind: 'set', name: 'state_timeout', dueAt: T0 + 900, seq: 2 }] }),
        ]);
        await store.deleteTimer(wf.correlationId, 'state_timeout', 1);
        expect(await store.claimDueTimers(T0 + 1000, 10, 50)).toEqual([
          { correlationId: wf.correlationId, vin: wf.vin, name: 'state_timeout', dueAt: T0 + 900, seq: 2 },
        ]);
        await store.deleteTimer(wf.correlationId, 'state_timeout', 2);
        expect(await store.claimDueTimers(T0 + 1e9, 10, 50)).toEqual([]);
      });

      it('deletes the timer that caused a decision, only if its seq matches, before the decision re-sets it', async () => {
        const wf = await open(1);
        const a = next(wf);
        await store.commitDecisions([
          decision(wf, a, {
            timers: [
              { kind: 'set', name: 'response_deadline', dueAt: T0 + 100, seq: 4 },
              { kind: 'set', name: 'state_timeout', dueAt: T0 + 100, seq: 4 },
            ],
          }),
        ]);
        const cid = wf.correlationId;
        const firing = (name: TimerName, seq: number, dueAt = T0 + 100) => ({
          inboundId: timerInboundId({ correlationId: cid, name, seq, dueAt }),
          firedTimer: { name, seq },
        });
        const b = next(a);
        // A reminder: fired response_deadline seq 4, re-set under the same name and seq.
        const reminder = decision(a, b, {
          ...firing('response_deadline', 4),
          timers: [{ kind: 'set', name: 'response_deadline', dueAt: T0 + 900, seq: 4 }],
        });
        expect(await store.commitDecisions([reminder])).toEqual(['committed']);
        const c = next(b);
        const staleFire = decision(b, c, firing('state_timeout', 3));
        expect(await store.commitDecisions([staleFire])).toEqual(['committed']);
        expect((await store.claimDueTimers(T0 + 1e9, 10, 50)).map((t) => [t.name, t.dueAt])).toEqual([
          ['state_timeout', T0 + 100],
          ['response_deadline', T0 + 900],
        ]);
        // A refused decision leaves its timer: it is claimed again once its lease ends.
        const refused = decision(a, next(a), firing('state_timeout', 4));
        expect(await store.commitDecisions([refused])).toEqual(['conflict']);
        expect((await store.claimDueTimers(T0 + 2e9, 10, 50)).map((t) => t.name)).toEqual(['state_timeout', 'response_deadline']);
        const d = next(c);
        const fired = decision(c, d, firing('state_timeout', 4));
        expect(await store.commitDecisions([fired])).toEqual(['committed']);
        expect((await store.claimDueTimers(T0 + 3e9, 10, 50)).map((t) => t.name)).toEqual(['response_deadline']);
        // The timer is named by the commit, not read from the inbound id: a decision that names none deletes none.
        const e = next(d);
        await store.commitDecisions([
          decision(d, e, { timers: [{ kind: 'set', name: 'retry', dueAt: T0 + 100, seq: 5 }] }),
        ]);
        await store.commitDecisions([
          decision(e, next(e), { inboundId: timerInboundId({ correlationId: cid, name: 'retry', seq: 5, dueAt: T0 + 100 }) }),
        ]);
        expect((await store.claimDueTimers(T0 + 4e9, 10, 50)).map((t) => t.name)).toEqual(['retry', 'response_deadline']);
      });

      it('a clear in the decision a timer caused deletes every timer of the workflow, then its sets stand', async () => {
        const wf = await open(1);
        const a = next(wf);
        await store.commitDecisions([
          decision(wf, a, {
            timers: [
              { kind: 'set', name: 'response_deadline', dueAt: T0 + 100, seq: 1 },
              { kind: 'set', name: 'state_timeout', dueAt: T0 + 200, seq: 1 },
            ],
          }),
        ]);
        const b = next(a, { state: 'engaging_customer' });
        await store.commitDecisions([
          decision(a, b, {
            firedTimer: { name: 'response_deadline', seq: 1 },
            timers: [
              { kind: 'set', name: 'retry', dueAt: T0 + 300, seq: 2 },
              { kind: 'clear' },
              { kind: 'set', name: 'state_timeout', dueAt: T0 + 400, seq: 2 },
              { kind: 'set', name: 'state_timeout', dueAt: T0 + 500, seq: 3 },
            ],
          }),
        ]);
        expect(await store.claimDueTimers(T0 + 1e9, 10, 50)).toEqual([
          { correlationId: wf.correlationId, vin: wf.vin, name: 'state_timeout', dueAt: T0 + 500, seq: 3 },
        ]);
      });

      it('postpones the named timers of workflows in the given states that are due before the new time', async () => {
        const polling = await open(1);
        const engaging = await open(2, T0 + 2, { state: 'engaging_customer' });
        await store.commitDecisions([
          decision(polling, next(polling), {
            timers: [
              { kind: 'set', name: 'state_timeout', dueAt: T0 + 100, seq: 1 },
              { kind: 'set', name: 'retry', dueAt: T0 + 100, seq: 1 },
            ],
          }),
          decision(engaging, next(engaging), {
            timers: [{ kind: 'set', name: 'state_timeout', dueAt: T0 + 100, seq: 1 }],
          }),
        ]);
        expect(await store.postponeTimers('state_timeout', ['polling_telemetry', 'scheduling_service'], T0 + 500)).toBe(1);
        // Only earlier timers move: one already due later keeps its time.
        expect(await store.postponeTimers('state_timeout', ['polling_telemetry'], T0 + 400)).toBe(0);
        expect(await store.postponeTimers('state_timeout', [], T0 + 900)).toBe(0);
        const due = await store.claimDueTimers(T0 + 1000, 10, 50);
        expect(due.map((t) => [t.vin, t.name, t.dueAt, t.seq]).sort()).toEqual([
          [polling.vin, 'retry', T0 + 100, 1],
          [polling.vin, 'state_timeout', T0 + 500, 1],
          [engaging.vin, 'state_timeout', T0 + 100, 1],
        ]);
      });
    });

    describe('vehicles', () => {
      it('schedules new vehicles now, keeps known ones on schedule, and claims the oldest due first', async () => {
        await store.upsertVehicles([{ vin: vinOf(2), lastSampleAt: null }], T0 + 10);
        await store.upsertVehicles(
          [
            { vin: vinOf(1), lastSampleAt: T0 },
            { vin: vinOf(3), lastSampleAt: T0 },
          ],
          T0,
        );
        await store.upsertVehicles([{ vin: vinOf(2), lastSampleAt: T0 + 20 }], T0 + 20);
        await store.upsertVehicles([], T0 + 20);
        expect(await store.countVehicles()).toBe(3);

        expect(await store.claimDueVehicles(T0 + 5, 10, T0 + 3600)).toEqual([vinOf(1), vinOf(3)]);
        expect(await store.claimDueVehicles(T0 + 5, 10, T0 + 3600)).toEqual([]);
        expect(await store.claimDueVehicles(T0 + 3600, 2, T0 + 7200)).toEqual([vinOf(2), vinOf(1)]);
        expect(await store.claimDueVehicles(T0 + 3600, 10, T0 + 7200)).toEqual([vinOf(3)]);
        expect(await store.claimDueVehicles(T0 + 3600, 0, T0 + 7200)).toEqual([]);
      });
    });

    describe('counters and meta', () => {
      it('adds counters from decisions and from outside them', async () => {
        expect(await store.getCounters()).toEqual({});
        const wf = opened(vinOf(1), T0);
        await store.commitDecisions([decision(null, wf, { counters: [{ counter: 'customers_engaged', by: 2 }] })]);
        await store.incrementCounters({ customers_engaged: 3, telemetry_rejected: 1 });
        await store.incrementCounters({ telemetry_rejected: 4 });
        expect(await store.getCounters()).toEqual({ customers_engaged: 5, telemetry_rejected: 5 });
      });

      it('reads and overwrites meta values', async () => {
        expect(await store.getMeta('fleet.cursor')).toBeNull();
        await store.setMeta('fleet.cursor', 'abc');
        await store.setMeta('fleet.cursor', 'def');
        expect(await store.getMeta('fleet.cursor')).toBe('def');
      });
    });
  });
}
