/**
 * The VIN partitions this orchestrator instance holds (PartitionStore), so that two instances never
 * advance one vehicle's workflow at the same time: an instance claims timers, due vehicles, outbox rows
 * and parked inputs only of the partitions it holds, and parks the inputs of the others for their holder.
 *
 * The lease is renewed on the loop's tick once a third of its time has passed (the call is also the
 * instance's heartbeat), and trusted only until a third of its time is left: a renewal that keeps
 * failing (the store unreachable) or comes too late (a long pause of the process) makes the instance
 * stop claiming while its lease still holds, so work it started can commit before another instance may
 * take the partitions over. The workflow's optimistic version check stays the safety net for a decision
 * already under way when that happens.
 *
 * Lease times are clock time, as the store compares them with the callers' clocks; the time between two
 * renewals keeps a real-time floor, so a fast virtual clock does not turn every tick into a lease
 * transaction. A lease whose trust ran out (a virtual clock moved on by hours at once) is renewed at once,
 * before anything is claimed: an instance keeps an expired lease that nobody took, with its epoch.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { partitionOf } from '../store/partition.js';
import type { PartitionLease, PartitionStore } from '../store/port.js';

/** Real ms between two regular renewals at least, and before a failed renewal is tried again. */
export const LEASE_RENEW_MIN_REAL_MS = 250;

/** A fresh instance id: unique per process start, and saying where it runs. */
export function newInstanceId(): string {
  return `orchestrator-${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

export interface PartitionKeeperOptions {
  /** This instance's id among those sharing the partitions. */
  owner: string;
  /** Clock time a lease lasts without renewal. */
  ttlMs: number;
}

export class PartitionKeeper {
  /** Held partition → its epoch (the fencing token of this ownership). */
  private held = new Map<number, number>();
  private claimable: readonly number[] = [];
  private trustedUntil = -Infinity;
  private renewedClock = -Infinity;
  private renewedReal = -Infinity;
  private failedReal = -Infinity;
  private renewing: Promise<void> | null = null;
  private active = false;

  constructor(
    private readonly store: PartitionStore,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly opts: PartitionKeeperOptions,
  ) {}

  get owner(): string {
    return this.opts.owner;
  }

  /** Takes part in the sharing from now on: the next `refresh` leases. */
  activate(): void {
    this.active = true;
  }

  /** The partitions held and still trusted at `now`, ascending; none once the lease's trust ran out. */
  partitions(now: number): readonly number[] {
    return now < this.trustedUntil ? this.claimable : [];
  }

  /** The epoch of `vin`'s partition while this instance holds it and trusts its lease at `now`. */
  epochOf(vin: string, now: number): number | undefined {
    return now < this.trustedUntil ? this.held.get(partitionOf(vin)) : undefined;
  }

  /**
   * The epoch this instance holds `vin`'s partition with, trusted or not: what a decision commits under
   * (the store refuses it once another instance has taken the partition over, and only then).
   */
  heldEpoch(vin: string): number | undefined {
    return this.held.get(partitionOf(vin));
  }

  /** Whether this instance holds `vin`'s partition and trusts its lease at `now`. */
  holds(vin: string, now: number): boolean {
    return this.epochOf(vin, now) !== undefined;
  }

  /**
   * Renews the lease when it is due (or its trust ran out); calls while one runs share it. Never
   * throws: a failed renewal is logged and tried again, and the lease's trust runs out on its own.
   */
  refresh(): Promise<void> {
    if (this.renewing) return this.renewing;
    if (!this.active || !this.due()) return Promise.resolve();
    this.renewing = this.renew().finally(() => {
      this.renewing = null;
    });
    return this.renewing;
  }

  /** Gives the partitions up at once (a clean stop), so the other instances take them on their next renewal. */
  async release(): Promise<void> {
    this.active = false;
    await this.renewing;
    this.setLease(null);
    this.renewedClock = -Infinity;
    this.renewedReal = -Infinity;
    await this.store.releasePartitions(this.opts.owner);
  }

  private due(): boolean {
    const now = this.clock.now();
    const real = Date.now();
    if (real - this.failedReal < LEASE_RENEW_MIN_REAL_MS) return false;
    if (now >= this.trustedUntil) return true;
    return now - this.renewedClock >= this.opts.ttlMs / 3 && real - this.renewedReal >= LEASE_RENEW_MIN_REAL_MS;
  }

  private async renew(): Promise<void> {
    const now = this.clock.now();
    const real = Date.now();
    try {
      const lease = await this.store.leasePartitions(this.opts.owner, now, this.opts.ttlMs);
      // A stop that began meanwhile has released, or is about to: this lease is not to be used.
      if (!this.active) return;
      this.renewedClock = now;
      this.renewedReal = real;
      this.setLease(lease);
    } catch (err) {
      this.failedReal = Date.now();
      this.log.warn(
        { err: (err as Error).message, owner: this.opts.owner, trusted_for_ms: Math.max(0, this.trustedUntil - now) },
        'partition lease not renewed',
      );
    }
  }

  private setLease(lease: PartitionLease | null): void {
    const before = this.held;
    this.held = new Map(lease ? lease.partitions.map((p, i) => [p, lease.epochs[i] ?? 0] as const) : []);
    this.claimable = lease?.partitions ?? [];
    this.trustedUntil = lease ? lease.expiresAt - this.opts.ttlMs / 3 : -Infinity;
    const gained = [...this.held.keys()].filter((p) => !before.has(p)).length;
    const lost = [...before.keys()].filter((p) => !this.held.has(p)).length;
    if (gained + lost > 0)
      this.log.info(
        { owner: this.opts.owner, held: this.held.size, gained, lost, members: lease?.members ?? 0 },
        'VIN partitions held by this instance changed',
      );
  }
}
