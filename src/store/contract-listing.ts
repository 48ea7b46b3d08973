/** The listing part of the Store contract: paging with cursors and filters. Run by `storeContract`. */
import { beforeEach, describe, expect, it } from 'vitest';
import type { Workflow } from '../core/workflow.js';
import { isInvalidCursor } from './errors.js';
import type { Store } from './port.js';
import { T0, decision, next, opened, vinOf } from './contract-fixtures.js';

/** `getStore` returns the store of the running test (set up and migrated by the caller's beforeEach). */
export function listingContract(getStore: () => Store): void {
  describe('listing workflows', () => {
    let store: Store;
    beforeEach(() => {
      store = getStore();
    });

    async function seed(count: number): Promise<Workflow[]> {
      const batch = [];
      const all: Workflow[] = [];
      for (let n = 0; n < count; n++) {
        // Several share a created_at, so the tie-break on correlation id is exercised.
        const wf = opened(vinOf(n), T0 + Math.floor(n / 4), {
          urgency: n % 2 === 0 ? 'high' : 'low',
          state: n % 5 === 0 ? 'completed' : 'polling_telemetry',
        });
        batch.push(decision(null, wf));
        all.push(wf);
      }
      await store.commitDecisions(batch);
      return all;
    }

    async function collect(filter: Omit<Parameters<Store['listWorkflows']>[0], 'cursor' | 'limit'>, limit: number) {
      const ids: string[] = [];
      let cursor: string | undefined;
      for (let pages = 0; pages < 1000; pages++) {
        const page = await store.listWorkflows({ ...filter, limit, ...(cursor ? { cursor } : {}) });
        expect(page.items.length).toBeLessThanOrEqual(limit);
        ids.push(...page.items.map((w) => w.correlationId));
        if (page.nextCursor === null) return ids;
        cursor = page.nextCursor;
      }
      throw new Error('paging did not end');
    }

    it('pages through every workflow exactly once, newest first', async () => {
      const all = await seed(57);
      const ids = await collect({}, 10);
      expect(ids).toHaveLength(57);
      expect(new Set(ids).size).toBe(57);
      const first = await store.listWorkflows({ limit: 3 });
      expect(first.items[0]?.createdAt).toBe(Math.max(...all.map((w) => w.createdAt)));
      expect((await store.listWorkflows({ limit: 57 })).nextCursor).toBeNull();
    });

    it('filters by state and urgency while paging', async () => {
      const all = await seed(40);
      const expectIds = (pred: (w: Workflow) => boolean) =>
        all
          .filter(pred)
          .map((w) => w.correlationId)
          .sort();
      expect((await collect({ state: 'completed' }, 3)).sort()).toEqual(expectIds((w) => w.state === 'completed'));
      expect((await collect({ urgency: 'high' }, 7)).sort()).toEqual(expectIds((w) => w.urgency === 'high'));
      expect((await collect({ state: 'polling_telemetry', urgency: 'low' }, 4)).sort()).toEqual(
        expectIds((w) => w.state === 'polling_telemetry' && w.urgency === 'low'),
      );
    });

    it('keeps its place while workflows change between pages', async () => {
      const all = await seed(30);
      const page1 = await store.listWorkflows({ limit: 10 });
      const busy = all.filter((w) => w.state !== 'completed');
      await store.commitDecisions(busy.map((w) => decision(w, next(w, { state: 'analyzing_data', at: T0 + 1e6 }))));
      const seen = page1.items.map((w) => w.correlationId);
      let cursor = page1.nextCursor;
      while (cursor !== null) {
        const page = await store.listWorkflows({ limit: 10, cursor });
        seen.push(...page.items.map((w) => w.correlationId));
        cursor = page.nextCursor;
      }
      expect(seen.sort()).toEqual(all.map((w) => w.correlationId).sort());
    });

    it('rejects a cursor it did not issue', async () => {
      await seed(3);
      const err = await store.listWorkflows({ limit: 2, cursor: 'not-a-cursor' }).catch((e: unknown) => e);
      expect(isInvalidCursor(err)).toBe(true);
    });
  });
}
