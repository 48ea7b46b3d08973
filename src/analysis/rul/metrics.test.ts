import { describe, expect, it } from 'vitest';
import { nasaScore, rmse } from './metrics.js';

describe('rmse', () => {
  it('is the root of the mean squared error', () => {
    expect(rmse([1, 2, 3], [1, 2, 5])).toBeCloseTo(Math.sqrt(4 / 3), 12);
    expect(rmse([10, 20], [13, 16])).toBeCloseTo(Math.sqrt((9 + 16) / 2), 12);
  });

  it('refuses mismatched or empty inputs', () => {
    expect(() => rmse([1], [1, 2])).toThrow(/equal, non-empty/);
    expect(() => rmse([], [])).toThrow(/equal, non-empty/);
  });
});

describe('nasaScore', () => {
  it('punishes a late prediction harder than an early one by the same margin', () => {
    expect(nasaScore([110], [100])).toBeCloseTo(Math.E - 1, 12); // d = +10 → e^1 − 1
    expect(nasaScore([87], [100])).toBeCloseTo(Math.E - 1, 12); // d = −13 → e^1 − 1
    expect(nasaScore([90], [100])).toBeCloseTo(Math.exp(10 / 13) - 1, 12); // 1.1581
    expect(nasaScore([90], [100])).toBeLessThan(nasaScore([110], [100]));
  });

  it('is zero for exact predictions and sums over engines', () => {
    expect(nasaScore([5, 6], [5, 6])).toBe(0);
    // SOURCE.md fixture: true RUL + 10 for 100 engines scores 100·(e − 1) = 171.83.
    const truth = Array.from({ length: 100 }, (_, i) => i + 7);
    expect(
      nasaScore(
        truth.map((t) => t + 10),
        truth,
      ),
    ).toBeCloseTo(171.828, 2);
    expect(
      nasaScore(
        truth.map((t) => t - 13),
        truth,
      ),
    ).toBeCloseTo(171.828, 2);
  });
});
