import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../core/prng.js';
import { FEATURE_NAMES } from './features.js';
import { parseFleetModel, predictFleetDays, serializeFleetModel, trainFleetModel, type TrainingRow } from './model.js';

/** Rows whose target is the margin divided by the weekly slope (what a good model must pick up), plus noise. */
function rows(n: number, seed: number): TrainingRow[] {
  const rand = mulberry32(seed);
  return Array.from({ length: n }, () => {
    const f = FEATURE_NAMES.map(() => rand() * 10);
    const margin = 1 + rand() * 20;
    const slope = 0.5 + rand() * 4;
    f[1] = margin;
    f[3] = slope;
    return { features: f, days: margin / slope };
  });
}

describe('fleet model', () => {
  const train = rows(3000, 1);
  const model = trainFleetModel(train, { seed: 5, histories: 12, confirmed: 3, notFound: 9, trainedAt: new Date('2026-01-01T00:00:00Z') });

  it('learns days to failure from the features within a fraction of the spread', () => {
    const test = rows(300, 2);
    const err = test.map((r) => Math.abs(predictFleetDays(model, r.features) - r.days));
    const naive = test.map((r) => Math.abs(train.reduce((a, b) => a + b.days, 0) / train.length - r.days));
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean(err)).toBeLessThan(0.35 * mean(naive));
  });

  it('is the same model for the same seed, and survives a round trip through its JSON file', () => {
    const again = trainFleetModel(train, { seed: 5, histories: 12, confirmed: 3, notFound: 9, trainedAt: new Date('2026-01-01T00:00:00Z') });
    expect(serializeFleetModel(again)).toBe(serializeFleetModel(model));
    const parsed = parseFleetModel(serializeFleetModel(model), 'model.json');
    expect(predictFleetDays(parsed, train[0]!.features)).toBe(predictFleetDays(model, train[0]!.features));
    expect(parsed.training).toEqual({ rows: 3000, histories: 12, confirmed: 3, not_found: 9 });
  });

  it('keeps predictions within [0, cap]', () => {
    for (const r of rows(50, 3)) {
      const d = predictFleetDays(model, r.features);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(model.cap_days);
    }
  });

  it('refuses files that are not a fleet model of this version with one clear line', () => {
    const good = JSON.parse(serializeFleetModel(model)) as Record<string, unknown>;
    expect(() => parseFleetModel('nope', 'm.json')).toThrow(/m\.json: not a Pitwall fleet model \(not JSON\)/);
    expect(() => parseFleetModel(JSON.stringify({ ...good, format: 'x' }), 'm.json')).toThrow(/format is "x"/);
    expect(() => parseFleetModel(JSON.stringify({ ...good, version: 9 }), 'm.json')).toThrow(/version 9 is not supported.*pitwall model retrain/);
    expect(() => parseFleetModel(JSON.stringify({ ...good, feature_names: ['a'] }), 'm.json')).toThrow(/features are not the ones/);
    const broken = structuredClone(good) as typeof good & { gbt: { trees: { left: number[] }[] } };
    broken.gbt.trees[0]!.left[0] = 0; // a cycle
    expect(() => parseFleetModel(JSON.stringify(broken), 'm.json')).toThrow(/gbt\.trees\[0\]/);
  });

  it('says there is nothing to learn from without rows', () => {
    expect(() => trainFleetModel([])).toThrow(/no labelled history/);
  });
});
