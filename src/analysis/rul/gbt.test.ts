import { describe, expect, it } from 'vitest';
import { DEFAULT_GBT_PARAMS, predictGbt, trainGbt, type Matrix } from './gbt.js';
import { rmse } from './metrics.js';
import { mulberry32 } from '../../core/prng.js';

function dataset(n: number, seed: number): { x: Matrix; y: Float64Array } {
  const rand = mulberry32(seed);
  const data = new Float64Array(n * 3);
  const y = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    const a = rand() * 10;
    const b = rand() * 10;
    data.set([a, b, rand()], r * 3); // third column is noise
    y[r] = (a > 5 ? 20 : 0) + 3 * b + (rand() - 0.5);
  }
  return { x: { rows: n, cols: 3, data }, y };
}

describe('trainGbt', () => {
  it('learns a step plus a slope from features it must choose among', () => {
    const train = dataset(2000, 1);
    const test = dataset(500, 2);
    const model = trainGbt(train.x, train.y, { ...DEFAULT_GBT_PARAMS, rounds: 200, learningRate: 0.1 }, 1);
    const p = predictGbt(model, test.x);
    expect(rmse(Array.from(p), Array.from(test.y))).toBeLessThan(1.5);
    const used = new Set(model.trees.flatMap((t) => t.feature.filter((f) => f >= 0)));
    expect(used.has(0) && used.has(1)).toBe(true);
  });

  it('gives identical trees for the same seed and different ones for another', () => {
    const { x, y } = dataset(500, 3);
    const params = { ...DEFAULT_GBT_PARAMS, rounds: 20 };
    expect(JSON.stringify(trainGbt(x, y, params, 5))).toBe(JSON.stringify(trainGbt(x, y, params, 5)));
    expect(JSON.stringify(trainGbt(x, y, params, 6))).not.toBe(JSON.stringify(trainGbt(x, y, params, 5)));
  });

  it('predicts with raw thresholds exactly what training saw through its bins', () => {
    const { x, y } = dataset(300, 4);
    const model = trainGbt(x, y, { ...DEFAULT_GBT_PARAMS, rounds: 1, learningRate: 1, rowSample: 1, colSample: 1 }, 1);
    const p = predictGbt(model, x);
    // One full-data tree with unit learning rate: leaf means (shrunk by lambda) of the residuals.
    const mean = Array.from(y).reduce((a, b) => a + b, 0) / y.length;
    expect(Math.abs(Array.from(p).reduce((a, b) => a + b, 0) / p.length - mean)).toBeLessThan(0.5);
    expect(rmse(Array.from(p), Array.from(y))).toBeLessThan(6);
  });
});
