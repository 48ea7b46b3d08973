export { createSchedulingAgent, toAppointment } from './agent.js';
export type { SchedulingAgentOptions } from './agent.js';
export { createSchedulerClient } from './client.js';
export type { SchedulerClient, SchedulerClientOptions, AvailabilityQuery, BookingOutcome, FetchFn } from './client.js';
export {
  SCHEDULER_ERROR_CODES,
  SchedulerClientError,
  InvalidRequestError,
  NotFoundError,
  SlotUnavailableError,
  NotReschedulableError,
  SchedulerUnavailableError,
  BadResponseError,
  isSlotUnavailable,
  isSchedulerUnavailable,
} from './errors.js';
export type { SchedulerErrorCode } from './errors.js';
export { rankSlots } from './slots.js';
export type { SlotPreferences } from './slots.js';
