/**
 * The Store contract for what keeps a long-running store small: the latest part of a workflow's
 * history, and the purge of sent outbox rows and old inbox ids. Run by `storeContract`.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { Workflow } from '../core/workflow.js';
import { isStoreArgumentError } from './errors.js';
import type { Store } from './port.js';
import { T0, decision, next, opened, outboxRow, vinOf } from './contract-fixtures.js';

/** `getStore` returns the store of the running test (set up and migrated by the caller's beforeEach). */
export function retentionContract(getStore: () => Store): void {
  let store: Store;
  beforeEach(() => {
    store = getStore();
  });

  /** A workflow with `extra` decisions after its opening one, each writing one transition `step n`. */
  async function withHistory(n: number, extra: number): Promise<Workflow> {
    let wf = opened(vinOf(n), T0);
    await store.commitDecisions([decision(null, wf)]);
    for (let i = 1; i <= extra; i++) {
      const after = next(wf, { state: i % 2 === 0 ? 'idle' : 'polling_telemetry' });
      const reason = `step ${i}`;
      const t = { fromState: wf.state, toState: after.state, timestamp: after.updatedAt, reason };
      expect(await store.commitDecisions([decision(wf, after, { transitions: [t] })])).toEqual(['committed']);
      wf = after;
    }
    return wf;
  }

  describe('workflow history', () => {
    it('returns the most recent transitions, oldest first, and counts them all', async () => {
      const wf = await withHistory(1, 4);
      const other = await withHistory(2, 2);
      const cid = wf.correlationId;
      expect((await store.getTransitions(cid, { limit: 2 })).map((t) => t.reason)).toEqual(['step 3', 'step 4']);
      expect((await store.getTransitions(cid, { limit: 1 })).map((t) => t.reason)).toEqual(['step 4']);
      const all = await store.getTransitions(cid);
      expect(all).toHaveLength(5);
      expect(await store.getTransitions(cid, { limit: 50 })).toEqual(all);
      expect(await store.getTransitions(cid, {})).toEqual(all);
      expect(await store.countTransitions(cid)).toBe(5);
      expect(await store.countTransitions(other.correlationId)).toBe(3);
      expect(await store.countTransitions('workflow-missing')).toBe(0);
      expect(await store.getTransitions('workflow-missing', { limit: 3 })).toEqual([]);
    });

    it('refuses a limit below 1', async () => {
      const wf = await withHistory(1, 1);
      for (const limit of [0, -1, 1.5]) {
        const err = await store.getTransitions(wf.correlationId, { limit }).catch((e: unknown) => e);
        expect(isStoreArgumentError(err)).toBe(true);
      }
    });
  });

  describe('purge', () => {
    it('deletes outbox rows sent before the cut-off, never unsent ones', async () => {
      const wf = opened(vinOf(1), T0);
      await store.commitDecisions([decision(null, wf)]);
      const a = next(wf);
      const rows = ['sent-10', 'sent-20', 'sent-30', 'unsent'].map((k) => outboxRow(a, k, { createdAt: T0 }));
      await store.commitDecisions([decision(wf, a, { outbox: rows })]);
      const claimed = await store.claimOutbox(T0, 10, 1);
      expect(claimed).toHaveLength(4);
      for (const [i, at] of [T0 + 10, T0 + 20, T0 + 30].entries()) await store.markSent([rows[i]?.messageId ?? ''], at);

      expect(await store.purge(T0 + 25)).toEqual({ outbox: 2, inbox: 0 });
      expect(await store.purge(T0 + 25)).toEqual({ outbox: 0, inbox: 0 });
      expect(await store.purge(T0 + 31)).toEqual({ outbox: 1, inbox: 0 });
      expect(await store.purge(T0 + 1e12)).toEqual({ outbox: 0, inbox: 0 });
      expect((await store.claimOutbox(T0 + 1000, 10, 1)).map((r) => r.key)).toEqual([`${wf.correlationId}:unsent`]);
    });

    it('forgets inbox ids processed before the cut-off and keeps the newer ones', async () => {
      const wfs = [0, 1, 2].map((n) => opened(vinOf(n), T0 + n * 1000));
      expect(await store.commitDecisions(wfs.map((w, n) => decision(null, w, { inboundId: `in-${n}` })))).toEqual([
        'committed',
        'committed',
        'committed',
      ]);
      expect(await store.purge(T0 + 1500)).toEqual({ outbox: 0, inbox: 2 });
      const [w0, , w2] = wfs as [Workflow, Workflow, Workflow];
      // A forgotten id is no longer recognised; a kept one still is.
      expect(await store.commitDecisions([decision(w2, next(w2), { inboundId: 'in-2' })])).toEqual(['duplicate']);
      expect(await store.commitDecisions([decision(w0, next(w0), { inboundId: 'in-0' })])).toEqual(['committed']);
    });

    it('purges more rows than one chunk and reports them all', async () => {
      const count = 2500;
      const wfs = Array.from({ length: count }, (_, n) => opened(vinOf(n), T0));
      await store.commitDecisions(wfs.map((w, n) => decision(null, w, { inboundId: `bulk-${n}` })));
      const first = wfs[0] as Workflow;
      const a = next(first);
      const rows = Array.from({ length: count }, (_, n) => outboxRow(a, `bulk-${n}`));
      await store.commitDecisions([decision(first, a, { outbox: rows })]);
      await store.markSent(
        rows.map((r) => r.messageId),
        T0 + 5000,
      );
      expect(await store.purge(T0 + 5001)).toEqual({ outbox: count, inbox: count });
      expect(await store.purge(T0 + 5001)).toEqual({ outbox: 0, inbox: 0 });
    });
  });
}
