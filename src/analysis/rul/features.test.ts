import { describe, expect, it } from 'vitest';
import type { CmapssUnit } from './cmapss.js';
import { featureCount, featureNames, fitFeatureSpec, unitFeatures } from './features.js';

function unitOf(values: (t: number) => number[], length: number): CmapssUnit {
  const rows = Array.from({ length }, (_, t) => {
    const r = new Float64Array(24).fill(7); // constant everywhere unless set below
    values(t).forEach((v, i) => (r[3 + i] = v));
    return r;
  });
  return { unit: 1, cycles: rows.map((_, t) => t + 1), rows };
}

describe('fitFeatureSpec', () => {
  it('keeps only sensors that vary, and z-scores them on the training set', () => {
    // s1 varies, s2 flips between two values (like s6 in FD001), the rest are constant.
    const u = unitOf((t) => [t, t % 2], 10);
    const spec = fitFeatureSpec([u]);
    expect(spec.channels).toEqual([3]);
    expect(spec.mean[0]).toBeCloseTo(4.5, 12);
    expect(spec.std[0]).toBeCloseTo(Math.sqrt(8.25), 12);
    expect(featureNames(spec)).toEqual(['s1_mean', 's1_recent', 's1_slope', 's1_drift', 'cycle']);
  });
});

describe('unitFeatures', () => {
  it('summarises the trailing window: mean, recent mean, least-squares slope, drift from the start, cycle', () => {
    const u = unitOf((t) => [2 * t + 3, (t * 7919) % 13], 50);
    const spec = { ...fitFeatureSpec([u]), window: 10, recentWindow: 3, baselineWindow: 5 };
    spec.mean = spec.mean.map(() => 0);
    spec.std = spec.std.map(() => 1);
    const nf = featureCount(spec);
    const f = unitFeatures(u, spec, [0, 1, 49]);
    // At t = 49 the window holds t = 40..49: values 83..101.
    const at49 = Array.from(f.subarray(2 * nf, 2 * nf + 4));
    expect(at49[0]).toBeCloseTo(92, 10); // mean
    expect(at49[1]).toBeCloseTo(99, 10); // mean of 97, 99, 101
    expect(at49[2]).toBeCloseTo(2, 10); // slope per cycle
    expect(at49[3]).toBeCloseTo(99 - 7, 10); // recent minus mean of the first 5 (3..11 → 7)
    expect(f[3 * nf - 1]).toBe(50);
    // A window longer than the history uses what there is; a slope needs 3 points.
    expect(f[0]).toBe(3);
    expect(f[2]).toBe(0);
    expect(f[nf + 0]).toBe(4);
  });
});
