import { describe, expect, it } from 'vitest';
import { HOUR } from '../core/clock.js';
import { SIGNALS } from '../core/telemetry.js';
import { screenSamples } from './quality.js';
import { noise, prng, series } from './testing/series.js';

const COOLANT = SIGNALS.coolantTemp;
const SOH = SIGNALS.batteryHealth;
const TYRE = SIGNALS.tyrePressure[0]!;

describe('screenSamples', () => {
  it('keeps a sudden real fault at the newest readings: a drop that persists is no spike', () => {
    const rand = prng(3);
    const samples = series({ days: 3, perDay: 24, signals: (_d, i) => ({ [TYRE]: 230 + noise(rand, 3), [SIGNALS.engineSpeed]: i * 100 }) });
    samples[samples.length - 1]!.signals[TYRE] = 90;
    const r = screenSamples(samples);
    expect(r.excluded.spike).toBe(0);
    expect(r.samples[r.samples.length - 1]!.signals[TYRE]).toBe(90);
  });

  it('does not call a slow, rounded signal stuck (battery health changing 0.1 % every few days)', () => {
    const samples = series({ days: 30, perDay: 24, signals: (day, i) => ({ [SOH]: Math.round((95 - day * 0.03) * 10) / 10, [SIGNALS.engineSpeed]: (i % 4) * 1000 }) });
    const r = screenSamples(samples);
    expect(r.signalsStuck).toEqual([]);
    expect(r.excluded.stuck_sensor).toBe(0);
  });

  it('does not call a constant reading stuck while the vehicle is parked (nothing else moves)', () => {
    const samples = series({ days: 2, perDay: 24, signals: () => ({ [COOLANT]: 18, [SIGNALS.engineSpeed]: 0 }) });
    expect(screenSamples(samples).signalsStuck).toEqual([]);
  });

  it('excludes the repeats of a stuck run but keeps its first reading and the other signals', () => {
    const rand = prng(5);
    const samples = series({ days: 4, perDay: 24, signals: (_d, i) => ({ [COOLANT]: 88 + noise(rand, 3), [SIGNALS.engineSpeed]: 800 + (i % 5) * 600 }) });
    for (const s of samples.slice(40)) s.signals[COOLANT] = 71;
    const r = screenSamples(samples);
    expect(r.signalsStuck).toEqual([COOLANT]);
    expect(r.excluded.stuck_sensor).toBe(samples.length - 41);
    expect(r.samples.filter((s) => s.signals[COOLANT] === 71)).toHaveLength(1);
    expect(r.samples.every((s) => s.signals[SIGNALS.engineSpeed] !== undefined)).toBe(true);
  });

  it('counts a sensor dropout: hours without coolant while the other signals keep coming', () => {
    const rand = prng(9);
    const samples = series({ days: 2, perDay: 48, signals: (_d, i) => ({ [COOLANT]: 88 + noise(rand, 2), [SIGNALS.batteryVoltage]: 14 + noise(rand, 0.1), [SIGNALS.engineSpeed]: i * 10 }) });
    for (const s of samples.slice(10, 20)) delete s.signals[COOLANT];
    const r = screenSamples(samples);
    expect(r.gaps).toBe(1);
    expect(samples[20]!.ts - samples[9]!.ts).toBeGreaterThan(HOUR);
  });
});
