/**
 * The only source of time in Pitwall. Epoch milliseconds, UTC.
 * Nothing in `src/core` reads it: the shell reads it once per step and passes `now` in.
 */
export interface Clock {
  now(): number;
}

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}
