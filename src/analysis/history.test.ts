import { describe, expect, it } from 'vitest';
import { DAY } from '../core/clock.js';
import { SIGNALS } from '../core/telemetry.js';
import { analyzeVehicle } from './analyze.js';
import { BASELINE_DAYS, HISTORY_DAYS, HistoryStore } from './history.js';
import { SIGNAL_RULES } from './rules/thresholds.js';
import { T0, TEST_VIN, lastTs, noise, prng, series } from './testing/series.js';

const TRANS = SIGNALS.transmissionTemp;
const rule = SIGNAL_RULES.find((r) => r.id === 'transmission_over_temperature')!;
const day0 = Math.floor(T0 / DAY);
const at = (d: number): number => (day0 + d) * DAY + DAY / 2;

describe('VehicleHistory', () => {
  const store = new HistoryStore();
  const slot = store.slot(rule, TRANS)!;

  it('remembers daily levels to the rule resolution and returns only days before the ones a request brings', () => {
    const h = store.vehicle('VIN-A');
    h.record(slot, [0, 1, 2, 3].map((d) => ({ t: at(d), v: 85.123 + d })), day0 + 4);
    const older = h.older(slot, day0 + 2);
    expect(older.map((p) => Math.round((p.t - T0) / DAY - 0.5))).toEqual([0, 1]);
    expect(older[0]!.v).toBeCloseTo(85.12, 5);
    expect(h.older(store.slot(rule, TRANS)!, day0 + 10)).toHaveLength(4);
  });

  it(`keeps at most ${HISTORY_DAYS} days: an older day's place is taken by a newer one`, () => {
    const h = store.vehicle('VIN-B');
    const days = Array.from({ length: HISTORY_DAYS + 10 }, (_, d) => ({ t: at(d), v: 80 + d * 0.1 }));
    h.record(slot, days, day0 + HISTORY_DAYS + 10);
    const kept = h.older(slot, day0 + 1000);
    expect(kept).toHaveLength(HISTORY_DAYS);
    expect(kept[0]!.t).toBe(at(10));
  });

  it(`learns a robust normal from its first ${BASELINE_DAYS} complete days and keeps it while the signal drifts`, () => {
    const h = store.vehicle('VIN-C');
    const rand = prng(3);
    const days = Array.from({ length: BASELINE_DAYS }, (_, d) => ({ t: at(d), v: 85 + noise(rand, 0.5) }));
    days[5] = { t: at(5), v: 120 }; // one odd day does not move a median
    h.record(slot, days, day0 + BASELINE_DAYS - 1);
    expect(h.baseline(slot)).toBeNull(); // the last day is still today: not complete
    h.record(slot, [], day0 + BASELINE_DAYS);
    const b = h.baseline(slot)!;
    expect(b.level).toBeGreaterThan(84.5);
    expect(b.level).toBeLessThan(85.5);
    expect(b.spread).toBeLessThan(1);
    h.record(slot, [{ t: at(BASELINE_DAYS + 1), v: 100 }], day0 + BASELINE_DAYS + 2);
    expect(h.baseline(slot)!.level).toBe(b.level);
  });

  it('learns no normal from a fortnight in which the signal moves steadily, and learns one once it is steady', () => {
    const h = store.vehicle('VIN-T');
    const rand = prng(5);
    // First seen already overheating: +1 °C a day for a fortnight. That is a fault on its way, not a normal.
    const rising = Array.from({ length: BASELINE_DAYS }, (_, d) => ({ t: at(d), v: 88 + d + noise(rand, 0.3) }));
    h.record(slot, rising, day0 + BASELINE_DAYS);
    expect(h.baseline(slot)).toBeNull();
    // Still no normal while it keeps climbing.
    h.record(slot, [{ t: at(BASELINE_DAYS), v: 88 + BASELINE_DAYS }], day0 + BASELINE_DAYS + 1);
    expect(h.baseline(slot)).toBeNull();
    // Serviced, then a steady fortnight on the new parts: that is the normal.
    h.forgetBefore(day0 + BASELINE_DAYS + 1);
    const steady = Array.from({ length: BASELINE_DAYS }, (_, d) => ({ t: at(BASELINE_DAYS + 1 + d), v: 86 + noise(rand, 0.3) }));
    h.record(slot, steady, day0 + 2 * BASELINE_DAYS + 1);
    const b = h.baseline(slot)!;
    expect(b.level).toBeCloseTo(86, 0);
    expect(b.spread).toBeLessThan(1);

    // Nor is a fortnight that holds a step (the last days of a fault, then a part swapped unrecorded).
    const stepped = store.vehicle('VIN-S');
    stepped.record(slot, Array.from({ length: BASELINE_DAYS }, (_, d) => ({ t: at(d), v: (d < 7 ? 100 : 86) + noise(rand, 0.3) })), day0 + BASELINE_DAYS);
    expect(stepped.baseline(slot)).toBeNull();
  });

  it('forgets the days before a service and relearns the normal on the new parts', () => {
    const h = store.vehicle('VIN-D');
    h.record(slot, Array.from({ length: 20 }, (_, d) => ({ t: at(d), v: 85 })), day0 + 20);
    expect(h.baseline(slot)).not.toBeNull();
    h.forgetBefore(day0 + 15);
    expect(h.older(slot, day0 + 100).map((p) => p.t)).toEqual([15, 16, 17, 18, 19].map(at));
    expect(h.baseline(slot)).toBeNull();
  });

  it('holds a vehicle in under 2 KB of state', () => {
    expect(store.vehicle('VIN-E').byteLength).toBeLessThan(2048);
  });
});

