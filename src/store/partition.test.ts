import { describe, expect, it } from 'vitest';
import { VIN_PARTITIONS, partitionOf } from './partition.js';

describe('VIN partitions', () => {
  it('puts a VIN in the same partition every time, on every instance', () => {
    // Pinned: the stored part columns depend on these values never changing. FNV-1a's published
    // vectors: '' 0x811c9dc5, 'a' 0xe40c292c, 'foobar' 0xbf9cf968; the partition is the low byte.
    expect([partitionOf(''), partitionOf('a'), partitionOf('foobar')]).toEqual([0xc5, 0x2c, 0x68]);
    expect([partitionOf('1HGCM82633A004352'), partitionOf('1PWBENCH0AAAAAAAA')]).toEqual([2, 183]);
  });

  it('spreads a fleet evenly', () => {
    const counts = new Array<number>(VIN_PARTITIONS).fill(0);
    const fleet = 100_000;
    for (let n = 0; n < fleet; n++) counts[partitionOf(`1HGCM826${String(n).padStart(9, '0')}`)]! += 1;
    const mean = fleet / VIN_PARTITIONS;
    expect(Math.min(...counts)).toBeGreaterThan(mean * 0.8);
    expect(Math.max(...counts)).toBeLessThan(mean * 1.2);
  });
});
