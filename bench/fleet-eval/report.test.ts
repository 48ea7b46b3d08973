import { describe, expect, it } from 'vitest';
import { DAY, HOUR } from '../../src/core/clock.js';
import { createFleet } from '../../src/sim/fleet.js';
import { percentile, summarize } from './report.js';
import { emptyTally, evaluatePart, mergeTallies, type EvalOptions, type FaultRecord } from './tally.js';

const start = Date.UTC(2026, 0, 5);
const opts: EvalOptions = { seed: 's', vehicles: 10, days: 30, everyMs: 6 * HOUR, windowMs: 14 * DAY, noHistory: false, start };

const fault = (over: Partial<FaultRecord>): FaultRecord => ({
  component: 'brakes',
  onsetAt: start - 10 * DAY,
  failsAt: start + 10 * DAY,
  firstLeadDays: null,
  ratedCritical: false,
  errors: {},
  ...over,
});

describe('fleet evaluation figures', () => {
  it('counts a fault as found 7 days ahead only when a check at least 7 days before its failure predicted it', () => {
    const t = emptyTally();
    t.faults.push(
      fault({ firstLeadDays: 8.5 }), // found in time
      fault({ firstLeadDays: 3 }), // found, but late for 7 days
      fault({ component: 'tyres', failsAt: start + 5 * DAY, firstLeadDays: 5 }), // fails too soon to be eligible at 7 days
      fault({ component: 'tyres', failsAt: start + 40 * DAY, firstLeadDays: 12 }), // fails after the evaluated days
    );
    const overall = summarize(t, opts).rows.at(-1)!;
    expect(overall.recall['7d']).toEqual({ detected: 1, eligible: 2, recall: 0.5 });
    expect(overall.recall['1d']).toEqual({ detected: 3, eligible: 3, recall: 1 });
    expect(summarize(t, opts).missed7d).toHaveLength(1);
  });

  it('rates the critical target on faults failing within a day of the first check, and names the ones missed', () => {
    const t = emptyTally();
    t.faults.push(fault({ failsAt: start + 0.5 * DAY, ratedCritical: true }), fault({ failsAt: start + 0.8 * DAY, ratedCritical: false, last: 'said 1.2 days' }), fault({ failsAt: start + 1.5 * DAY }));
    const s = summarize(t, opts);
    expect(s.critical).toMatchObject({ total: 2, rated_critical: 1 });
    expect(s.critical.missed.map((f) => f.last)).toEqual(['said 1.2 days']);
    expect(s.targets.every_critical_rated_critical).toBe(false);
  });

  it('takes precision from the checks and fails the healthy target on a single high rating', () => {
    const t = emptyTally();
    t.checkPrecision.brakes = { tp: 90, fp: 10 };
    t.checkPrecision.tyres = { tp: 0, fp: 1 };
    t.faults.push(fault({ firstLeadDays: 9 }));
    let s = summarize(t, opts);
    expect(s.rows.find((r) => r.component === 'overall')!.precision_per_check).toEqual({ tp: 90, fp: 11, precision: 90 / 101 });
    expect(s.targets).toMatchObject({ precision_ge_0_9: false, recall_7d_ge_0_95: true, no_healthy_high_or_critical: true });
    t.healthy.highOrCritical = 1;
    s = summarize(t, opts);
    expect(s.targets.no_healthy_high_or_critical).toBe(false);
  });

  it('reports the error at a lead only for faults checked then, misses apart, with how many were degrading', () => {
    const t = emptyTally();
    // The first began 50 days before failing, so it was degrading 30 days before; the others began 20 days before.
    t.faults.push(fault({ errors: { 7: 1, 30: null }, onsetAt: start - 40 * DAY }), fault({ errors: { 7: 3 } }), fault({ errors: { 7: null } }));
    const e = summarize(t, opts).rows.at(-1)!.dtf_error;
    expect(e['7d']).toMatchObject({ n: 2, missed: 1, drifting: 3 });
    expect(e['30d']).toMatchObject({ n: 0, missed: 1, drifting: 1, median: null });
    expect(percentile([3, 1, 2, 10], 0.5)).toBe(3);
  });

  it('splits a real fleet among workers so that the parts add up to the whole', () => {
    const small: EvalOptions = { ...opts, vehicles: 12, days: 8, everyMs: 24 * HOUR };
    const whole = evaluatePart(small, 1, 1);
    const merged = mergeTallies([evaluatePart(small, 1, 3), evaluatePart(small, 2, 3), evaluatePart(small, 3, 3)]);
    const planted = createFleet({ seed: small.seed, vehicles: small.vehicles, startTime: start, badSampleRate: 0 })
      .groundTruth()
      .reduce((n, v) => n + v.faults.length, 0);
    expect(whole.faults).toHaveLength(planted);
    const key = (f: FaultRecord): string => `${f.component}:${f.failsAt}`;
    expect(merged.faults.map(key).sort()).toEqual(whole.faults.map(key).sort());
    expect(merged.confusion).toEqual(whole.confusion);
    expect(merged.checkPrecision).toEqual(whole.checkPrecision);
    expect(merged.healthy).toEqual(whole.healthy);
    expect(merged.samplesAnalyzed).toBe(whole.samplesAnalyzed);
  });
});
