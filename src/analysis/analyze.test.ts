import { describe, expect, it } from 'vitest';
import { DAY, HOUR } from '../core/clock.js';
import { SIGNALS } from '../core/telemetry.js';
import { analyzeVehicle } from './analyze.js';
import { FEATURE_NAMES } from './learned/features.js';
import { trainFleetModel } from './learned/model.js';
import { T0, TEST_VIN, lastTs, noise, prng, series } from './testing/series.js';

const FL = SIGNALS.padWear[0]!;
const TYRE_FL = SIGNALS.tyrePressure[0]!;

/** A healthy car: warm-up then ~88 °C, good oil pressure, a resting battery with cranking dips, stable tyres, slow pad wear. */
function healthySignals(rand: () => number) {
  return (day: number, i: number): Record<string, number> => {
    const parked = i % 4 === 0;
    const crank = i % 4 === 1;
    const warmingUp = i % 4 === 2;
    const rpm = parked || crank ? 0 : 800 + rand() * 2200;
    const coolant = parked ? 20 + noise(rand, 5) : warmingUp ? 30 + rand() * 50 : 88 + noise(rand, 4);
    const s: Record<string, number> = {
      [SIGNALS.engineSpeed]: rpm,
      [SIGNALS.speed]: rpm === 0 ? 0 : rand() * 100,
      [SIGNALS.coolantTemp]: coolant,
      [SIGNALS.oilPressure]: rpm === 0 ? 0 : 120 + rpm * 0.08 + noise(rand, 25),
      [SIGNALS.batteryVoltage]: crank ? 10.3 + noise(rand, 0.2) : rpm === 0 ? 12.5 + noise(rand, 0.15) : 14.1 + noise(rand, 0.2),
      [SIGNALS.transmissionTemp]: rpm === 0 ? 25 : 85 + noise(rand, 6),
    };
    for (const p of SIGNALS.tyrePressure) s[p] = 230 + noise(rand, 6);
    for (const p of SIGNALS.padWear) s[p] = 30 + 0.02 * day + noise(rand, 0.4);
    return s;
  };
}

