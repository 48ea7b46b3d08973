/**
 * The partition-lease algorithm (PartitionStore in port.ts), written once over a dialect's plans and
 * run in one transaction. The transaction first locks every partition's row (PostgreSQL: FOR UPDATE;
 * SQLite: its single writer), so instances renewing at the same moment take turns and never both take
 * one partition.
 */
import type { StorePlans } from './dialect.js';
import { StoreArgumentError } from './errors.js';
import { VIN_PARTITIONS } from './partition.js';
import { run, runAll, type Work } from './plan.js';
import type { PartitionLease } from './port.js';

export function checkLease(owner: string, ttlMs: number): void {
  if (owner === '') throw new StoreArgumentError('owner must be a non-empty instance id');
  if (!Number.isFinite(ttlMs) || ttlMs <= 0)
    throw new StoreArgumentError(`ttlMs must be a positive number, got ${ttlMs}`);
}

export function* leaseWork(p: StorePlans, owner: string, now: number, ttlMs: number): Work<PartitionLease> {
  const leases = (yield* run(p.lockPartitionLeases())).rows;
  const expiresAt = now + ttlMs;
  yield* run(p.deleteExpiredLeaseMembers(now));
  yield* run(p.upsertLeaseMember(owner, expiresAt));
  const members = (yield* run(p.selectLeaseMembers(now))).rows.map((r) => r.owner);
  const rank = Math.max(0, members.indexOf(owner));
  const count = Math.max(1, members.length);
  const share = Math.floor(VIN_PARTITIONS / count) + (rank < VIN_PARTITIONS % count ? 1 : 0);

  // Each instance prefers the partitions from its own place in the ring (its rank's slice) onwards, so
  // shares settle into contiguous ranges and a change of members moves few partitions.
  const home = Math.floor((rank * VIN_PARTITIONS) / count);
  const distance = (part: number) => (part - home + VIN_PARTITIONS) % VIN_PARTITIONS;
  const byPreference = (a: { part: number }, b: { part: number }) => distance(a.part) - distance(b.part);

  // A lease of ours that expired is still ours while nobody took it: renewing it keeps its epoch.
  const held = leases.filter((l) => l.owner === owner).sort(byPreference);
  const free = leases.filter((l) => l.owner !== owner && (l.owner === null || l.expires_at <= now)).sort(byPreference);
  const kept = held.slice(0, share);
  const released = held.slice(share);
  const taken = free.slice(0, Math.max(0, share - kept.length));

  if (kept.length > 0)
    yield* runAll(
      p.renewLeases(
        owner,
        kept.map((l) => l.part),
        expiresAt,
      ),
    );
  if (taken.length > 0)
    yield* runAll(
      p.takeLeases(
        owner,
        taken.map((l) => l.part),
        expiresAt,
      ),
    );
  if (released.length > 0)
    yield* runAll(
      p.releaseLeases(
        owner,
        released.map((l) => l.part),
      ),
    );

  const mine = [
    ...kept.map((l) => ({ part: l.part, epoch: l.epoch })),
    ...taken.map((l) => ({ part: l.part, epoch: l.epoch + 1 })),
  ];
  mine.sort((a, b) => a.part - b.part);
  return {
    owner,
    partitions: mine.map((l) => l.part),
    epochs: mine.map((l) => l.epoch),
    expiresAt,
    members: count,
  };
}
