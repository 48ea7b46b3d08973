/**
 * The Store contract for inputs parked for the instance holding their VIN (ParkedEventStore): parked
 * once per inbound id, claimed by partition oldest first, leased while being applied, whole (the event,
 * its case, its cause and the analysis memory it brought). Run by `storeContract`.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { VIN_PARTITIONS, partitionOf } from './partition.js';
import type { ParkedEvent, Store } from './port.js';
import { T0, cidOf, vinOf } from './contract-fixtures.js';

const LEASE = 1000;

/** A customer's feedback for `vin`, parked at `at`. */
export function parked(vin: string, inboundId: string, at = T0, over: Partial<ParkedEvent> = {}): ParkedEvent {
  return {
    inboundId,
    vin,
    correlationId: cidOf(vin, T0),
    event: {
      type: 'feedback_received',
      feedback: { vin, correlation_id: cidOf(vin, T0), rating: 4, comment: 'ok', received_at: '2025-01-06T08:00:00.000Z' },
    },
    causationId: inboundId,
    parkedAt: at,
    ...over,
  };
}

/** The first `count` VINs (by number) that fall in distinct partitions. */
function vinsInDistinctPartitions(count: number): string[] {
  const vins: string[] = [];
  for (let n = 0; vins.length < count; n++) {
    const vin = vinOf(n);
    if (vins.every((v) => partitionOf(v) !== partitionOf(vin))) vins.push(vin);
  }
  return vins;
}

/** `getStore` returns the store of the running test (set up and migrated by the caller's beforeEach). */
export function parkedContract(getStore: () => Store): void {
  let store: Store;
  beforeEach(() => {
    store = getStore();
  });

  describe('parked events', () => {
    it('gives back what was parked whole, oldest first, only for the partitions asked for', async () => {
      const [x, y] = vinsInDistinctPartitions(2) as [string, string];
      const withMemory = parked(x, 'msg-3', T0 + 2, {
        event: { type: 'engagement_result', result: { vin: x, kind: 'initial', attempt: 1, delivered: true, channels: ['sms'] } },
        analysisMemory: 'h1.layout.snapshot',
      });
      const forgotten = parked(x, 'msg-4', T0 + 3, { analysisMemory: null, causationId: null });
      expect(await store.park([parked(x, 'msg-1', T0), parked(y, 'msg-2', T0 + 1)])).toBe(2);
      expect(await store.park([withMemory, forgotten])).toBe(2);
      expect(await store.park([])).toBe(0);

      const mine = await store.claimParked([partitionOf(x)], T0 + 10, 10, LEASE);
      expect(mine.map((e) => e.inboundId)).toEqual(['msg-1', 'msg-3', 'msg-4']);
      expect(mine[0]).toEqual(parked(x, 'msg-1', T0));
      expect(mine[1]).toEqual(withMemory);
      expect(mine[2]).toEqual(forgotten);
      expect('analysisMemory' in mine[0]!).toBe(false);

      expect(await store.claimParked([], T0 + 10, 10, LEASE)).toEqual([]);
      const all = Array.from({ length: VIN_PARTITIONS }, (_, p) => p);
      expect((await store.claimParked(all, T0 + 10, 10, LEASE)).map((e) => e.inboundId)).toEqual(['msg-2']);
    });

    it('parks an inbound id once, however often it is parked', async () => {
      const vin = vinOf(1);
      expect(await store.park([parked(vin, 'msg-1')])).toBe(1);
      expect(await store.park([parked(vin, 'msg-1', T0 + 5), parked(vin, 'msg-2')])).toBe(1);
      const claimed = await store.claimParked([partitionOf(vin)], T0 + 10, 10, LEASE);
      expect(claimed.map((e) => [e.inboundId, e.parkedAt])).toEqual([
        ['msg-1', T0],
        ['msg-2', T0],
      ]);
    });

    it('leases what it hands out, hands it out again once the lease has passed, and forgets what was deleted', async () => {
      const vin = vinOf(1);
      const part = [partitionOf(vin)];
      await store.park([parked(vin, 'msg-1'), parked(vin, 'msg-2'), parked(vin, 'msg-3')]);
      expect((await store.claimParked(part, T0, 2, LEASE)).map((e) => e.inboundId)).toEqual(['msg-1', 'msg-2']);
      expect((await store.claimParked(part, T0 + 1, 10, LEASE)).map((e) => e.inboundId)).toEqual(['msg-3']);
      expect(await store.claimParked(part, T0 + LEASE - 1, 10, LEASE)).toEqual([]);
      expect(await store.claimParked(part, T0 + LEASE, 0, LEASE)).toEqual([]);

      await store.deleteParked(['msg-1', 'msg-missing']);
      await store.deleteParked([]);
      expect((await store.claimParked(part, T0 + LEASE, 10, LEASE)).map((e) => e.inboundId)).toEqual(['msg-2']);
      expect((await store.claimParked(part, T0 + LEASE + 1, 10, LEASE)).map((e) => e.inboundId)).toEqual(['msg-3']);
      // A deleted id may be parked again (a redelivery after it was applied): dedupe is the inbox's.
      await store.deleteParked(['msg-2', 'msg-3']);
      expect(await store.park([parked(vin, 'msg-1')])).toBe(1);
    });
  });
}
