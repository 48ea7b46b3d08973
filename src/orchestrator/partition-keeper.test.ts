import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../clock/clocks.js';
import { MINUTE } from '../core/clock.js';
import { createSqliteStore } from '../store/index.js';
import { VIN_PARTITIONS } from '../store/partition.js';
import type { Store } from '../store/port.js';
import { LEASE_RENEW_MIN_REAL_MS, PartitionKeeper, newInstanceId } from './partition-keeper.js';

const T0 = Date.parse('2026-05-04T08:00:00Z');
const TTL = 30 * MINUTE;
const ALL = Array.from({ length: VIN_PARTITIONS }, (_, p) => p);
const VIN = '1HGCM82633A004352';

describe('PartitionKeeper', () => {
  let store: Store;
  let clock: ManualClock;
  let real: number;
  beforeEach(async () => {
    store = createSqliteStore({ path: ':memory:' });
    await store.migrate();
    clock = new ManualClock(T0);
    real = 1_000_000;
    vi.spyOn(Date, 'now').mockImplementation(() => real);
  });
  afterEach(async () => {
    vi.restoreAllMocks();
    await store.close();
  });

  const keeper = (owner: string) => {
    const k = new PartitionKeeper(store, clock, pino({ level: 'silent' }), { owner, ttlMs: TTL });
    k.activate();
    return k;
  };

  it('holds nothing before its first lease, then every partition while it runs alone', async () => {
    const k = keeper('a');
    expect(k.partitions(clock.now())).toEqual([]);
    expect(k.holds(VIN, clock.now())).toBe(false);
    await k.refresh();
    expect(k.partitions(clock.now())).toEqual(ALL);
    expect(k.epochOf(VIN, clock.now())).toBe(1);
  });

  it('renews once a third of the lease has passed, in clock time and not sooner than the real-time floor', async () => {
    const k = keeper('a');
    const lease = vi.spyOn(store, 'leasePartitions');
    await k.refresh();
    clock.advance(TTL / 3 - 1);
    real += 10 * LEASE_RENEW_MIN_REAL_MS;
    await k.refresh();
    expect(lease).toHaveBeenCalledTimes(1);
    clock.advance(1);
    await k.refresh();
    expect(lease).toHaveBeenCalledTimes(2);
    // A fast clock: a third of the lease passes within a few real ms; the renewal waits for the floor.
    clock.advance(TTL / 3);
    real += 10;
    await k.refresh();
    expect(lease).toHaveBeenCalledTimes(2);
    real += LEASE_RENEW_MIN_REAL_MS;
    await k.refresh();
    expect(lease).toHaveBeenCalledTimes(3);
  });

  it('stops trusting a lease it cannot renew a third of its time before it expires, before another instance may take it', async () => {
    const a = keeper('a');
    await a.refresh();
    vi.spyOn(store, 'leasePartitions').mockRejectedValue(new Error('store unreachable'));
    clock.advance(TTL / 3);
    real += LEASE_RENEW_MIN_REAL_MS;
    await a.refresh();
    expect(a.partitions(clock.now())).toEqual(ALL);
    clock.advance(TTL / 3 - 1);
    expect(a.holds(VIN, clock.now())).toBe(true);
    clock.advance(1);
    expect(a.partitions(clock.now())).toEqual([]);
    expect(a.holds(VIN, clock.now())).toBe(false);
    vi.mocked(store.leasePartitions).mockRestore();
    // Another instance gets nothing while a's lease still holds, however long a has stopped trusting it.
    const b = keeper('b');
    await b.refresh();
    expect(b.partitions(clock.now())).toEqual([]);
    // a is back within its lease: it keeps its share (b joined meanwhile), each partition with its epoch.
    real += LEASE_RENEW_MIN_REAL_MS;
    await a.refresh();
    const kept = a.partitions(clock.now());
    expect(kept).toHaveLength(VIN_PARTITIONS / 2);
    expect(a.epochOf(VIN, clock.now())).toBe(a.holds(VIN, clock.now()) ? 1 : undefined);
  });

  it('renews at once, before anything is claimed, when the clock has moved past its trust', async () => {
    const a = keeper('a');
    await a.refresh();
    clock.advance(5 * TTL);
    expect(a.partitions(clock.now())).toEqual([]);
    await a.refresh();
    expect(a.partitions(clock.now())).toEqual(ALL);
    expect(a.epochOf(VIN, clock.now())).toBe(1);
  });

  it('gives up a partition another instance takes over, and everything on release', async () => {
    const a = keeper('a');
    const b = keeper('b');
    await a.refresh();
    await b.refresh();
    for (let round = 0; round < 3; round++) {
      clock.advance(TTL / 3);
      real += LEASE_RENEW_MIN_REAL_MS;
      await a.refresh();
      await b.refresh();
    }
    const now = clock.now();
    expect(a.partitions(now).length + b.partitions(now).length).toBe(VIN_PARTITIONS);
    expect(a.holds(VIN, now)).not.toBe(b.holds(VIN, now));
    const holder = a.holds(VIN, now) ? a : b;
    const other = holder === a ? b : a;
    // A partition that changed owner has a higher epoch than the one its first owner held it with.
    expect(holder.epochOf(VIN, now)).toBe(holder === a ? 1 : 2);

    await holder.release();
    expect(holder.partitions(clock.now())).toEqual([]);
    await holder.refresh();
    expect(holder.partitions(clock.now())).toEqual([]);
    clock.advance(TTL / 3);
    real += LEASE_RENEW_MIN_REAL_MS;
    await other.refresh();
    expect(other.partitions(clock.now())).toEqual(ALL);
    expect(other.epochOf(VIN, clock.now())).toBeGreaterThan(1);
  });

  it('names an instance by host, process and a random part', () => {
    expect(newInstanceId()).toMatch(new RegExp(`^orchestrator-.+-${process.pid}-[0-9a-f]{8}$`));
    expect(newInstanceId()).not.toBe(newInstanceId());
  });
});
