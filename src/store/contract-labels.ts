/**
 * The Store contract for training labels: service findings written with the decision that accepts
 * the service report, at most once per (correlation_id, component), paged oldest first, and kept
 * through retention purges. Run by `storeContract`.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { ServiceLabel } from '../core/payloads.js';
import type { Workflow } from '../core/workflow.js';
import { isInvalidCursor, isStoreArgumentError } from './errors.js';
import type { Store } from './port.js';
import { T0, decision, next, opened, outboxRow, vinOf } from './contract-fixtures.js';

export function label(wf: Workflow, component: ServiceLabel['component'], over: Partial<ServiceLabel> = {}): ServiceLabel {
  return {
    correlation_id: wf.correlationId,
    vin: wf.vin,
    component,
    finding: 'confirmed',
    serviced_at: T0 + 3_600_000,
    predicted: { mode: 'pad_wear', probability: 0.875, days_to_failure: 4.5, analysed_at: T0 + 60_000 },
    ...over,
  };
}

/** `getStore` returns the store of the running test (set up and migrated by the caller's beforeEach). */
export function labelsContract(getStore: () => Store): void {
  describe('training labels', () => {
    let store: Store;
    beforeEach(() => {
      store = getStore();
    });

    async function open(n: number): Promise<Workflow> {
      const wf = opened(vinOf(n), T0 + n);
      expect(await store.commitDecisions([decision(null, wf)])).toEqual(['committed']);
      return wf;
    }

    async function all(query: { since?: number } = {}, limit = 1000): Promise<ServiceLabel[]> {
      const out: ServiceLabel[] = [];
      let cursor: string | undefined;
      for (let pages = 0; pages < 1000; pages++) {
        const page = await store.listLabels({ ...query, limit, ...(cursor ? { cursor } : {}) });
        expect(page.items.length).toBeLessThanOrEqual(limit);
        out.push(...page.items);
        if (page.nextCursor === null) return out;
        cursor = page.nextCursor;
      }
      throw new Error('paging did not end');
    }

    it('writes labels with the decision, whole, and counts them by finding', async () => {
      expect(await store.listLabels({ limit: 10 })).toEqual({ items: [], nextCursor: null });
      expect(await store.countLabels()).toEqual({ confirmed: 0, not_found: 0 });
      const wf = await open(1);
      const done = next(wf, { state: 'collecting_feedback' });
      const labels = [
        label(wf, 'brakes', { notes: 'pads at 2 mm' }),
        label(wf, 'battery', { finding: 'not_found', predicted: null }),
        label(wf, 'tyres', { predicted: { mode: 'slow_leak', probability: 0.5, days_to_failure: 12, analysed_at: null } }),
      ];
      expect(await store.commitDecisions([decision(wf, done, { labels, inboundId: 'svc-1' })])).toEqual(['committed']);
      const listed = await store.listLabels({ limit: 10 });
      expect(listed.nextCursor).toBeNull();
      expect([...listed.items].sort((a, b) => a.component.localeCompare(b.component))).toEqual(
        [...labels].sort((a, b) => a.component.localeCompare(b.component)),
      );
      expect(listed.items.find((l) => l.component === 'battery')).not.toHaveProperty('notes');
      expect(await store.countLabels()).toEqual({ confirmed: 2, not_found: 1 });
    });

    it('writes a label of a (correlation_id, component) once: the first one stays', async () => {
      const wf = await open(1);
      const a = next(wf);
      const b = next(a);
      const first = label(wf, 'brakes', { notes: 'first' });
      await store.commitDecisions([decision(wf, a, { labels: [first, label(wf, 'brakes', { notes: 'same decision' })] })]);
      await store.commitDecisions([
        decision(a, b, { labels: [label(wf, 'brakes', { finding: 'not_found', notes: 'again' }), label(wf, 'cooling')] }),
      ]);
      const other = await open(2);
      await store.commitDecisions([decision(other, next(other), { labels: [label(other, 'brakes')] })]);
      const listed = await all();
      expect(listed.map((l) => [l.vin, l.component, l.notes])).toEqual([
        [wf.vin, 'brakes', 'first'],
        [wf.vin, 'cooling', undefined],
        [other.vin, 'brakes', undefined],
      ]);
      expect(await store.countLabels()).toEqual({ confirmed: 3, not_found: 0 });
    });

    it('pages oldest serviced_at first, each label once, from `since` on', async () => {
      const wfs = await Promise.all([1, 2, 3, 4, 5, 6, 7].map(open));
      const components = ['brakes', 'battery', 'cooling'] as const;
      const batch = wfs.map((wf, i) =>
        decision(wf, next(wf), {
          // Every case of the same service day shares serviced_at, so the tie-break is exercised.
          labels: components.map((c) => label(wf, c, { serviced_at: T0 + Math.floor((6 - i) / 2) * 1000 })),
        }),
      );
      await store.commitDecisions(batch);
      const listed = await all({}, 4);
      expect(listed).toHaveLength(21);
      const keys = listed.map((l) => `${l.correlation_id}/${l.component}`);
      expect(new Set(keys).size).toBe(21);
      const order = listed.map((l) => [l.serviced_at, l.correlation_id, l.component] as const);
      const sorted = [...order].sort((x, y) => x[0] - y[0] || cmp(x[1], y[1]) || cmp(x[2], y[2]));
      expect(order).toEqual(sorted);
      expect(listed[0]?.serviced_at).toBe(T0);

      const since = await all({ since: T0 + 2000 }, 2);
      expect(since.map((l) => l.serviced_at)).toEqual(listed.filter((l) => l.serviced_at >= T0 + 2000).map((l) => l.serviced_at));
      expect(since).toHaveLength(9);
      expect(await all({ since: T0 + 1e9 })).toEqual([]);
    });

    it('keeps its place while labels are added between pages', async () => {
      const [w1, w2] = [await open(1), await open(2)];
      await store.commitDecisions([decision(w1, next(w1), { labels: [label(w1, 'brakes'), label(w1, 'cooling')] })]);
      const page1 = await store.listLabels({ limit: 1 });
      await store.commitDecisions([
        decision(w2, next(w2), { labels: [label(w2, 'brakes', { serviced_at: T0 + 9_000_000 })] }),
      ]);
      const page2 = await store.listLabels({ limit: 5, cursor: page1.nextCursor ?? '' });
      expect([...page1.items, ...page2.items].map((l) => `${l.vin}/${l.component}`)).toEqual([
        `${w1.vin}/brakes`,
        `${w1.vin}/cooling`,
        `${w2.vin}/brakes`,
      ]);
    });

    it('refuses a cursor it did not issue and a page size below 1', async () => {
      const wf = await open(1);
      await store.commitDecisions([decision(wf, next(wf), { labels: [label(wf, 'brakes')] })]);
      const workflowCursor = (await store.listWorkflows({ limit: 1 })).nextCursor;
      for (const cursor of ['not-a-cursor', workflowCursor ?? 'x']) {
        expect(isInvalidCursor(await store.listLabels({ limit: 1, cursor }).catch((e: unknown) => e))).toBe(true);
      }
      for (const limit of [0, -1, 1.5]) {
        expect(isStoreArgumentError(await store.listLabels({ limit }).catch((e: unknown) => e))).toBe(true);
      }
    });

    it('writes no label of a refused decision: version conflict or duplicate inbound id', async () => {
      const wf = await open(1);
      const a = next(wf);
      expect(await store.commitDecisions([decision(wf, a, { inboundId: 'svc-1' })])).toEqual(['committed']);
      const stale = decision(wf, next(wf), { labels: [label(wf, 'brakes')], inboundId: 'svc-2' });
      const again = decision(a, next(a), { labels: [label(wf, 'cooling')], inboundId: 'svc-1' });
      expect(await store.commitDecisions([stale, again])).toEqual(['conflict', 'duplicate']);
      expect(await store.listLabels({ limit: 10 })).toEqual({ items: [], nextCursor: null });
      expect(await store.countLabels()).toEqual({ confirmed: 0, not_found: 0 });
      // The conflicting report re-decided on the fresh version is stored.
      expect(await store.commitDecisions([decision(a, next(a), { labels: [label(wf, 'brakes')], inboundId: 'svc-2' })])).toEqual([
        'committed',
      ]);
      expect((await store.listLabels({ limit: 10 })).items.map((l) => l.component)).toEqual(['brakes']);
    });

    it('survives every purge', async () => {
      const wf = await open(1);
      const a = next(wf);
      const sent = outboxRow(a, 'feedback');
      await store.commitDecisions([
        decision(wf, a, { labels: [label(wf, 'brakes'), label(wf, 'tyres', { finding: 'not_found' })], outbox: [sent], inboundId: 'svc-1' }),
      ]);
      await store.markSent([sent.messageId], a.updatedAt);
      expect(await store.purge(T0 + 1e12)).toEqual({ outbox: 1, inbox: 1 });
      expect((await store.listLabels({ limit: 10 })).items).toHaveLength(2);
      expect(await store.countLabels()).toEqual({ confirmed: 1, not_found: 1 });
    });
  });
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
