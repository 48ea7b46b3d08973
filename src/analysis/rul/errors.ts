/** Failures of the remaining-useful-life tools, each with a stable code so callers never match on text. */
export const RulErrorCodes = {
  fileNotFound: 'RUL_FILE_NOT_FOUND',
  emptyInput: 'RUL_EMPTY_INPUT',
  badColumns: 'RUL_BAD_COLUMNS',
  notANumber: 'RUL_NOT_A_NUMBER',
  badOrder: 'RUL_BAD_ORDER',
  badModel: 'RUL_BAD_MODEL',
  noTrainingData: 'RUL_NO_TRAINING_DATA',
  badInput: 'RUL_BAD_INPUT',
} as const;
export type RulErrorCode = (typeof RulErrorCodes)[keyof typeof RulErrorCodes];

export class RulInputError extends Error {
  override readonly name = 'RulInputError';
  constructor(
    readonly code: RulErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export function isRulInputError(err: unknown): err is RulInputError {
  return err instanceof RulInputError;
}
