/**
 * VIN partitions: the unit in which instances share the fleet (DESIGN §2, distributed mode). Each VIN
 * belongs to one of VIN_PARTITIONS partitions by a stable hash; an orchestrator leases a share of the
 * partitions (PartitionStore) and claims only the timers, due vehicles and outbox rows of its own, so
 * two instances never work on one vehicle at the same time. The store keeps each row's partition in a
 * column, so the count and the hash are part of the schema: changing either needs a migration that
 * recomputes the column.
 */

/** 256: fine enough to spread over dozens of instances, few enough to lease all in one small transaction. */
export const VIN_PARTITIONS = 256;

/** The partition of a VIN: FNV-1a (32 bit) of its UTF-16 code units, modulo VIN_PARTITIONS. */
export function partitionOf(vin: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < vin.length; i++) {
    hash ^= vin.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % VIN_PARTITIONS;
}
