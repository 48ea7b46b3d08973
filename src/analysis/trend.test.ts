import { describe, expect, it } from 'vitest';
import { DAY, HOUR } from '../core/clock.js';
import { dailyMedians, daysUntil, fitLine, median } from './trend.js';

describe('trend', () => {
  it('fits an exact line with r² = 1 and extrapolates to a limit', () => {
    const pts = [0, 1, 2, 3, 4].map((d) => ({ t: d * DAY, v: 10 + 2 * d }));
    const fit = fitLine(pts)!;
    expect(fit.slope).toBeCloseTo(2, 9);
    expect(fit.r2).toBeCloseTo(1, 9);
    expect(daysUntil(fit, fit.slope, 30, 4 * DAY)).toBeCloseTo(6, 9);
    expect(daysUntil(fit, fit.slope, 0, 4 * DAY)).toBeNull();
  });

  it('reduces each day to its median, so one wild reading does not bend the trend', () => {
    const pts = [
      { t: 8 * HOUR, v: 12.5 },
      { t: 9 * HOUR, v: 10.3 },
      { t: 10 * HOUR, v: 12.6 },
      { t: DAY + 8 * HOUR, v: 12.4 },
    ];
    expect(dailyMedians(pts).map((p) => p.v)).toEqual([12.5, 12.4]);
    expect(median([3, 1, 2, 4])).toBe(2.5);
  });

  it('has no fit for a single point or a single instant', () => {
    expect(fitLine([{ t: 0, v: 1 }])).toBeNull();
    expect(fitLine([{ t: 0, v: 1 }, { t: 0, v: 2 }])).toBeNull();
  });
});
