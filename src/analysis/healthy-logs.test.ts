/**
 * Specificity on real data: OBD-II logs of a healthy 2014 Toyota Etios (carOBD, see data/carobd/SOURCE.md;
 * the five columns the analysis reads, kept in the repository so this test always runs). Cold starts,
 * cranking dips and charging voltage must not raise a prediction.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DAY, HOUR } from '../core/clock.js';
import { SIGNALS, type TelemetrySample } from '../core/telemetry.js';
import { analyzeVehicle } from './analyze.js';
import { HistoryStore } from './history.js';
import { T0, TEST_VIN } from './testing/series.js';

const DIR = fileURLToPath(new URL('../../data/carobd/', import.meta.url));
const FILES = ['idle1.csv', 'idle18.csv', 'drive1.csv', 'live1.csv', 'long1.csv', 'ufpe1.csv'];

/** The log has about two rows per second; columns: run time, rpm, speed, coolant, module voltage. */
function loadLog(file: string, start: number): TelemetrySample[] {
  const lines = readFileSync(DIR + file, 'utf8').split(/\r?\n/).slice(1);
  const out: TelemetrySample[] = [];
  for (const [i, line] of lines.entries()) {
    const f = line.split(',').map((x) => Number.parseFloat(x));
    if (f.length < 5 || f.slice(0, 5).some((x) => !Number.isFinite(x))) continue;
    out.push({
      vin: TEST_VIN,
      ts: start + i * 500,
      signals: {
        [SIGNALS.engineSpeed]: f[1]!,
        [SIGNALS.speed]: f[2]!,
        [SIGNALS.coolantTemp]: f[3]!,
        [SIGNALS.batteryVoltage]: f[4]!,
      },
      dtcs: [],
    });
  }
  return out;
}

describe('healthy real OBD-II logs (carOBD Toyota Etios)', () => {
  it.each(FILES)('%s alone raises no prediction', (file) => {
    const samples = loadLog(file, T0 + 8 * HOUR);
    expect(samples.length).toBeGreaterThan(1000);
    const r = analyzeVehicle(samples, samples.at(-1)!.ts);
    expect(r.predicted_failures).toEqual([]);
    expect(r.predicted_days_to_failure).toBeNull();
  });

  it('six logs on six days, twice over, raise no trend', () => {
    const samples = [...FILES, ...FILES].flatMap((file, d) => loadLog(file, T0 + d * DAY + 8 * HOUR));
    const r = analyzeVehicle(samples, samples.at(-1)!.ts);
    expect(r.predicted_failures).toEqual([]);
    expect(r.anomalies).toEqual([]);
  });

  it('eighteen days through the agent’s memory, one request a day, raise no prediction and no drift from its own normal', () => {
    const store = new HistoryStore();
    const days = [...FILES, ...FILES, ...FILES].map((file, d) => loadLog(file, T0 + d * DAY + 8 * HOUR));
    for (let d = 0; d < days.length; d++) {
      const window = days.slice(Math.max(0, d - 13), d + 1).flat();
      const r = analyzeVehicle(window, window.at(-1)!.ts + HOUR, {}, undefined, { store, vin: TEST_VIN });
      expect(r.predicted_failures).toEqual([]);
      expect(r.anomalies.filter((a) => a.kind === 'drift' || a.kind === 'trend')).toEqual([]);
    }
    // The memory did learn this car's normal (warm coolant, resting battery) on the way.
    const learned = store.slots.filter((slot) => store.vehicle(TEST_VIN).baseline(slot) !== null).map((slot) => slot.signal);
    expect(learned).toEqual(expect.arrayContaining([SIGNALS.coolantTemp]));
  });
});
