import { describe, expect, it } from 'vitest';
import { URGENCY_LEVELS, isUrgency, isWorse, priorityOf, urgencyFor, urgencyRank } from './urgency.js';

describe('urgencyFor', () => {
  it.each([
    [0, 'critical'],
    [0.99, 'critical'],
    [1, 'high'],
    [6.99, 'high'],
    [7, 'medium'],
    [29.99, 'medium'],
    [30, 'low'],
    [365, 'low'],
  ] as const)('%s days to failure → %s', (days, level) => {
    expect(urgencyFor(days)).toBe(level);
  });

  it('treats an overdue prediction (negative days) as critical', () => {
    expect(urgencyFor(-2)).toBe('critical');
  });
});

describe('priorityOf', () => {
  it('maps low … critical to envelope priority 1 … 4, and no urgency to 1', () => {
    expect(URGENCY_LEVELS.map(priorityOf)).toEqual([1, 2, 3, 4]);
    expect(priorityOf('critical')).toBe(4);
    expect(priorityOf(null)).toBe(1);
  });
});

describe('isWorse', () => {
  it('is true only for a strictly more urgent level, or any level after none', () => {
    expect(isWorse('high', 'medium')).toBe(true);
    expect(isWorse('critical', 'high')).toBe(true);
    expect(isWorse('high', 'high')).toBe(false);
    expect(isWorse('low', 'critical')).toBe(false);
    expect(isWorse('low', null)).toBe(true);
  });

  it('follows the rank order', () => {
    for (const a of URGENCY_LEVELS) {
      for (const b of URGENCY_LEVELS) expect(isWorse(a, b)).toBe(urgencyRank(a) > urgencyRank(b));
    }
  });
});

describe('isUrgency', () => {
  it('accepts only the lower-case wire names', () => {
    for (const u of URGENCY_LEVELS) expect(isUrgency(u)).toBe(true);
    for (const v of ['CRITICAL', 'urgent', '', null, 4, undefined]) expect(isUrgency(v)).toBe(false);
  });
});
