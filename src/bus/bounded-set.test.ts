import { describe, expect, it } from 'vitest';
import { BoundedSet } from './bounded-set.js';

describe('BoundedSet', () => {
  it('forgets what was added more than capacity adds ago, and renews what is added again', () => {
    const s = new BoundedSet<string>(3);
    for (const x of ['a', 'b', 'c']) s.add(x);
    expect(s.size).toBe(3);
    s.add('a');
    s.add('d');
    // b is the oldest add still held; a was renewed.
    expect(s.has('b')).toBe(false);
    expect(['a', 'c', 'd'].every((x) => s.has(x))).toBe(true);
    s.add('e');
    s.add('f');
    expect(s.has('a')).toBe(false);
    expect(s.has('c')).toBe(false);
    expect(s.size).toBe(3);
  });
});

