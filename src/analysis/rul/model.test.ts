import { describe, expect, it } from 'vitest';
import { RulErrorCodes, RulInputError } from './errors.js';
import { DEFAULT_GBT_PARAMS } from './gbt.js';
import { rmse } from './metrics.js';
import { mulberry32 } from '../../core/prng.js';
import {
  parseRulModel,
  predictRul,
  RUL_MODEL_VERSION,
  serializeRulModel,
  trainRulModel,
  type RulTrainOptions,
} from './model.js';
import { syntheticUnits } from './synthetic.js';

const FAST: Partial<RulTrainOptions> = { members: 2, gbt: { ...DEFAULT_GBT_PARAMS, rounds: 150, learningRate: 0.1 } };
const train = syntheticUnits({ units: 40, seed: 1, minLife: 150, maxLife: 260, onset: 100 }).units;

describe('trainRulModel', () => {
  it('learns a synthetic degradation: held-out engines cut mid-life are predicted within a few cycles', () => {
    const model = trainRulModel(train, { ...FAST, seed: 3 });
    const rand = mulberry32(5);
    const test = syntheticUnits({
      units: 30,
      seed: 99,
      minLife: 150,
      maxLife: 260,
      onset: 100,
      cutAt: () => 0.55 + 0.4 * rand(),
    });
    const predicted = predictRul(model, test.units);
    expect(predicted.map((p) => p.unit)).toEqual(test.units.map((u) => u.unit));
    const capped = test.trueRul.map((t) => Math.min(125, t));
    expect(
      rmse(
        predicted.map((p) => p.rul),
        capped,
      ),
    ).toBeLessThan(10);
    // The constant sensors are dropped (the noise-only one stays: it varies); the settings never count.
    expect(model.features.channels).toEqual([4, 5, 6, 7]);
  });

  it('is deterministic: the same seed writes the same JSON, another seed does not', () => {
    const a = serializeRulModel(trainRulModel(train, { ...FAST, seed: 11 }));
    const b = serializeRulModel(trainRulModel(train, { ...FAST, seed: 11 }));
    const c = serializeRulModel(trainRulModel(train, { ...FAST, seed: 12 }));
    expect(a).toBe(b);
    expect(c).not.toBe(a);
  });

  it('round-trips through its JSON file with the same predictions, clipped to [0, cap]', () => {
    const model = trainRulModel(train, { ...FAST, seed: 1 });
    const reread = parseRulModel(serializeRulModel(model), 'm.json');
    expect(predictRul(reread, train)).toEqual(predictRul(model, train));
    for (const p of predictRul(model, train)) expect(p.rul).toBeGreaterThanOrEqual(0);
  });
});

describe('parseRulModel', () => {
  const good = JSON.parse(
    serializeRulModel(trainRulModel(train.slice(0, 5), { members: 1, gbt: { ...DEFAULT_GBT_PARAMS, rounds: 3 } })),
  ) as Record<string, unknown>;
  const reason = (value: unknown): string => {
    try {
      parseRulModel(typeof value === 'string' ? value : JSON.stringify(value), 'm.json');
    } catch (err) {
      expect(err).toBeInstanceOf(RulInputError);
      expect((err as RulInputError).code).toBe(RulErrorCodes.badModel);
      return (err as Error).message;
    }
    throw new Error('accepted a bad model');
  };

  it('refuses files that are not a Pitwall RUL model, saying why in one line', () => {
    expect(reason('{oops')).toBe('m.json: not a Pitwall RUL model (not JSON)');
    expect(reason([1])).toMatch(/not a JSON object/);
    expect(reason({ ...good, format: 'onnx' })).toMatch(/format is "onnx", expected "pitwall-rul-model"/);
    expect(reason({ ...good, version: RUL_MODEL_VERSION + 1 })).toMatch(
      /RUL model version 2 is not supported .*retrain/,
    );
    expect(reason({ ...good, members: [] })).toMatch(/\(members\)/);
  });

  it('refuses a tree whose child points backwards, which would loop forever', () => {
    const members = good.members as { base: number; trees: { left: number[] }[] }[];
    const broken = structuredClone(members);
    const tree = broken[0]!.trees[0]!;
    const internal = (tree as unknown as { feature: number[] }).feature.findIndex((f) => f >= 0);
    tree.left[internal] = 0;
    expect(reason({ ...good, members: broken })).toMatch(/members\[0\]\.trees\[0\]/);
  });
});
