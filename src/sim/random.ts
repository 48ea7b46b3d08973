/**
 * Deterministic, stateless randomness: every value is a pure function of its inputs, so telemetry at
 * any time can be recomputed on demand without storing histories or advancing a generator.
 */
import { mulberry32 } from '../core/prng.js';

/** 32-bit hash of a string (FNV-1a, then an avalanche step). */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return avalanche(h);
}

function avalanche(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Mixes integers (any magnitude up to 2^53) into one 32-bit hash. */
export function mix(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    const lo = p >>> 0;
    const hi = Math.floor(p / 4294967296) >>> 0;
    h = avalanche(h ^ lo);
    h = avalanche(h ^ hi ^ 0x85ebca6b);
  }
  return h;
}

/** Uniform in [0, 1) from the given parts. */
export function unit(...parts: number[]): number {
  return mix(...parts) / 4294967296;
}

/** Approximately standard normal (Irwin–Hall of 4 uniforms, scaled): bounded tails keep sims sane. */
export function gauss(...parts: number[]): number {
  const base = mix(...parts);
  let sum = 0;
  for (let k = 0; k < 4; k++) sum += unit(base, k);
  return (sum - 2) * Math.sqrt(3);
}

/** A sequential generator (mulberry32) for one-off construction such as building a fleet. */
export class Rng {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  between(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  int(lo: number, hiInclusive: number): number {
    return lo + Math.floor(this.next() * (hiInclusive - lo + 1));
  }
  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new RangeError('pick from an empty list');
    return item;
  }
  weighted<T>(items: readonly (readonly [T, number])[]): T {
    const total = items.reduce((s, [, w]) => s + w, 0);
    let r = this.next() * total;
    for (const [item, w] of items) {
      r -= w;
      if (r < 0) return item;
    }
    const last = items[items.length - 1];
    if (!last) throw new RangeError('weighted pick from an empty list');
    return last[0];
  }
}

/** Seeds may be numbers or strings; both map to a 32-bit integer. */
export function seedNumber(seed: number | string): number {
  return typeof seed === 'number' && Number.isInteger(seed) ? seed >>> 0 : hashString(String(seed));
}
