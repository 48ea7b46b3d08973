import { describe, expect, it } from 'vitest';
import { DAY, HOUR } from '../core/clock.js';
import { isVin } from '../core/ids.js';
import { SIGNALS, SIGNAL_SPECS, validateSample } from '../core/telemetry.js';
import { urgencyFor } from '../core/urgency.js';
import { createFleet, type Fleet } from './fleet.js';
import { vinCheckDigit } from './vehicles.js';

const START = Date.parse('2026-03-02T00:00:00Z');

function hours(from: number, to: number): number[] {
  const out: number[] = [];
  for (let t = from; t <= to; t += HOUR) out.push(t);
  return out;
}

/** Normal operating ranges of a healthy car (from the Etios OBD logs and common workshop limits). */
function assertHealthy(fleet: Fleet, vin: string, t: number): void {
  const s = fleet.sample(vin, t);
  if (!s) throw new Error('no sample');
  const v = s.signals;
  const running = (v[SIGNALS.engineSpeed] ?? 0) > 0;
  expect(s.dtcs).toEqual([]);
  const coolant = v[SIGNALS.coolantTemp];
  if (coolant !== undefined) expect(coolant).toBeLessThan(100);
  if (running) {
    expect(coolant).toBeGreaterThan(80);
    expect(v[SIGNALS.oilPressure]).toBeGreaterThanOrEqual(180);
    expect(v[SIGNALS.oilPressure]).toBeLessThanOrEqual(550);
  }
  expect(v[SIGNALS.batteryVoltage]).toBeGreaterThanOrEqual(12.2);
  expect(v[SIGNALS.batteryVoltage]).toBeLessThanOrEqual(14.6);
  expect(v[SIGNALS.transmissionTemp]).toBeLessThan(105);
  for (const p of SIGNALS.tyrePressure) {
    expect(v[p]).toBeGreaterThan(215);
    expect(v[p]).toBeLessThan(275);
  }
  for (const p of SIGNALS.padWear) expect(v[p]).toBeLessThan(80);
  const soh = v[SIGNALS.batteryHealth];
  if (soh !== undefined) expect(soh).toBeGreaterThan(75);
}

