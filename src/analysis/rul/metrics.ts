/** The two figures every C-MAPSS paper reports, so ours can stand beside them. */

export function rmse(predicted: readonly number[], actual: readonly number[]): number {
  checkLengths(predicted, actual);
  let sum = 0;
  for (let i = 0; i < predicted.length; i++) {
    const d = predicted[i]! - actual[i]!;
    sum += d * d;
  }
  return Math.sqrt(sum / predicted.length);
}

/**
 * NASA PHM08 scoring function (Saxena et al. 2008): d = predicted − true; a late prediction (d ≥ 0)
 * costs exp(d/10) − 1, an early one exp(−d/13) − 1, because predicting failure too late is the
 * expensive mistake. Summed, not averaged, so it depends on the number of engines.
 */
export function nasaScore(predicted: readonly number[], actual: readonly number[]): number {
  checkLengths(predicted, actual);
  let sum = 0;
  for (let i = 0; i < predicted.length; i++) {
    const d = predicted[i]! - actual[i]!;
    sum += d < 0 ? Math.exp(-d / 13) - 1 : Math.exp(d / 10) - 1;
  }
  return sum;
}

function checkLengths(predicted: readonly number[], actual: readonly number[]): void {
  if (predicted.length !== actual.length || predicted.length === 0) {
    throw new RangeError(
      `need equal, non-empty lengths, got ${predicted.length} predictions and ${actual.length} true values`,
    );
  }
}
