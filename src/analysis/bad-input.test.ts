/**
 * Issue 3, "Bad input": every class of nonsense the issue names is rejected or excluded with its reason
 * in `data_quality`, the agent keeps answering, and a vehicle's prediction is what it is without it.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/clocks.js';
import { DAY, HOUR } from '../core/clock.js';
import { AGENTS, CHANNELS } from '../core/envelope.js';
import type { PredictedFailure } from '../core/payloads.js';
import { SIGNALS, sampleToWire, type TelemetrySample, type TelemetrySampleWire } from '../core/telemetry.js';
import { FakeBus, requestEnvelope, testContext } from '../bus/testing/fake-bus.js';
import type { AgentFailedPayload } from './agent.js';
import { createDataAnalysisAgent } from './agent.js';
import { HistoryStore } from './history.js';
import { SIGNAL_RULES } from './rules/thresholds.js';
import type { AnalysisResultWithQuality } from './analyze.js';
import { TEST_VIN, lastTs, noise, prng, series } from './testing/series.js';

const PAD = SIGNALS.padWear[0]!;
const TYRE = SIGNALS.tyrePressure[0]!;
const COOLANT = SIGNALS.coolantTemp;

/** 20 days, hourly from 07:00 to 19:00: a warm engine, steady tyres and one pad wearing 1 %/day towards 85 %. */
function vehicle(): TelemetrySample[] {
  const rand = prng(11);
  return series({
    days: 20,
    perDay: 24,
    signals: (day, i) => {
      const running = i % 4 !== 0;
      return {
        [SIGNALS.engineSpeed]: running ? 900 + rand() * 2000 : 0,
        [COOLANT]: running ? 88 + noise(rand, 3) : 25 + noise(rand, 3),
        [SIGNALS.batteryVoltage]: running ? 14.1 + noise(rand, 0.2) : 12.6 + noise(rand, 0.1),
        [TYRE]: 230 + noise(rand, 5),
        [PAD]: 55 + day + noise(rand, 0.3),
      };
    },
  });
}

const base = vehicle();
const now = lastTs(base) + HOUR;
const cleanWire = (): unknown[] => base.map(sampleToWire);

interface Outcome {
  result: AnalysisResultWithQuality | null;
  failed: AgentFailedPayload | null;
}

async function analyse(samples: unknown[] | unknown): Promise<Outcome> {
  const clock = new ManualClock(now);
  const bus = new FakeBus();
  await createDataAnalysisAgent(testContext(AGENTS.dataAnalysis, bus, clock)).start();
  const payload = Array.isArray(samples) ? { vin: TEST_VIN, samples } : samples;
  await bus.publish(CHANNELS.analysisRequest, requestEnvelope(clock, 'analysis_request', AGENTS.dataAnalysis, payload));
  await bus.drain();
  expect(bus.deadLetters).toHaveLength(0);
  const res = bus.on(CHANNELS.analysisResult)[0];
  const err = bus.on(CHANNELS.systemError)[0];
  return { result: (res?.payload as AnalysisResultWithQuality | undefined) ?? null, failed: (err?.payload as AgentFailedPayload | undefined) ?? null };
}

const baseline = await analyse(cleanWire());
const clean = baseline.result!;

/** The same samples with `extra` inserted at the given times (one minute after an existing sample). */
function withExtra(extra: (s: TelemetrySampleWire, k: number) => unknown, every = 37): unknown[] {
  const out: unknown[] = [];
  for (const [k, s] of base.entries()) {
    out.push(sampleToWire(s));
    if (k % every === 5) out.push(extra(sampleToWire({ ...s, ts: s.ts + 60_000 }), k));
  }
  return out;
}

function expectSamePrediction(predicted: readonly PredictedFailure[]): void {
  expect(predicted).toEqual(clean.predicted_failures);
}

