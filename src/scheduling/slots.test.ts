import { describe, expect, it } from 'vitest';
import { rankSlots } from './slots.js';
import { hourlySlots } from './testing/stub-scheduler.js';

const T = Date.UTC(2025, 0, 6, 8);
const H = 3600_000;
const slots = hourlySlots(T, 6, ['c-b', 'c-a']);
const show = (s: { center_id: string; start: string }) => `${s.center_id}+${(Date.parse(s.start) - T) / H}`;

describe('rankSlots', () => {
  it('puts the earliest slot first, ties broken by centre, and drops slots outside the window', () => {
    const ranked = rankSlots(slots, { urgency: 'high', earliest: T + H, latest: T + 2 * H });
    expect(ranked.map(show)).toEqual(['c-a+1', 'c-b+1', 'c-a+2', 'c-b+2']);
  });

  it("honours the owner's centre and preferred time", () => {
    const ranked = rankSlots(slots, { urgency: 'medium', earliest: T, latest: T + 10 * H, preferredTime: T + 3 * H, centerId: 'c-b' });
    expect(ranked.slice(0, 3).map(show)).toEqual(['c-b+3', 'c-b+2', 'c-b+4']);
  });

  it('ignores preferences when critical: the earliest slot anywhere', () => {
    const ranked = rankSlots(slots, { urgency: 'critical', earliest: T, latest: T + 10 * H, preferredTime: T + 3 * H, centerId: 'c-b' });
    expect(show(ranked[0]!)).toBe('c-a+0');
  });
});
