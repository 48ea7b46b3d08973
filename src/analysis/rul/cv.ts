/**
 * Cross-validation by engine: whole units are held out, because rows of one unit are strongly
 * correlated and a row-level split would leak its future into training.
 */
import type { CmapssUnit } from './cmapss.js';
import { rmse, nasaScore } from './metrics.js';
import { predictAt, trainRulModel, type RulTrainOptions } from './model.js';
import { mulberry32 } from '../../core/prng.js';

export interface CvOptions {
  folds: number;
  /** shuffles units into folds */
  seed: number;
  /**
   * Test-like points: cycles of a held-out unit with at least this many cycles seen (the shortest
   * FD001 test trajectory has 31) and at most `maxTrueRul` cycles left (the test truths reach 145).
   */
  minSeen: number;
  maxTrueRul: number;
}

export const DEFAULT_CV_OPTIONS: CvOptions = { folds: 5, seed: 7, minSeen: 31, maxTrueRul: 150 };

export interface CvResult {
  /** RMSE against the capped label at every cycle of the held-out units */
  rmseCappedAllCycles: number;
  /** RMSE against the true (uncapped) RUL at the test-like points */
  rmseTestLike: number;
  /** NASA score at the test-like points, scaled to 100 engines to be comparable with the test set */
  scorePer100: number;
  points: number;
  perFold: number[];
}

export function foldsOf(units: readonly CmapssUnit[], folds: number, seed: number): CmapssUnit[][] {
  const order = [...units];
  const rand = mulberry32(seed);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const out: CmapssUnit[][] = Array.from({ length: folds }, () => []);
  order.forEach((u, i) => out[i % folds]!.push(u));
  return out;
}

export function crossValidate(
  units: readonly CmapssUnit[],
  train: Partial<RulTrainOptions>,
  options: CvOptions = DEFAULT_CV_OPTIONS,
  onFold?: (fold: number, rmseTestLike: number) => void,
): CvResult {
  const folds = foldsOf(units, options.folds, options.seed);
  const capped: [number[], number[]] = [[], []];
  const like: [number[], number[]] = [[], []];
  const perFold: number[] = [];
  const cap = train.cap ?? 125;
  folds.forEach((held, k) => {
    const model = trainRulModel(folds.filter((_, i) => i !== k).flat(), train);
    const foldLike: [number[], number[]] = [[], []];
    for (const u of held) {
      const positions = u.rows.map((_, i) => i);
      const pred = predictAt(model, u, positions);
      const last = u.cycles.at(-1)!;
      positions.forEach((p) => {
        const truth = last - u.cycles[p]!;
        capped[0].push(pred[p]!);
        capped[1].push(Math.min(cap, truth));
        if (p + 1 >= options.minSeen && truth <= options.maxTrueRul) {
          foldLike[0].push(pred[p]!);
          foldLike[1].push(truth);
        }
      });
    }
    like[0].push(...foldLike[0]);
    like[1].push(...foldLike[1]);
    const r = rmse(foldLike[0], foldLike[1]);
    perFold.push(r);
    onFold?.(k + 1, r);
  });
  return {
    rmseCappedAllCycles: rmse(capped[0], capped[1]),
    rmseTestLike: rmse(like[0], like[1]),
    scorePer100: (nasaScore(like[0], like[1]) / like[0].length) * 100,
    points: like[0].length,
    perFold,
  };
}
