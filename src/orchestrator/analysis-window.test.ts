import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/clocks.js';
import { MINUTE } from '../core/clock.js';
import { AGENTS, CHANNELS, type Envelope } from '../core/envelope.js';
import { MAX_ANALYSIS_SAMPLE_BYTES, MAX_MESSAGE_BYTES, type AnalysisRequest } from '../core/payloads.js';
import { MAX_DTCS_PER_SAMPLE, SIGNAL_SPECS, sampleToWire, type TelemetrySample } from '../core/telemetry.js';
import { MemoryBus } from '../bus/memory.js';
import { createSqliteStore } from '../store/index.js';
import type { Store } from '../store/port.js';
import { analysisWindow } from './analysis-window.js';
import { encodedSize } from './dispatcher.js';
import { MainOrchestrationLoop } from './main-loop.js';
import { testLoopOptions, until } from './testing/loop.js';

const T0 = Date.parse('2026-05-04T08:00:00Z');
const VIN = '1HGCM82633A004352';

/**
 * The largest sample ingest accepts: every known signal with a full-precision value, and as many trouble
 * codes as a sample may carry.
 */
function largestSample(ts: number): Record<string, unknown> {
  const signals: Record<string, number> = {};
  for (const [path, spec] of SIGNAL_SPECS) signals[path] = spec.max - (spec.max - spec.min) * 0.0123456789012345;
  return {
    vin: VIN,
    timestamp: new Date(ts).toISOString(),
    signals,
    dtcs: Array.from({ length: MAX_DTCS_PER_SAMPLE }, (_, i) => `P${(0x1000 + i).toString(16).toUpperCase()}`),
  };
}

describe('analysisWindow', () => {
  const sample = (ts: number): TelemetrySample => ({ vin: VIN, ts, signals: { 'Vehicle.Speed': 50 }, dtcs: [] });

  it('keeps the most recent samples whose JSON fits the budget, oldest first', () => {
    const samples = [5, 1, 4, 2, 3].map((m) => sample(T0 + m * MINUTE));
    const one = JSON.stringify(sampleToWire(samples[0]!)).length;
    // Room for three samples, their two commas and the brackets, and not one byte more.
    const window = analysisWindow(samples, 3 * one + 2 + 2);
    expect(window.map((s) => Date.parse(s.timestamp))).toEqual([3, 4, 5].map((m) => T0 + m * MINUTE));
    expect(analysisWindow(samples, 3 * one + 2 + 1)).toHaveLength(2);
    expect(JSON.stringify(window).length).toBeLessThanOrEqual(3 * one + 4);
    expect(analysisWindow(samples)).toHaveLength(5);
    expect(analysisWindow([], 10)).toEqual([]);
  });
});

describe('the largest analysis request the orchestrator can produce', () => {
  let store: Store;
  let loop: MainOrchestrationLoop;
  afterEach(async () => {
    await loop.stop();
    await store.close();
  });

  it('fits the broker: as many of the largest valid samples as a fetch brings make a request well under MAX_MESSAGE_BYTES', async () => {
    const clock = new ManualClock(T0);
    store = createSqliteStore({ path: ':memory:' });
    const bus = new MemoryBus({ clock });
    let fetched: Record<string, unknown>[] = [];
    loop = new MainOrchestrationLoop(
      testLoopOptions({
        store,
        bus,
        clock,
        telematicsClient: {
          fetchPage: async () => ({ vehicles: [largestSample(T0)], next_cursor: null }),
          // As many samples as the orchestrator asks for, each the largest there can be.
          fetchHistory: async (_vin, _since, limit) => {
            fetched = Array.from({ length: limit }, (_, i) => largestSample(T0 - (limit - 1 - i) * MINUTE));
            return fetched;
          },
        },
      }),
    );
    const requests: Envelope<AnalysisRequest>[] = [];
    await bus.subscribe(CHANNELS.analysisRequest, async (env) => void requests.push(env as Envelope<AnalysisRequest>), {
      queue: AGENTS.dataAnalysis,
    });
    await loop.start();
    const [request] = await until(async () => requests.length > 0 && requests, 'an analysis request');
    // The fetch alone would not fit: the window is what keeps the request under the limit.
    expect(Buffer.byteLength(JSON.stringify(fetched))).toBeGreaterThan(MAX_MESSAGE_BYTES);
    const bytes = encodedSize(request!);
    expect(bytes).toBeLessThanOrEqual(MAX_ANALYSIS_SAMPLE_BYTES + 4096);
    expect(bytes).toBeLessThan(MAX_MESSAGE_BYTES);
    const samples = request!.payload.samples;
    expect(Buffer.byteLength(JSON.stringify(samples))).toBeLessThanOrEqual(MAX_ANALYSIS_SAMPLE_BYTES);
    // The most recent samples, oldest first, up to the newest one fetched.
    expect(samples.at(-1)!.timestamp).toBe(new Date(T0).toISOString());
    const times = samples.map((s) => Date.parse(s.timestamp));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(times[0]).toBe(T0 - (samples.length - 1) * MINUTE);
  });
});
