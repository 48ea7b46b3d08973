/**
 * The Store contract for rejected telemetry: kept for inspection, and stored and counted exactly once
 * per sample however many sources bring it and however often. Run by `storeContract`.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { RejectionReason } from '../core/telemetry.js';
import { rejectedCounter, type QuarantinedSample, type Store } from './port.js';
import { T0, vinOf } from './contract-fixtures.js';

function sample(n: number, over: Partial<QuarantinedSample> = {}): QuarantinedSample {
  return {
    key: `sample-${n}`,
    receivedAt: T0 + n,
    vin: vinOf(n),
    source: 'mqtt',
    rejection: { reason: 'out_of_range', field: 'signals.Vehicle.Speed', message: `sample ${n}` },
    raw: `{"n":${n}}`,
    ...over,
  };
}

const rejection = (reason: RejectionReason) => ({ reason, field: 'x', message: reason });

/** `getStore` returns the store of the running test (set up and migrated by the caller's beforeEach). */
export function quarantineContract(getStore: () => Store): void {
  let store: Store;
  beforeEach(() => {
    store = getStore();
  });

  describe('telemetry quarantine', () => {
    it('keeps quarantined samples, newest first, with the raw input truncated', async () => {
      const first = sample(1, { raw: '{"a":1}' });
      const second = sample(2, { vin: null, raw: 'x'.repeat(10_000) });
      expect(await store.quarantine([first, second])).toEqual({ stored: 2, byReason: { out_of_range: 2 } });
      expect(await store.quarantine([])).toEqual({ stored: 0, byReason: {} });
      const listed = await store.listQuarantine(10);
      expect(listed.map((q) => q.rejection.message)).toEqual(['sample 2', 'sample 1']);
      expect(listed[1]).toEqual(first);
      expect(listed[0]?.vin).toBeNull();
      expect(listed[0]?.raw.length).toBe(4096);
      expect(await store.listQuarantine(1)).toHaveLength(1);
    });

    it('stores and counts a sample once, though two sources bring it and each brings it twice', async () => {
      const bad = sample(1, { source: 'telematics_api', rejection: rejection('wrong_type') });
      const other = sample(2, { rejection: rejection('not_finite') });
      // Within one call too: the second copy of a key is not stored or counted.
      expect(await store.quarantine([bad, other, { ...bad, receivedAt: T0 + 5 }])).toEqual({
        stored: 2,
        byReason: { wrong_type: 1, not_finite: 1 },
      });
      const fromHistory = { ...bad, source: 'telematics_history', receivedAt: T0 + 60_000, rejection: { ...bad.rejection, message: 'seen again' } };
      expect(await store.quarantine([fromHistory])).toEqual({ stored: 0, byReason: {} });
      expect(await store.quarantine([bad, fromHistory])).toEqual({ stored: 0, byReason: {} });
      const third = sample(3, { rejection: rejection('wrong_type') });
      expect(await store.quarantine([fromHistory, third])).toEqual({ stored: 1, byReason: { wrong_type: 1 } });

      const rows = await store.listQuarantine(10);
      expect(rows.map((q) => q.key)).toEqual(['sample-3', 'sample-2', 'sample-1']);
      // The first source to bring it is the one kept.
      expect(rows[2]).toEqual(bad);
      expect(await store.getCounters()).toEqual({
        [rejectedCounter('wrong_type')]: 2,
        [rejectedCounter('not_finite')]: 1,
      });
    });

    it('adds to the counters beside other increments, and stores every keyless input', async () => {
      await store.incrementCounters({ [rejectedCounter('oversized')]: 2 });
      const body = sample(0, { key: null, vin: null, rejection: rejection('oversized'), raw: '(20000 bytes, not kept)' });
      expect(await store.quarantine([body, body])).toEqual({ stored: 2, byReason: { oversized: 2 } });
      expect(await store.quarantine([body])).toEqual({ stored: 1, byReason: { oversized: 1 } });
      expect((await store.listQuarantine(10)).map((q) => q.key)).toEqual([null, null, null]);
      expect(await store.getCounters()).toEqual({ [rejectedCounter('oversized')]: 5 });
    });
  });
}