describe('HistoryStore', () => {
  it('forgets the least recently analysed vehicle beyond its bound', () => {
    const store = new HistoryStore({ maxVehicles: 2 });
    store.vehicle('A');
    store.vehicle('B');
    store.vehicle('A');
    store.vehicle('C');
    expect([store.has('A'), store.has('B'), store.has('C')]).toEqual([true, false, true]);
    expect(store.size).toBe(2);
    expect(() => new HistoryStore({ maxVehicles: 0 })).toThrow(/maxVehicles/);
  });

  it('hands a vehicle’s memory to another store as a snapshot that restores it exactly', () => {
    const a = new HistoryStore();
    const slot = a.slot(rule, TRANS)!;
    const rand = prng(5);
    a.vehicle('A').record(slot, Array.from({ length: 20 }, (_, d) => ({ t: at(d), v: 85 + noise(rand, 0.5) })), day0 + 20);
    const snap = a.snapshot('A')!;
    expect(a.snapshot('nobody')).toBeNull();
    expect(snap.length).toBeLessThan(3000);
    const b = new HistoryStore();
    expect(b.restore('A', snap)).toBe(true);
    const restored = b.vehicle('A');
    expect(restored.older(b.slot(rule, TRANS)!, day0 + 100)).toEqual(a.vehicle('A').older(slot, day0 + 100));
    expect(restored.baseline(b.slot(rule, TRANS)!)).toEqual(a.vehicle('A').baseline(slot));
    expect(b.snapshot('A')).toBe(snap);
  });

  it('drops a snapshot written under other rules or damaged, instead of misreading it', () => {
    const a = new HistoryStore();
    a.vehicle('A').record(a.slot(rule, TRANS)!, [{ t: at(0), v: 90 }], day0 + 1);
    const snap = a.snapshot('A')!;
    const otherRules = new HistoryStore({ rules: SIGNAL_RULES.filter((r) => r.id !== 'transmission_over_temperature') });
    expect(otherRules.restore('A', snap)).toBe(false);
    expect(otherRules.has('A')).toBe(false);
    const b = new HistoryStore();
    expect(b.restore('A', snap.slice(0, -8))).toBe(false);
    expect(b.restore('A', 'h0.x.AAAA')).toBe(false);
    expect(b.restore('A', 'garbage')).toBe(false);
    expect(b.has('A')).toBe(false);
  });
});

