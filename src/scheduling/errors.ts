/** Scheduler-API client failures: one class per code, so callers test `code`/`instanceof`, never message text. */

export const SCHEDULER_ERROR_CODES = {
  invalidRequest: 'invalid_request',
  notFound: 'not_found',
  slotUnavailable: 'slot_unavailable',
  notReschedulable: 'not_reschedulable',
  unavailable: 'scheduler_unavailable',
  badResponse: 'bad_response',
} as const;
export type SchedulerErrorCode = (typeof SCHEDULER_ERROR_CODES)[keyof typeof SCHEDULER_ERROR_CODES];

export class SchedulerClientError extends Error {
  override name = 'SchedulerClientError';
  constructor(
    readonly code: SchedulerErrorCode,
    /** HTTP status, or 0 when no answer arrived (network error, timeout) */
    readonly status: number,
    message: string,
    readonly field?: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export class InvalidRequestError extends SchedulerClientError {
  override name = 'InvalidRequestError';
  constructor(message: string, field?: string) {
    super(SCHEDULER_ERROR_CODES.invalidRequest, 400, message, field);
  }
}

export class NotFoundError extends SchedulerClientError {
  override name = 'NotFoundError';
  constructor(message: string) {
    super(SCHEDULER_ERROR_CODES.notFound, 404, message);
  }
}

/** 409: the slot was taken between the availability query and the booking. Try another slot. */
export class SlotUnavailableError extends SchedulerClientError {
  override name = 'SlotUnavailableError';
  constructor(message: string) {
    super(SCHEDULER_ERROR_CODES.slotUnavailable, 409, message);
  }
}

/** 409: the appointment is cancelled or completed and cannot move. */
export class NotReschedulableError extends SchedulerClientError {
  override name = 'NotReschedulableError';
  constructor(message: string) {
    super(SCHEDULER_ERROR_CODES.notReschedulable, 409, message);
  }
}

/** No usable answer: unreachable, timed out, 5xx. Transient: the same call may succeed later. */
export class SchedulerUnavailableError extends SchedulerClientError {
  override name = 'SchedulerUnavailableError';
  constructor(message: string, status = 0, options?: ErrorOptions) {
    super(SCHEDULER_ERROR_CODES.unavailable, status, message, undefined, options);
  }
}

/** A 2xx whose body is not what the contract says. */
export class BadResponseError extends SchedulerClientError {
  override name = 'BadResponseError';
  constructor(message: string, status: number) {
    super(SCHEDULER_ERROR_CODES.badResponse, status, message);
  }
}

export const isSlotUnavailable = (err: unknown): err is SlotUnavailableError => err instanceof SlotUnavailableError;
export const isSchedulerUnavailable = (err: unknown): err is SchedulerUnavailableError => err instanceof SchedulerUnavailableError;
export const isNotFoundOrNotReschedulable = (err: unknown): boolean => err instanceof NotFoundError || err instanceof NotReschedulableError;

/** Maps an error body `{error, message, field}` and status to its class. */
export function errorFromResponse(status: number, body: unknown): SchedulerClientError {
  const o = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  const message = typeof o['message'] === 'string' ? o['message'] : `scheduler answered ${status}`;
  const field = typeof o['field'] === 'string' ? o['field'] : undefined;
  if (status >= 500 || status === 429) return new SchedulerUnavailableError(message, status);
  switch (o['error']) {
    case 'slot_unavailable':
      return new SlotUnavailableError(message);
    case 'not_reschedulable':
      return new NotReschedulableError(message);
    case 'not_found':
      return new NotFoundError(message);
    default:
      return status === 404 ? new NotFoundError(message) : new InvalidRequestError(message, field);
  }
}
