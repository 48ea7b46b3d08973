/** Failures of the bus, each with a stable code so callers never match on message text. */

export const BusErrorCodes = {
  closed: 'PW_BUS_CLOSED',
  badConfig: 'PW_BUS_CONFIG',
} as const;
export type BusErrorCode = (typeof BusErrorCodes)[keyof typeof BusErrorCodes];

export class BusClosedError extends Error {
  readonly code = BusErrorCodes.closed;
  constructor(message = 'bus is closed', options?: ErrorOptions) {
    super(message, options);
    this.name = 'BusClosedError';
  }
}

/** A subscription or adapter option the bus cannot honour (for example members of one group disagreeing). */
export class BusConfigError extends Error {
  readonly code = BusErrorCodes.badConfig;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'BusConfigError';
  }
}

export function isBusClosed(err: unknown): err is BusClosedError {
  return err instanceof Error && (err as { code?: unknown }).code === BusErrorCodes.closed;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