describe('analyzeVehicle', () => {
  it('predicts nothing for a healthy vehicle with normal noise, warm-up and cranking dips', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      const samples = series({ days: 30, perDay: 24, signals: healthySignals(prng(seed)) });
      const r = analyzeVehicle(samples, lastTs(samples));
      expect(r.predicted_failures, `seed ${seed}`).toEqual([]);
      expect(r.anomalies, `seed ${seed}`).toEqual([]);
      expect(r.predicted_days_to_failure).toBeNull();
      expect(r.failure_probability).toBe(0);
      expect(r.samples_analyzed).toBe(720);
      expect(r.confidence).toBeGreaterThan(0.9);
    }
  });

  it('extrapolates linear pad wear to the 95 % failure point within a day of the true date, the 85 % service limit in the evidence', () => {
    const rand = prng(42);
    // 50 % → 64.5 % over 30 days at 0.5 %/day: the limit is reached 41 days after the last sample, the failure point 61.
    const samples = series({
      days: 30,
      perDay: 6,
      signals: (day) => ({ [FL]: 50 + 0.5 * day + noise(rand, 1), [SIGNALS.engineSpeed]: 0 }),
    });
    const now = lastTs(samples);
    const truth = (95 - (50 + 0.5 * ((now - T0) / DAY))) / 0.5;
    const r = analyzeVehicle(samples, now);
    expect(r.predicted_failures).toHaveLength(1);
    const f = r.predicted_failures[0]!;
    expect(f.component).toBe('brakes');
    expect(f.mode).toBe('pad_wear');
    expect(Math.abs(f.days_to_failure - truth)).toBeLessThan(1);
    expect(f.days_to_failure_low!).toBeLessThanOrEqual(f.days_to_failure);
    expect(f.days_to_failure_high!).toBeGreaterThanOrEqual(f.days_to_failure);
    expect(f.probability).toBeGreaterThanOrEqual(0.5);
    expect(r.predicted_days_to_failure).toBe(f.days_to_failure);
    expect(r.anomalies.map((a) => a.kind)).toEqual(['trend']);
    expect(f.evidence?.[0]).toMatch(/PadWear trending \+0\.(49|50)/);
    expect(f.evidence?.[0]).toMatch(/limit 85 % in (40|41|42)\.\d days, failure point 95 % in/);
  });

  it('counts days from `now`, not from the last sample', () => {
    const samples = series({ days: 20, perDay: 2, signals: (day) => ({ [FL]: 60 + day }) });
    const last = lastTs(samples);
    const a = analyzeVehicle(samples, last).predicted_days_to_failure!;
    const b = analyzeVehicle(samples, last + 5 * DAY).predicted_days_to_failure!;
    expect(a - b).toBeCloseTo(5, 5);
  });

  it('reports a slow leak in one tyre and not the other three', () => {
    const rand = prng(7);
    const samples = series({
      days: 14,
      perDay: 8,
      signals: (day) => {
        const s: Record<string, number> = {};
        for (const p of SIGNALS.tyrePressure) s[p] = 235 + noise(rand, 3);
        s[TYRE_FL] = 240 - 3 * day + noise(rand, 3);
        return s;
      },
    });
    const r = analyzeVehicle(samples, lastTs(samples));
    expect(r.predicted_failures.map((f) => f.component)).toEqual(['tyres']);
    expect(r.anomalies).toHaveLength(1);
    expect(r.anomalies[0]!.signal).toBe(TYRE_FL);
    // ~201 kPa losing 3 kPa a day: the 180 kPa service limit in ~7 days, the 150 kPa failure point in ~17.
    expect(r.anomalies[0]!.message).toMatch(/limit 180 kPa in [5-8]\.\d days/);
    expect(r.predicted_days_to_failure!).toBeGreaterThan(14);
    expect(r.predicted_days_to_failure!).toBeLessThan(20);
  });

  it('calls a trend whose fitted line is already past the service limit due there now, and counts on to the failure point', () => {
    const samples = series({ days: 14, perDay: 8, signals: (day) => ({ [TYRE_FL]: 235 - 4 * day }) });
    const r = analyzeVehicle(samples, lastTs(samples) + 6 * HOUR);
    const f = r.predicted_failures[0]!;
    expect(f.component).toBe('tyres');
    expect(f.evidence?.[0]).toMatch(/limit 180 kPa in 0 days/);
    // Below 180 kPa and falling 4 kPa a day: 150 kPa in about 7 days.
    expect(f.days_to_failure).toBeGreaterThan(6);
    expect(f.days_to_failure).toBeLessThan(8.5);
  });

  it('treats sustained overheating as a failure now, and a single hot reading as an anomaly only', () => {
    const hot = series({
      days: 1,
      perDay: 12,
      signals: (_d, i) => ({ [SIGNALS.engineSpeed]: 2000, [SIGNALS.coolantTemp]: i < 6 ? 90 : 116 }),
    });
    const r = analyzeVehicle(hot, lastTs(hot));
    expect(r.predicted_failures[0]).toMatchObject({ component: 'cooling', mode: 'overheating', days_to_failure: 0.25 });
    expect(r.predicted_days_to_failure).toBe(0.25);
    expect(r.anomalies[0]!.kind).toBe('threshold');

    const blip = [{ vin: TEST_VIN, ts: T0 + HOUR, signals: { [SIGNALS.engineSpeed]: 2000, [SIGNALS.coolantTemp]: 118 }, dtcs: [] }];
    const r2 = analyzeVehicle(blip, T0 + HOUR);
    expect(r2.predicted_failures).toEqual([]);
    expect(r2.anomalies).toHaveLength(1);
  });

  it('turns a trouble code into evidence and a prediction for its component', () => {
    const samples = series({
      days: 2,
      perDay: 4,
      signals: () => ({ [SIGNALS.engineSpeed]: 1500, [SIGNALS.coolantTemp]: 92 }),
      dtcs: (d) => (d === 1 ? ['P0217'] : []),
    });
    const r = analyzeVehicle(samples, lastTs(samples));
    expect(r.predicted_failures).toHaveLength(1);
    const f = r.predicted_failures[0]!;
    expect(f.component).toBe('cooling');
    expect(f.evidence?.[0]).toContain('P0217');
    expect(f.evidence?.[0]).toContain('Engine Coolant Over Temperature');
    expect(r.predicted_days_to_failure).toBeLessThan(1);
    expect(r.anomalies).toEqual([expect.objectContaining({ kind: 'dtc', value: 'P0217' })]);
  });

  it('merges a trend and a code on the same component, raising the probability', () => {
    const rand = prng(9);
    const samples = series({
      days: 20,
      perDay: 4,
      signals: (day) => ({ [SIGNALS.engineSpeed]: 0, [SIGNALS.speed]: 0, [SIGNALS.batteryVoltage]: 12.6 - 0.03 * day + noise(rand, 0.03) }),
      dtcs: (d) => (d === 19 ? ['P0562'] : []),
    });
    const r = analyzeVehicle(samples, lastTs(samples));
    expect(r.predicted_failures).toHaveLength(1);
    const f = r.predicted_failures[0]!;
    expect(f.component).toBe('battery');
    expect(f.evidence).toHaveLength(2);
    expect(f.days_to_failure).toBe(5);
  });

  it('compares oil pressure at one engine speed: a week of faster driving is not a falling trend', () => {
    const rand = prng(11);
    // Healthy pump, but the driver shifts from motorway (high rpm) to town (low rpm) over two weeks.
    const samples = series({
      days: 14,
      perDay: 6,
      signals: (day) => {
        const rpm = 3200 - day * 130 + noise(rand, 300);
        return { [SIGNALS.engineSpeed]: rpm, [SIGNALS.speed]: 40, [SIGNALS.oilPressure]: 120 + 0.09 * rpm + noise(rand, 10) };
      },
    });
    expect(analyzeVehicle(samples, lastTs(samples)).predicted_failures).toEqual([]);
    // The same driving with a pump losing 4 % a day is found.
    const rand2 = prng(11);
    const failing = series({
      days: 14,
      perDay: 6,
      signals: (day) => {
        const rpm = 3200 - day * 130 + noise(rand2, 300);
        return { [SIGNALS.engineSpeed]: rpm, [SIGNALS.speed]: 40, [SIGNALS.oilPressure]: (120 + 0.09 * rpm) * (1 - 0.04 * day) + noise(rand2, 10) };
      },
    });
    const r = analyzeVehicle(failing, lastTs(failing));
    expect(r.predicted_failures.map((f) => f.component)).toEqual(['engine_oil']);
    expect(r.predicted_failures[0]!.evidence?.[0]).toContain('2000 rpm');
  });

  it('reads the resting 12 V battery of an electric car, which reports no engine speed', () => {
    const samples = series({
      days: 14,
      perDay: 6,
      signals: (day) => ({ [SIGNALS.speed]: 0, [SIGNALS.batteryVoltage]: 12.6 - 0.05 * day }),
    });
    const r = analyzeVehicle(samples, lastTs(samples));
    expect(r.predicted_failures.map((f) => f.mode)).toEqual(['weak_12v_battery']);
  });

  it('rates a tyre past its service limit and still falling fast by when it reaches the failure point', () => {
    // 205 kPa falling 12 kPa a day: 169 kPa on day 3, below the 180 kPa limit; 150 kPa is 1.6 days on.
    const samples = series({ days: 4, perDay: 6, signals: (day) => ({ [TYRE_FL]: 205 - 12 * day }) });
    const f = analyzeVehicle(samples, lastTs(samples)).predicted_failures[0]!;
    expect(f.component).toBe('tyres');
    expect(f.days_to_failure).toBeGreaterThan(0.5);
    expect(f.days_to_failure).toBeLessThan(2);
  });

  it('answers an empty sample set with nothing predicted and zero confidence', () => {
    const r = analyzeVehicle([], T0);
    expect(r).toMatchObject({ predicted_failures: [], predicted_days_to_failure: null, confidence: 0, samples_analyzed: 0 });
  });

  describe('with a learned fleet model', () => {
    // A model that always answers 30 days: what the blend does is then plain to see.
    const thirty = trainFleetModel(
      Array.from({ length: 200 }, (_, i) => ({ features: FEATURE_NAMES.map((_n, j) => (i * 7 + j) % 13), days: 30 })),
      { seed: 1, histories: 4, trainedAt: new Date('2026-02-01T00:00:00Z') },
    );
    const wearing = series({ days: 20, perDay: 4, signals: (day) => ({ [FL]: 60 + day, [SIGNALS.engineSpeed]: 0 }) });

    it('blends its days into the rules’ on a log scale, shows both in the evidence and names itself in model_version', () => {
      const now = lastTs(wearing);
      const rules = analyzeVehicle(wearing, now).predicted_failures[0]!;
      const f = analyzeVehicle(wearing, now, { learned: thirty }).predicted_failures[0]!;
      const expected = Math.expm1((Math.log1p(rules.days_to_failure) + Math.log1p(30)) / 2);
      expect(f.days_to_failure).toBeCloseTo(expected, 1);
      expect(f.days_to_failure_high!).toBeGreaterThanOrEqual(29.9);
      expect(f.evidence?.at(-1)).toMatch(/learned fleet model \(trained 2026-02-01 on 4 vehicle histories\): 30 days; rules: [\d.]+ days/);
      expect(analyzeVehicle(wearing, now, { learned: thirty }).model_version).toMatch(/\+fleet-2026-02-01/);
    });

    it('never moves a critical call of the rules later', () => {
      const hot = series({ days: 6, perDay: 12, signals: (d) => ({ [SIGNALS.engineSpeed]: 2000, [SIGNALS.coolantTemp]: 95 + 3 * d }) });
      const now = lastTs(hot);
      const rules = analyzeVehicle(hot, now).predicted_failures[0]!;
      expect(rules.days_to_failure).toBeLessThan(1);
      expect(analyzeVehicle(hot, now, { learned: thirty }).predicted_failures[0]!.days_to_failure).toBe(rules.days_to_failure);
    });

    it('cannot raise an alarm the rules do not', () => {
      const calm = series({ days: 20, perDay: 4, signals: () => ({ [FL]: 30, [SIGNALS.engineSpeed]: 0 }) });
      expect(analyzeVehicle(calm, lastTs(calm), { learned: thirty }).predicted_failures).toEqual([]);
    });
  });
});
