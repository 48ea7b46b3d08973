/** Clock adapters: the system clock, a scaled virtual clock (simulator, demos) and a manual one (tests). */
import type { Clock } from '../core/clock.js';

export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }
}

export interface ScaledClockOptions {
  /** Virtual time at `realOrigin`. */
  virtualOrigin: number;
  /** Real epoch ms at which the virtual clock read `virtualOrigin`. @default Date.now() */
  realOrigin?: number;
  /** Virtual seconds per real second. @default 1 */
  speed?: number;
}

/**
 * Virtual time that runs `speed` times faster than real time. Processes given the same origin and
 * speed read the same time, so a separately started orchestrator and mock APIs agree.
 */
export class ScaledClock implements Clock {
  readonly virtualOrigin: number;
  readonly realOrigin: number;
  readonly speed: number;
  constructor(opts: ScaledClockOptions) {
    this.virtualOrigin = opts.virtualOrigin;
    this.realOrigin = opts.realOrigin ?? Date.now();
    this.speed = opts.speed ?? 1;
    if (!(this.speed > 0) || !Number.isFinite(this.speed)) throw new RangeError('speed must be a positive number');
  }
  now(): number {
    return Math.floor(this.virtualOrigin + (Date.now() - this.realOrigin) * this.speed);
  }
  /** Real milliseconds until virtual time `t` (0 when past). */
  realDelayUntil(t: number): number {
    return Math.max(0, (t - this.now()) / this.speed);
  }
}

/** A clock that moves only when told to: deterministic unit tests. */
export class ManualClock implements Clock {
  constructor(private t: number) {}
  now(): number {
    return this.t;
  }
  set(t: number): void {
    this.t = t;
  }
  advance(ms: number): number {
    this.t += ms;
    return this.t;
  }
}
