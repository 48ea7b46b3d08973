import { describe, expect, it } from 'vitest';
import { DAY, HOUR } from '../core/clock.js';
import { dailyMedians, daysUntil, daysUntilAccelerating, fitLine, median, valueAt } from './trend.js';

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

describe('daysUntilAccelerating', () => {
  const now = Date.UTC(2026, 0, 10);
  const daily = (f: (d: number) => number, days = 6): { t: number; v: number }[] =>
    Array.from({ length: days }, (_, i) => ({ t: now - (days - 1 - i) * DAY, v: f(-(days - 1 - i)) }));

  it('finds the crossing of an accelerating wear curve where a straight line is days late', () => {
    // v = 70 + 4d + 0.5d² (d in days from now): 95 is reached at d = 4.35.
    const points = daily((d) => 70 + 4 * d + 0.5 * d * d);
    const days = daysUntilAccelerating(points, 95, now)!;
    expect(days).toBeCloseTo(-4 + Math.sqrt(16 + 50), 5);
    const line = fitLine(points)!;
    expect((95 - valueAt(line, now)) / line.slope).toBeGreaterThan(days + 1);
  });

  it('does not let a curve bending away from the target stretch the time beyond the slope at now', () => {
    // Decelerating: v = 70 + 4d − 0.3d²; the slope at now is 4/day.
    const days = daysUntilAccelerating(daily((d) => 70 + 4 * d - 0.3 * d * d), 90, now)!;
    expect(days).toBeCloseTo(5, 5);
  });

  it('works for falling signals and says null when the series moves away', () => {
    expect(daysUntilAccelerating(daily((d) => 200 - 5 * d - 0.4 * d * d), 150, now)).toBeCloseTo((-5 + Math.sqrt(25 + 80)) / 0.8, 5);
    expect(daysUntilAccelerating(daily((d) => 200 + 2 * d), 150, now)).toBeNull();
    expect(daysUntilAccelerating(daily((d) => 200 - d, 2), 150, now)).toBeNull();
  });

  it('says 0, not null, when the course has already gone through the target', () => {
    // A resting battery sliding from 11.75 V through a failure point of 11.6 V, now at 11.57 V.
    expect(daysUntilAccelerating(daily((d) => 11.57 + 0.036 * -d), 11.6, now)).toBe(0);
    expect(daysUntilAccelerating(daily((d) => 140 - 6 * d), 150, now)).toBe(0);
    // A step up to a plateau short of the target: the fitted course overshoots, the readings do not.
    const step = daily((d) => (d < -2 ? 90 : 116));
    expect(daysUntilAccelerating(step, 118, now)).not.toBe(0);
    // Never near the target and moving away from it: no crossing, behind or ahead.
    expect(daysUntilAccelerating(daily((d) => 170 + 2 * d), 150, now)).toBeNull();
  });
});
