/**
 * The Store contract for commits fenced by a partition epoch (DecisionCommit.partitionEpoch): a decision
 * made while its instance held the VIN's partition commits only while the partition has not changed
 * hands since. Run by `storeContract`.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { partitionOf } from './partition.js';
import type { Store } from './port.js';
import { T0, decision, next, opened, outboxRow, vinOf } from './contract-fixtures.js';

const TTL = 10_000;

/** `getStore` returns the store of the running test (set up and migrated by the caller's beforeEach). */
export function fencingContract(getStore: () => Store): void {
  let store: Store;
  beforeEach(() => {
    store = getStore();
  });

  /** The epoch `owner`'s lease gives `vin`'s partition, or undefined when it does not hold it. */
  async function epochOf(owner: string, vin: string, now: number): Promise<number | undefined> {
    const lease = await store.leasePartitions(owner, now, TTL);
    const i = lease.partitions.indexOf(partitionOf(vin));
    return i < 0 ? undefined : lease.epochs[i];
  }

  describe('commits fenced by the partition epoch', () => {
    it('commits under the epoch the partition has, and refuses one made before it changed hands, writing none of it', async () => {
      const wf = opened(vinOf(1), T0);
      const epoch = (await epochOf('a', wf.vin, T0))!;
      expect(await store.commitDecisions([{ ...decision(null, wf), partitionEpoch: epoch }])).toEqual(['committed']);

      // a stops renewing; b takes every partition once a's lease has expired.
      const taken = await epochOf('b', wf.vin, T0 + TTL + 1);
      expect(taken).toBeGreaterThan(epoch);
      const late = next(wf, { state: 'analyzing_data' });
      const other = opened(vinOf(2), T0);
      const batch = [
        {
          ...decision(wf, late, {
            inboundId: 'msg-late',
            outbox: [outboxRow(late, 'late')],
            timers: [{ kind: 'set', name: 'state_timeout', dueAt: T0, seq: 1 }],
            counters: [{ counter: 'errors_encountered', by: 1 }],
          }),
          partitionEpoch: epoch,
          analysisMemory: 'h1.late',
        },
        // Unfenced decisions in the same batch are not affected.
        decision(null, other),
      ];
      expect(await store.commitDecisions(batch)).toEqual(['fenced', 'committed']);
      expect(await store.getWorkflow(wf.correlationId)).toEqual(wf);
      expect(await store.getTransitions(wf.correlationId)).toHaveLength(1);
      expect(await store.claimOutbox(T0 + 1e9, 10, 1000)).toEqual([]);
      expect(await store.claimDueTimers(T0 + 1e9, 10, 1000)).toEqual([]);
      expect(await store.getCounters()).toEqual({});
      expect(await store.getAnalysisMemory(wf.vin)).toBeNull();

      // The message was not consumed: the new holder decides it under its own epoch.
      const retried = { ...decision(wf, late, { inboundId: 'msg-late' }), partitionEpoch: taken! };
      expect(await store.commitDecisions([retried])).toEqual(['committed']);
    });

    it('lets an instance commit under a lease that expired while nobody took the partition', async () => {
      const wf = opened(vinOf(1), T0);
      const epoch = (await epochOf('a', wf.vin, T0))!;
      expect(await store.commitDecisions([{ ...decision(null, wf), partitionEpoch: epoch }])).toEqual(['committed']);
      // Long past a's lease, but the partition is still a's: the same epoch.
      const a = next(wf, { state: 'analyzing_data', at: T0 + 5 * TTL });
      expect(await store.commitDecisions([{ ...decision(wf, a), partitionEpoch: epoch }])).toEqual(['committed']);
      expect(await epochOf('a', wf.vin, T0 + 5 * TTL)).toBe(epoch);
      // A released partition keeps its epoch until another instance takes it.
      await store.releasePartitions('a');
      const b = next(a, { state: 'assessing_urgency' });
      expect(await store.commitDecisions([{ ...decision(a, b), partitionEpoch: epoch }])).toEqual(['committed']);
      await store.leasePartitions('c', T0 + 5 * TTL, TTL);
      const c = next(b, { state: 'engaging_customer' });
      expect(await store.commitDecisions([{ ...decision(b, c), partitionEpoch: epoch }])).toEqual(['fenced']);
    });
  });
}
