/**
 * Daily driving pattern: which hours a vehicle drives, how far it goes each day, and the odometer.
 * A pure function of (vehicle key, time), with a one-entry cache per vehicle so the odometer is cheap
 * to advance as the clock moves forward.
 */
import { HOUR } from '../core/clock.js';
import { unit } from './random.js';

/** Probability of driving during each local hour (commutes, lunch, errands; parked at night). */
const DRIVE_PROBABILITY = [
  0, 0, 0, 0, 0, 0, 0.05, 0.6, 0.7, 0.2, 0.1, 0.15, 0.3, 0.15, 0.1, 0.15, 0.4, 0.55, 0.45, 0.2, 0.15, 0.1, 0.02, 0,
];

export interface DrivingProfile {
  key: number;
  /** Local time = UTC + offset hours. */
  hourOffset: number;
  /** Mean kilometres on a day with driving. */
  dailyKm: number;
  /** Local day index (days since epoch) of the fleet's first day; the odometer is anchored there. */
  dayZero: number;
  /** Odometer at the start of `dayZero`. */
  initialKm: number;
  /** Memo of the odometer at the start of a day, advanced forward. */
  cache: { day: number; km: number };
}

interface LocalTime {
  day: number;
  hour: number;
  /** Fraction of the current hour elapsed, [0, 1). */
  fraction: number;
}

export function localTime(p: DrivingProfile, t: number): LocalTime {
  const local = t + p.hourOffset * HOUR;
  const hourIndex = Math.floor(local / HOUR);
  return { day: Math.floor(hourIndex / 24), hour: ((hourIndex % 24) + 24) % 24, fraction: (local % HOUR) / HOUR };
}

export function drivesDuring(p: DrivingProfile, day: number, hour: number): boolean {
  return unit(p.key, 11, day, hour) < (DRIVE_PROBABILITY[hour] ?? 0);
}

function drivingHours(p: DrivingProfile, day: number): number {
  let n = 0;
  for (let h = 0; h < 24; h++) if (drivesDuring(p, day, h)) n++;
  return n;
}

function dayKm(p: DrivingProfile, day: number): number {
  return drivingHours(p, day) > 0 ? p.dailyKm * (0.5 + unit(p.key, 12, day)) : 0;
}

function kmAtStartOfDay(p: DrivingProfile, day: number): number {
  if (day >= p.cache.day) {
    let km = p.cache.km;
    for (let d = p.cache.day; d < day; d++) km += dayKm(p, d);
    p.cache = { day, km };
    return km;
  }
  // Looking back (history, repair times) must not move the memo away from "now".
  let km = p.initialKm;
  if (day >= p.dayZero) for (let d = p.dayZero; d < day; d++) km += dayKm(p, d);
  else for (let d = day; d < p.dayZero; d++) km -= dayKm(p, d);
  return Math.max(0, km);
}

/** Odometer (km) at time t. */
export function odometerAt(p: DrivingProfile, t: number): number {
  const lt = localTime(p, t);
  const start = kmAtStartOfDay(p, lt.day);
  const hours = drivingHours(p, lt.day);
  if (hours === 0) return start;
  let done = 0;
  for (let h = 0; h < lt.hour; h++) if (drivesDuring(p, lt.day, h)) done++;
  if (drivesDuring(p, lt.day, lt.hour)) done += lt.fraction;
  return start + (dayKm(p, lt.day) * done) / hours;
}

export function isDriving(p: DrivingProfile, t: number): boolean {
  const lt = localTime(p, t);
  return drivesDuring(p, lt.day, lt.hour);
}

/** Hours since the vehicle last stopped (Infinity if it has not driven in the last 16 hours). */
export function hoursParked(p: DrivingProfile, t: number): number {
  const lt = localTime(p, t);
  for (let back = 1; back <= 16; back++) {
    const hourIndex = lt.day * 24 + lt.hour - back;
    const day = Math.floor(hourIndex / 24);
    if (drivesDuring(p, day, hourIndex - day * 24)) return back - 1 + lt.fraction;
  }
  return Infinity;
}

/** Outside air temperature: a daily cycle peaking mid-afternoon plus day-to-day weather. */
export function ambientAt(p: DrivingProfile, t: number): number {
  const lt = localTime(p, t);
  const weather = (unit(p.key, 13, lt.day) - 0.5) * 8;
  return 11 + weather + 7 * Math.sin((2 * Math.PI * (lt.hour + lt.fraction - 9)) / 24);
}

