/**
 * The Store contract for the analysis memory of each vehicle: written with the decision that takes in
 * an analysis, per VIN across its cases, never by a refused decision. Run by `storeContract`.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { Store } from './port.js';
import { T0, decision, next, opened, vinOf } from './contract-fixtures.js';

/** `getStore` returns the store of the running test (set up and migrated by the caller's beforeEach). */
export function analysisMemoryContract(getStore: () => Store): void {
  let store: Store;
  beforeEach(() => {
    store = getStore();
  });

  describe('analysis memory', () => {
    it('keeps the memory a committed decision brings, per VIN, until a later one replaces or clears it', async () => {
      const wf = opened(vinOf(1), T0);
      expect(await store.getAnalysisMemory(wf.vin)).toBeNull();
      expect(await store.commitDecisions([{ ...decision(null, wf), analysisMemory: 'h1.layout.first' }])).toEqual(['committed']);
      expect(await store.getAnalysisMemory(wf.vin)).toBe('h1.layout.first');
      expect(await store.getAnalysisMemory(vinOf(2))).toBeNull();
      // A decision without the field leaves it as it is.
      const a = next(wf, { state: 'analyzing_data' });
      expect(await store.commitDecisions([decision(wf, a)])).toEqual(['committed']);
      expect(await store.getAnalysisMemory(wf.vin)).toBe('h1.layout.first');
      const b = next(a, { state: 'assessing_urgency' });
      expect(await store.commitDecisions([{ ...decision(a, b), analysisMemory: 'h1.layout.second' }])).toEqual(['committed']);
      expect(await store.getAnalysisMemory(wf.vin)).toBe('h1.layout.second');
      const c = next(b, { state: 'completed' });
      expect(await store.commitDecisions([{ ...decision(b, c), analysisMemory: null }])).toEqual(['committed']);
      expect(await store.getAnalysisMemory(wf.vin)).toBeNull();
    });

    it('writes no memory for a decision refused as a conflict or a duplicate', async () => {
      const wf = opened(vinOf(3), T0);
      await store.commitDecisions([{ ...decision(null, wf, { inboundId: 'analysis-1' }), analysisMemory: 'kept' }]);
      const stale = next(wf, { state: 'analyzing_data' });
      const won = next(wf, { state: 'error' });
      expect(await store.commitDecisions([decision(wf, won)])).toEqual(['committed']);
      expect(await store.commitDecisions([{ ...decision(wf, stale), analysisMemory: 'from a stale decision' }])).toEqual(['conflict']);
      expect(await store.commitDecisions([{ ...decision(won, next(won), { inboundId: 'analysis-1' }), analysisMemory: 'again' }])).toEqual([
        'duplicate',
      ]);
      expect(await store.getAnalysisMemory(wf.vin)).toBe('kept');
    });

    it('keeps each VIN’s memory apart in one batch', async () => {
      const batch = [1, 2, 3].map((n) => ({ ...decision(null, opened(vinOf(10 + n), T0 + n)), analysisMemory: `memory-${n}` }));
      expect(await store.commitDecisions(batch)).toEqual(['committed', 'committed', 'committed']);
      expect(await Promise.all([1, 2, 3].map((n) => store.getAnalysisMemory(vinOf(10 + n))))).toEqual(['memory-1', 'memory-2', 'memory-3']);
    });
  });
}