describe('bad input to the data-analysis agent', () => {
  it('baseline: the clean vehicle predicts pad wear and reports clean data', () => {
    expect(clean.predicted_failures.map((f) => f.component)).toEqual(['brakes']);
    expect(clean.data_quality).toEqual({
      samples_received: 480,
      samples_used: 480,
      excluded: {},
      signals_stuck: [],
      gaps: 0,
      coverage_days: 20,
    });
  });

  it.each([
    ['NaN as a JSON string', 'not_finite', (s: TelemetrySampleWire) => ({ ...s, signals: { ...s.signals, [COOLANT]: 'NaN' } })],
    ['NaN as a number (in-process publisher)', 'not_finite', (s: TelemetrySampleWire) => ({ ...s, signals: { ...s.signals, [PAD]: Number.NaN } })],
    ['a string for a number', 'wrong_type', (s: TelemetrySampleWire) => ({ ...s, signals: { ...s.signals, [PAD]: '99' } })],
    ['a future timestamp', 'future_timestamp', (s: TelemetrySampleWire) => ({ ...s, timestamp: new Date(now + 3 * DAY).toISOString(), signals: { [PAD]: 99 } })],
  ])('rejects %s with reason %s and predicts as without it', async (_label, reason, bad) => {
    const wire = withExtra(bad);
    const injected = wire.length - base.length;
    const { result } = await analyse(wire);
    expect(result!.data_quality!.excluded).toEqual({ [reason]: injected });
    expect(result!.data_quality!.samples_received).toBe(480 + injected);
    expect(result!.data_quality!.samples_used).toBe(480);
    expectSamePrediction(result!.predicted_failures);
  });

  it('ignores an unknown signal, counts it, and keeps the known ones of the same sample', async () => {
    const wire = cleanWire().map((s, k) => (k % 10 === 0 ? { ...(s as TelemetrySampleWire), signals: { ...(s as TelemetrySampleWire).signals, 'Vehicle.Flux.Capacitor': 1.21e9 } } : s));
    const { result } = await analyse(wire);
    expect(result!.data_quality!.excluded).toEqual({ unknown_signal: 48 });
    expect(result!.data_quality!.samples_used).toBe(480);
    expectSamePrediction(result!.predicted_failures);
  });

  it('refuses a 10 MB request with a clear error without analysing it, and answers the next one', async () => {
    const filler = 'x'.repeat(10_000);
    const huge = Array.from({ length: 1_000 }, () => ({ vin: TEST_VIN, timestamp: new Date(now).toISOString(), signals: {}, note: filler }));
    const { result, failed } = await analyse(huge);
    expect(result).toBeNull();
    expect(failed!.error).toMatch(/^payload_too_large: the request exceeds \d+ bytes/);
    expect(failed!.vin).toBe(TEST_VIN);
    const next = await analyse(cleanWire());
    expectSamePrediction(next.result!.predicted_failures);
  });

  it('excludes single-sample spikes (a 99 % pad, a 500 kPa tyre) and predicts as without them', async () => {
    const wire = withExtra((s, k) => ({ ...s, signals: k % 2 ? { [PAD]: 99 } : { [TYRE]: 500 } }));
    const injected = wire.length - base.length;
    const { result } = await analyse(wire);
    expect(result!.data_quality!.excluded).toEqual({ spike: injected });
    expect(result!.data_quality!.samples_used).toBe(480);
    expectSamePrediction(result!.predicted_failures);
  });

  it('excludes a coolant sensor stuck at 112 °C for the last three days while the engine runs: no overheating predicted', async () => {
    const stuckFrom = lastTs(base) - 3 * DAY;
    const wire = base.map((s) => sampleToWire(s.ts > stuckFrom ? { ...s, signals: { ...s.signals, [COOLANT]: 112 } } : s));
    const { result } = await analyse(wire);
    const q = result!.data_quality!;
    expect(q.signals_stuck).toEqual([COOLANT]);
    expect(q.excluded['stuck_sensor']).toBeGreaterThanOrEqual(3 * 24 - 2);
    expect(result!.predicted_failures.map((f) => f.component)).toEqual(['brakes']);
    expectSamePrediction(result!.predicted_failures);
  });

  it('counts a four-day dropout of all signals as a gap and still predicts the pad wear', async () => {
    const wire = base.filter((s) => s.ts < base[0]!.ts + 8 * DAY || s.ts > base[0]!.ts + 12 * DAY).map(sampleToWire);
    const { result } = await analyse(wire);
    const q = result!.data_quality!;
    expect(q.gaps).toBe(4); // one per screened signal: coolant, battery, tyre, pad
    expect(q.coverage_days).toBe(16);
    expect(q.excluded).toEqual({});
    const f = result!.predicted_failures[0]!;
    expect(f.component).toBe('brakes');
    expect(Math.abs(f.days_to_failure - clean.predicted_failures[0]!.days_to_failure)).toBeLessThan(1);
  });

  it('never poisons what the agent remembers: after requests full of every bad class, a clean request gets the answer a clean history gives', async () => {
    const start = async (history: HistoryStore) => {
      const clock = new ManualClock(now);
      const bus = new FakeBus();
      await createDataAnalysisAgent(testContext(AGENTS.dataAnalysis, bus, clock), { history }).start();
      return async (samples: unknown[], at: number): Promise<AnalysisResultWithQuality | null> => {
        clock.set(at);
        await bus.publish(CHANNELS.analysisRequest, requestEnvelope(clock, 'analysis_request', AGENTS.dataAnalysis, { vin: TEST_VIN, samples }));
        await bus.drain();
        return (bus.on(CHANNELS.analysisResult).at(-1)?.payload as AnalysisResultWithQuality | undefined) ?? null;
      };
    };
    const cleanMemory = new HistoryStore();
    const dirtyMemory = new HistoryStore();
    const cleanAgent = await start(cleanMemory);
    const dirtyAgent = await start(dirtyMemory);
    const day0 = base[0]!.ts;
    const upTo = (d: number) => (s: TelemetrySampleWire): boolean => Date.parse(s.timestamp) < day0 + d * DAY;
    // Each poisoned sample carries nothing valid besides its poison: a valid reading would be data, not poison.
    const poison = (s: TelemetrySampleWire, k: number): unknown =>
      [
        { ...s, signals: { ...s.signals, [COOLANT]: 'NaN' } },
        { ...s, signals: { ...s.signals, [PAD]: '99' } },
        { ...s, timestamp: new Date(now + 3 * DAY).toISOString(), signals: { [SIGNALS.engineSpeed]: 2000, [COOLANT]: 140 } },
        { ...s, signals: { [SIGNALS.engineSpeed]: 2000, [COOLANT]: 150 } },
        { ...s, signals: { 'Vehicle.Flux.Capacitor': 1 } },
      ][k % 5];
    for (const d of [8, 12, 16]) {
      const at = day0 + d * DAY;
      const dirty = (withExtra(poison, 7) as TelemetrySampleWire[]).filter(upTo(d));
      expect((await dirtyAgent(dirty, at))!.data_quality!.excluded).not.toEqual({});
      await dirtyAgent([{ vin: TEST_VIN, timestamp: new Date(at).toISOString(), signals: {}, note: 'x'.repeat(9_000_000) }], at);
      await cleanAgent((cleanWire() as TelemetrySampleWire[]).filter(upTo(d)), at);
    }
    const last = (cleanWire() as TelemetrySampleWire[]).filter((s) => Date.parse(s.timestamp) >= day0 + 6 * DAY);
    const fromClean = (await cleanAgent(last, now))!;
    const fromDirty = (await dirtyAgent(last, now))!;
    // Remembered days reach back before this request's first day, and the normal has been learned.
    // Every remembered day and every learned normal is the same as with clean input.
    const clean = cleanMemory.vehicle(TEST_VIN);
    const dirty = dirtyMemory.vehicle(TEST_VIN);
    expect(clean.baseline(cleanMemory.slot(SIGNAL_RULES.find((r) => r.id === 'coolant_over_temperature')!, COOLANT)!)).not.toBeNull();
    for (const slot of cleanMemory.slots) {
      expect(dirty.older(slot, Infinity)).toEqual(clean.older(slot, Infinity));
      expect(dirty.baseline(slot)).toEqual(clean.baseline(slot));
    }
    expect(fromDirty.predicted_failures).toEqual(fromClean.predicted_failures);
    expect(fromDirty.anomalies).toEqual(fromClean.anomalies);
  });
});
