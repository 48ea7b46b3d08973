/**
 * The Store contract for sharing the fleet among instances: partition leases divided fairly among
 * the live instances, taken over when one stops, and claims limited to the caller's partitions.
 * Run by `storeContract`.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { isStoreArgumentError } from './errors.js';
import { VIN_PARTITIONS, partitionOf } from './partition.js';
import type { PartitionLease, Store } from './port.js';
import { T0, decision, next, opened, outboxRow, vinOf } from './contract-fixtures.js';

const TTL = 10_000;
const ALL = Array.from({ length: VIN_PARTITIONS }, (_, p) => p);

/** `getStore` returns the store of the running test (set up and migrated by the caller's beforeEach). */
export function partitionsContract(getStore: () => Store): void {
  let store: Store;
  beforeEach(() => {
    store = getStore();
  });

  /** Every instance calls once per round, in order, until the leases stop changing. */
  async function settle(owners: string[], now: number): Promise<Map<string, PartitionLease>> {
    let last = '';
    for (let round = 0; round < 5; round++) {
      const leases = new Map<string, PartitionLease>();
      for (const owner of owners) leases.set(owner, await store.leasePartitions(owner, now + round, TTL));
      const shape = JSON.stringify([...leases.values()].map((l) => l.partitions));
      if (shape === last) return leases;
      last = shape;
    }
    throw new Error('leases did not settle');
  }

  function expectDisjointCover(leases: Iterable<PartitionLease>): void {
    const all = [...leases].flatMap((l) => l.partitions);
    expect(all.sort((a, b) => a - b)).toEqual(ALL);
  }

  describe('partition leases', () => {
    it('gives a lone instance every partition, and keeps its epochs while it renews', async () => {
      const first = await store.leasePartitions('a', T0, TTL);
      expect(first).toMatchObject({ owner: 'a', partitions: ALL, expiresAt: T0 + TTL, members: 1 });
      expect(new Set(first.epochs)).toEqual(new Set([1]));
      const renewed = await store.leasePartitions('a', T0 + 5000, TTL);
      expect(renewed).toEqual({ ...first, expiresAt: T0 + 5000 + TTL });
    });

    it('shares the partitions fairly as instances join, each partition held by one of them', async () => {
      await store.leasePartitions('a', T0, TTL);
      // b joins: a keeps its partitions until its next call shows it holds more than its share.
      expect((await store.leasePartitions('b', T0 + 1, TTL)).partitions).toEqual([]);
      const two = await settle(['a', 'b'], T0 + 2);
      expect([...two.values()].map((l) => l.partitions.length)).toEqual([VIN_PARTITIONS / 2, VIN_PARTITIONS / 2]);
      expectDisjointCover(two.values());
      // A partition that changed owner has a higher epoch than it had.
      const b = two.get('b')!;
      expect(new Set(b.epochs)).toEqual(new Set([2]));

      const three = await settle(['a', 'b', 'c'], T0 + 100);
      const sizes = [...three.values()].map((l) => l.partitions.length);
      expect(sizes.reduce((x, y) => x + y)).toBe(VIN_PARTITIONS);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      expect([...three.values()].every((l) => l.members === 3)).toBe(true);
      expectDisjointCover(three.values());
    });

    it("takes over an instance's partitions once it stops renewing, and at once when it releases them", async () => {
      await settle(['a', 'b', 'c'], T0);
      // c stops calling: its partitions are not free before its lease expires.
      const before = await store.leasePartitions('a', T0 + TTL - 100, TTL);
      const stillShared = await store.leasePartitions('b', T0 + TTL - 50, TTL);
      expect(before.partitions.length + stillShared.partitions.length).toBeLessThan(VIN_PARTITIONS);
      const after = await settle(['a', 'b'], T0 + TTL + 10);
      expect([...after.values()].map((l) => l.members)).toEqual([2, 2]);
      expectDisjointCover(after.values());

      await store.releasePartitions('b');
      const alone = await store.leasePartitions('a', T0 + TTL + 20, TTL);
      expect(alone).toMatchObject({ partitions: ALL, members: 1 });
      await store.releasePartitions('nobody');
    });

    it('lets an instance keep a lease that expired while nobody took it, with the same epoch', async () => {
      const first = await store.leasePartitions('a', T0, TTL);
      const late = await store.leasePartitions('a', T0 + 3 * TTL, TTL);
      expect(late.partitions).toEqual(ALL);
      expect(late.epochs).toEqual(first.epochs);
    });

    it('refuses an empty owner and a lease time that is not positive', async () => {
      for (const call of [
        () => store.leasePartitions('', T0, TTL),
        () => store.leasePartitions('a', T0, 0),
        () => store.leasePartitions('a', T0, Number.NaN),
      ]) {
        expect(isStoreArgumentError(await call().catch((e: unknown) => e))).toBe(true);
      }
    });
  });

  describe('claims limited to partitions', () => {
    /** Workflows of VINs in two different partitions, each with a due timer, an unsent outbox row and a due vehicle. */
    async function twoPartitions() {
      const vins: string[] = [];
      for (let n = 0; vins.length < 2; n++) {
        const vin = vinOf(n);
        if (vins.every((v) => partitionOf(v) !== partitionOf(vin))) vins.push(vin);
      }
      const wfs = vins.map((vin, i) => opened(vin, T0 + i));
      await store.commitDecisions(wfs.map((wf) => decision(null, wf)));
      await store.commitDecisions(
        wfs.map((wf) =>
          decision(wf, next(wf), {
            outbox: [outboxRow(wf, 'notify')],
            timers: [{ kind: 'set', name: 'state_timeout', dueAt: T0, seq: 1 }],
          }),
        ),
      );
      await store.upsertVehicles(
        vins.map((vin) => ({ vin, lastSampleAt: null })),
        T0,
      );
      return vins.map((vin) => ({ vin, part: partitionOf(vin) }));
    }

    it('claims only the timers, outbox rows and due vehicles of the given partitions', async () => {
      const [x, y] = (await twoPartitions()) as [{ vin: string; part: number }, { vin: string; part: number }];
      const now = T0 + 1000;
      expect(await store.claimDueTimers(now, 10, 100, [])).toEqual([]);
      expect((await store.claimDueTimers(now, 10, 100, [x.part])).map((t) => t.vin)).toEqual([x.vin]);
      expect((await store.claimOutbox(now, 10, 100, [x.part])).map((r) => r.key.split(':')[0])).toEqual([
        (await store.getCurrentWorkflow(x.vin))?.correlationId,
      ]);
      expect(await store.claimDueVehicles(now, 10, now + 3600, [x.part])).toEqual([x.vin]);
      expect(await store.claimDueVehicles(now, 10, now + 3600, [])).toEqual([]);
      // The rest is left for whoever holds the other partition.
      expect((await store.claimDueTimers(now, 10, 100)).map((t) => t.vin)).toEqual([y.vin]);
      expect(await store.claimOutbox(now, 10, 100, [y.part, (y.part + 1) % VIN_PARTITIONS])).toHaveLength(1);
      expect(await store.claimDueVehicles(now, 10, now + 3600)).toEqual([y.vin]);
    });
  });
}
