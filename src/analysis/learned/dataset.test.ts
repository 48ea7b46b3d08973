import { describe, expect, it } from 'vitest';
import { DAY, HOUR } from '../../core/clock.js';
import type { Component, TelemetrySample } from '../../core/telemetry.js';
import { createFleet } from '../../sim/fleet.js';
import { examplesFromHistory } from './dataset.js';
import { FEATURE_NAMES } from './features.js';

const START = Date.UTC(2026, 0, 5);
const fleet = createFleet({ seed: 'dataset-test', vehicles: 40, startTime: START });
const truth = fleet.groundTruth();

function history(vin: string, from: number, to: number): TelemetrySample[] {
  const out: TelemetrySample[] = [];
  for (let t = from; t <= to; t += HOUR) out.push(fleet.sample(vin, t)!);
  return out;
}

describe('examplesFromHistory', () => {
  it('pairs the failing component’s features at each checkpoint with the days left, fewer as failure nears', () => {
    const gt = truth.find((g) => g.faults.some((f) => Date.parse(f.fails_at) > START + 10 * DAY && Date.parse(f.fails_at) < START + 40 * DAY))!;
    const fault = gt.faults.find((f) => Date.parse(f.fails_at) > START + 10 * DAY)!;
    const at = Date.parse(fault.fails_at);
    const rows = examplesFromHistory(gt.vin, history(gt.vin, START - 14 * DAY, at), [{ component: fault.component as Component, at, outcome: 'failed' }], { lookbackDays: 20 });
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.every((r) => r.features.length === FEATURE_NAMES.length)).toBe(true);
    const days = rows.map((r) => r.days);
    expect(days.every((d, i) => i === 0 || d < days[i - 1]!)).toBe(true);
    expect(Math.max(...days)).toBeLessThanOrEqual(20);
    expect(Math.min(...days)).toBeLessThanOrEqual(1);
    // Near the end the failing component's margin to its failure point is smaller than at the start.
    expect(rows.at(-1)!.features[1]!).toBeLessThan(rows[0]!.features[1]!);
  });

  it('labels every checkpoint before a part found healthy with the cap', () => {
    const gt = truth.find((g) => g.healthy)!;
    const at = START + 20 * DAY;
    const rows = examplesFromHistory(gt.vin, history(gt.vin, START - 14 * DAY, at), [{ component: 'brakes', at, outcome: 'not_found' }], { capDays: 60 });
    expect(rows.length).toBeGreaterThan(10);
    expect(new Set(rows.map((r) => r.days))).toEqual(new Set([60]));
  });

  it('has nothing to say without samples or events', () => {
    expect(examplesFromHistory('X', [], [{ component: 'brakes', at: START, outcome: 'confirmed' }])).toEqual([]);
    expect(examplesFromHistory('X', history(truth[0]!.vin, START, START + DAY), [])).toEqual([]);
  });
});