describe('createFleet', () => {
  it('is deterministic: same seed, same vehicles, ground truth and telemetry', () => {
    const a = createFleet({ seed: 7, vehicles: 50, startTime: START });
    const b = createFleet({ seed: 7, vehicles: 50, startTime: START });
    expect(b.infos()).toEqual(a.infos());
    expect(b.groundTruth()).toEqual(a.groundTruth());
    const vin = a.infos()[3]?.vin ?? '';
    expect(b.sample(vin, START + 5 * DAY + 7 * HOUR)).toEqual(a.sample(vin, START + 5 * DAY + 7 * HOUR));
    const c = createFleet({ seed: 8, vehicles: 50, startTime: START });
    expect(c.groundTruth()).not.toEqual(a.groundTruth());
  });

  it('gives every vehicle a valid, unique VIN with a correct check digit and complete metadata', () => {
    const fleet = createFleet({ seed: 1, vehicles: 300, startTime: START });
    const vins = fleet.infos().map((v) => v.vin);
    expect(new Set(vins).size).toBe(300);
    for (const v of fleet.infos()) {
      expect(isVin(v.vin)).toBe(true);
      expect(v.vin[8]).toBe(vinCheckDigit(v.vin));
      expect(v.model_year).toBeGreaterThanOrEqual(2018);
      expect(['ice', 'hybrid', 'ev']).toContain(v.powertrain);
      expect(v.owner.email).toMatch(/@example\.com$/);
      expect(['email', 'sms', 'push']).toContain(v.owner.preferred_channel);
      expect(['prompt', 'busy', 'reluctant', 'unreachable']).toContain(v.owner.persona);
    }
  });

  it('serves exactly the known VSS signals, traction SoH only for hybrid/EV, and passes core validation', () => {
    const fleet = createFleet({ seed: 2, vehicles: 60, startTime: START });
    for (const info of fleet.infos()) {
      const s = fleet.sample(info.vin, START + 13 * HOUR);
      if (!s) throw new Error('no sample');
      for (const path of Object.keys(s.signals)) expect(SIGNAL_SPECS.has(path)).toBe(true);
      expect(SIGNALS.batteryHealth in s.signals).toBe(info.powertrain !== 'ice');
      expect(SIGNALS.engineSpeed in s.signals).toBe(info.powertrain !== 'ev');
      const wire = fleet.servedSample(info.vin, START + 13 * HOUR);
      const result = validateSample(wire, START + 13 * HOUR);
      expect(result.ok).toBe(true);
    }
  });

  it('has the configured share of healthy vehicles, and faults at every urgency level from the start', () => {
    const fleet = createFleet({ seed: 3, vehicles: 10, startTime: START });
    const truth = fleet.groundTruth();
    expect(truth.filter((t) => t.healthy)).toHaveLength(6);
    const levels = new Set(
      truth.flatMap((t) => t.faults.map((f) => urgencyFor((Date.parse(f.fails_at) - START) / DAY))),
    );
    expect([...levels].sort()).toEqual(['critical', 'high', 'low', 'medium']);
    const big = createFleet({ seed: 3, vehicles: 1000, startTime: START, healthyShare: 0.8 });
    expect(big.groundTruth().filter((t) => t.healthy)).toHaveLength(800);
  });

  it('keeps healthy vehicles inside normal ranges for a month, parked at night and driving by day', () => {
    const fleet = createFleet({ seed: 4, vehicles: 40, startTime: START });
    const healthy = fleet.groundTruth().filter((t) => t.healthy);
    let drivingSamples = 0;
    for (const { vin } of healthy) {
      for (const t of hours(START, START + 30 * DAY)) {
        assertHealthy(fleet, vin, t);
        const hour = new Date(t).getUTCHours();
        const speed = fleet.sample(vin, t)?.signals[SIGNALS.speed] ?? 0;
        if (hour >= 0 && hour < 4) expect(speed).toBe(0);
        if (speed > 0) drivingSamples++;
      }
    }
    expect(drivingSamples).toBeGreaterThan(healthy.length * 30 * 2);
  });

  it('grows the odometer monotonically with driving', () => {
    const fleet = createFleet({ seed: 5, vehicles: 5, startTime: START });
    for (const info of fleet.infos()) {
      let last = -1;
      for (const t of hours(START - 3 * DAY, START + 10 * DAY)) {
        const odo = fleet.sample(info.vin, t)?.signals[SIGNALS.odometer] ?? 0;
        expect(odo).toBeGreaterThanOrEqual(last);
        last = odo;
      }
      const tenDays = (fleet.odometerAt(info.vin, START + 10 * DAY) ?? 0) - (fleet.odometerAt(info.vin, START) ?? 0);
      expect(tenDays).toBeGreaterThan(100);
      expect(tenDays).toBeLessThan(2000);
    }
  });

  it('drifts faulty vehicles across their failure limit near fails_at, with DTCs shortly before', () => {
    const fleet = createFleet({ seed: 6, vehicles: 200, startTime: START, secondFaultShare: 0 });
    /** Is the component past its limit at t? null when the signal is not observable then (engine off). */
    const crossed = (vin: string, component: string, t: number): boolean | null => {
      const v = fleet.sample(vin, t)?.signals ?? {};
      const get = (p: string): number => v[p] ?? NaN;
      const running = get(SIGNALS.engineSpeed) > 0;
      const moving = get(SIGNALS.speed) > 0;
      switch (component) {
        case 'brakes':
          return SIGNALS.padWear.some((p) => get(p) >= 88);
        case 'tyres':
          return SIGNALS.tyrePressure.some((p) => get(p) <= 170);
        case 'battery':
          if (get(SIGNALS.batteryHealth) <= 73) return true;
          return moving ? null : get(SIGNALS.batteryVoltage) <= 11.8;
        case 'cooling':
          return running ? get(SIGNALS.coolantTemp) >= 108 : null;
        case 'engine_oil':
          return running ? get(SIGNALS.oilPressure) <= 150 : null;
        case 'transmission':
          return moving ? get(SIGNALS.transmissionTemp) >= 115 : null;
        default:
          return null;
      }
    };
    const firstObservable = (vin: string, component: string, from: number): boolean | null => {
      for (const t of hours(from, from + 3 * DAY)) {
        const c = crossed(vin, component, t);
        if (c !== null) return c;
      }
      return null;
    };
    const faulty = fleet.groundTruth().filter((t) => !t.healthy);
    expect(faulty.length).toBe(80);
    for (const truth of faulty) {
      const f = truth.faults[0];
      if (!f) throw new Error('faulty vehicle without a fault');
      const failsAt = Date.parse(f.fails_at);
      const onset = Date.parse(f.onset_at);
      // Well before onset: nothing crossed. Within hours after failure: the limit is crossed.
      const early = onset - 4 * DAY - (onset % HOUR);
      for (const t of hours(early, early + 2 * DAY)) expect(crossed(truth.vin, f.component, t)).not.toBe(true);
      const after = failsAt + HOUR - (failsAt % HOUR);
      expect(firstObservable(truth.vin, f.component, after), `${truth.vin} ${f.component}`).toBe(true);
      expect(fleet.sample(truth.vin, after)?.dtcs.length).toBeGreaterThan(0);
      expect(fleet.sample(truth.vin, early)?.dtcs).toEqual([]);
      // Learnable: a month before failure nothing is flagged; in the last few days a DTC is active.
      expect(fleet.sample(truth.vin, failsAt - 12 * HOUR)?.dtcs.length).toBeGreaterThan(0);
    }
  });

  it('service findings match the ground truth and repairs reset the degradation', () => {
    const fleet = createFleet({ seed: 9, vehicles: 30, startTime: START, secondFaultShare: 0 });
    const truth = fleet.groundTruth();
    const faulty = truth.find((t) => !t.healthy && t.faults[0]?.component !== 'battery');
    const healthy = truth.find((t) => t.healthy);
    if (!faulty || !healthy) throw new Error('fleet lacks a faulty or healthy vehicle');
    const f = faulty.faults[0];
    if (!f) throw new Error('no fault');
    const failsAt = Date.parse(f.fails_at);
    const other = f.component === 'tyres' ? 'brakes' : 'tyres';
    const at = failsAt - 2 * HOUR;
    const before = fleet.sample(faulty.vin, failsAt + 2 * HOUR);
    expect(fleet.serviceVehicle(faulty.vin, [f.component, other], at)).toEqual([
      { component: f.component, finding: 'confirmed' },
      { component: other, finding: 'not_found' },
    ]);
    expect(fleet.serviceVehicle(faulty.vin, [f.component], at + HOUR)).toEqual([{ component: f.component, finding: 'not_found' }]);
    // The same service again (a retried request, a journal replayed after a restart) answers as the first time.
    expect(fleet.serviceVehicle(faulty.vin, [f.component, other], at)).toEqual([
      { component: f.component, finding: 'confirmed' },
      { component: other, finding: 'not_found' },
    ]);
    expect(fleet.groundTruthFor(faulty.vin)?.faults[0]?.repaired_at).toBe(new Date(at).toISOString());
    const after = fleet.sample(faulty.vin, failsAt + 2 * HOUR);
    expect(before?.dtcs.length).toBeGreaterThan(0);
    expect(after?.dtcs).toEqual([]);
    // History before the repair is unchanged.
    expect(fleet.sample(faulty.vin, at - HOUR)?.dtcs.length).toBeGreaterThan(0);
    expect(fleet.serviceVehicle(healthy.vin, ['brakes'], START)).toEqual([{ component: 'brakes', finding: 'not_found' }]);
    expect(() => fleet.serviceVehicle('PWMAS1C04T9999999', ['brakes'], START)).toThrow(/no vehicle/);
  });

  it('injects varied bad samples deterministically when badSampleRate > 0', () => {
    const fleet = createFleet({ seed: 10, vehicles: 50, startTime: START, badSampleRate: 0.05 });
    const reasons = new Map<string, number>();
    let total = 0;
    for (const info of fleet.infos()) {
      for (const t of hours(START, START + 4 * DAY)) {
        total++;
        const served = fleet.servedSample(info.vin, t);
        expect(fleet.servedSample(info.vin, t)).toEqual(served);
        const r = validateSample(served, t);
        if (!r.ok) reasons.set(r.rejection.reason, (reasons.get(r.rejection.reason) ?? 0) + 1);
      }
    }
    const bad = [...reasons.values()].reduce((a, b) => a + b, 0);
    expect(bad / total).toBeGreaterThan(0.03);
    expect(bad / total).toBeLessThan(0.07);
    expect([...reasons.keys()].sort()).toEqual(['missing_vin', 'not_finite', 'out_of_range', 'unknown_unit', 'wrong_type']);
    const clean = createFleet({ seed: 10, vehicles: 5, startTime: START });
    for (const info of clean.infos()) {
      for (const t of hours(START, START + DAY)) expect(validateSample(clean.servedSample(info.vin, t), t).ok).toBe(true);
    }
  });

  it('handles 10,000 vehicles', () => {
    const fleet = createFleet({ seed: 11, vehicles: 10_000, startTime: START });
    expect(fleet.size).toBe(10_000);
    let n = 0;
    for (const info of fleet.infos()) if (fleet.sample(info.vin, START + 3 * DAY)) n++;
    expect(n).toBe(10_000);
  });
});