describe('analysis with memory', () => {
  const rand = prng(11);
  // A gearbox warming 0.3 °C a day for 40 days: a fortnight shows 4 °C of noise-level drift, a month more.
  const all = series({
    days: 40,
    perDay: 6,
    signals: (day) => ({ [SIGNALS.speed]: 60, [TRANS]: 85 + 0.3 * day + noise(rand, 1.5) }),
  });
  const windowAt = (endDay: number): typeof all => all.filter((s) => s.ts > T0 + (endDay - 14) * DAY && s.ts <= T0 + endDay * DAY);

  it('fits trends over the remembered days, not only over the request window', () => {
    const store = new HistoryStore();
    let last = analyzeVehicle([], T0);
    for (let d = 14; d <= 40; d += 2) last = analyzeVehicle(windowAt(d), T0 + d * DAY, {}, undefined, { store, vin: TEST_VIN });
    const trend = last.anomalies.find((a) => a.kind === 'trend');
    expect(trend?.message).toMatch(/over (2[6-9]|3\d) days/);
    const without = analyzeVehicle(windowAt(40), T0 + 40 * DAY);
    expect(without.anomalies.find((a) => a.kind === 'trend')?.message ?? '').not.toMatch(/over (2\d|3\d) days/);
  });

  it('reports a step away from the vehicle’s own normal as a drift before any limit or trend does', () => {
    const store = new HistoryStore();
    const steady = series({ days: 30, perDay: 6, signals: (day) => ({ [SIGNALS.speed]: 60, [TRANS]: day < 28 ? 85 + noise(rand, 0.3) : 95 + noise(rand, 0.3) }) });
    let r = analyzeVehicle([], T0);
    for (let d = 14; d <= 30; d += 2) {
      r = analyzeVehicle(steady.filter((s) => s.ts > T0 + (d - 14) * DAY && s.ts <= T0 + d * DAY), T0 + d * DAY, {}, undefined, { store, vin: TEST_VIN });
    }
    const drift = r.anomalies.find((a) => a.kind === 'drift');
    expect(drift).toBeDefined();
    expect(drift!.message).toMatch(/above this vehicle's own normal of 8[45]\.\d+/);
    expect(r.predicted_failures).toEqual([]);
  });

  it('gives a signal that only grows with use (pad wear) no normal to drift from', () => {
    const store = new HistoryStore();
    const pad = SIGNALS.padWear[0]!;
    // Healthy wear, 0.1 % a day: after a month the pads are 3 % past the level of the first fortnight.
    const wear = series({ days: 40, perDay: 4, signals: (day) => ({ [pad]: 20 + 0.1 * day + noise(rand, 0.05) }) });
    let r = analyzeVehicle([], T0);
    for (let d = 14; d <= 40; d += 2) {
      r = analyzeVehicle(wear.filter((s) => s.ts > T0 + (d - 14) * DAY && s.ts <= T0 + d * DAY), T0 + d * DAY, {}, undefined, { store, vin: TEST_VIN });
      expect(r.anomalies.filter((a) => a.kind === 'drift')).toEqual([]);
    }
    expect(store.vehicle(TEST_VIN).baseline(store.slot(SIGNAL_RULES.find((x) => x.id === 'brake_pad_wear')!, pad)!)).not.toBeNull();
  });

  it('does not let bad samples move the learned normal', () => {
    const clean = new HistoryStore();
    const dirty = new HistoryStore();
    const samples = series({ days: 20, perDay: 8, signals: (_d, i) => ({ [SIGNALS.speed]: 60, [TRANS]: 85 + (i % 3) * 0.2 }) });
    // Spikes (a lone 240 °C reading) are screened out before any level is remembered.
    const spiked = samples.map((s, i) => (i % 17 === 5 ? { ...s, signals: { ...s.signals, [TRANS]: 240 } } : s));
    analyzeVehicle(samples, lastTs(samples) + DAY, {}, undefined, { store: clean, vin: TEST_VIN });
    analyzeVehicle(spiked, lastTs(samples) + DAY, {}, undefined, { store: dirty, vin: TEST_VIN });
    const slot = clean.slot(rule, TRANS)!;
    expect(clean.vehicle(TEST_VIN).baseline(slot)?.level).toBeCloseTo(85.2, 1);
    expect(dirty.vehicle(TEST_VIN).baseline(slot)).toEqual(clean.vehicle(TEST_VIN).baseline(slot));
  });
});
