/** Failures of the Store adapters, with stable codes (STYLE 8, 9); callers never match on message text. */

export const StoreErrorCodes = {
  invalidCursor: 'PW_INVALID_CURSOR',
  invalidArgument: 'PW_STORE_INVALID_ARGUMENT',
} as const;
export type StoreErrorCode = (typeof StoreErrorCodes)[keyof typeof StoreErrorCodes];

/** A paging cursor that this store did not hand out (tampered, truncated, or from another listing). */
export class InvalidCursorError extends Error {
  readonly code = StoreErrorCodes.invalidCursor;
  constructor(options?: ErrorOptions) {
    super('invalid cursor: pass back the next_cursor of a previous page unchanged', options);
    this.name = 'InvalidCursorError';
  }
}

/** An argument outside what the port allows (for example a page size below 1). */
export class StoreArgumentError extends Error {
  readonly code = StoreErrorCodes.invalidArgument;
  constructor(message: string) {
    super(message);
    this.name = 'StoreArgumentError';
  }
}

export function isInvalidCursor(err: unknown): err is InvalidCursorError {
  return err instanceof Error && (err as { code?: unknown }).code === StoreErrorCodes.invalidCursor;
}

export function isStoreArgumentError(err: unknown): err is StoreArgumentError {
  return err instanceof Error && (err as { code?: unknown }).code === StoreErrorCodes.invalidArgument;
}
