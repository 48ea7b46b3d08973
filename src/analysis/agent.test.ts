import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/clocks.js';
import { DAY } from '../core/clock.js';
import { AGENTS, CHANNELS } from '../core/envelope.js';
import type { AnalysisRequest, AnalysisResult } from '../core/payloads.js';
import { SIGNALS, sampleToWire } from '../core/telemetry.js';
import { verifyEnvelope, keyRingFromSecret } from '../bus/signing.js';
import { createDataAnalysisAgent, type AgentFailedPayload } from './agent.js';
import type { AnalysisResultWithQuality } from './analyze.js';
import { FakeBus, TEST_SECRET, requestEnvelope, testContext } from '../bus/testing/fake-bus.js';
import { T0, TEST_VIN, lastTs, series } from './testing/series.js';

async function setup() {
  const samples = series({ days: 20, perDay: 4, signals: (day) => ({ [SIGNALS.padWear[0]!]: 60 + day }) });
  const clock = new ManualClock(lastTs(samples));
  const bus = new FakeBus();
  const agent = createDataAnalysisAgent(testContext(AGENTS.dataAnalysis, bus, clock));
  await agent.start();
  return { samples, clock, bus, agent };
}

describe('data analysis agent', () => {
  it('answers a request with a signed analysis_result on the same correlation', async () => {
    const { samples, clock, bus } = await setup();
    const payload: AnalysisRequest = { vin: TEST_VIN, samples: samples.map(sampleToWire) };
    const req = requestEnvelope(clock, 'analysis_request', AGENTS.dataAnalysis, payload, 'workflow-X-1');
    await bus.publish(CHANNELS.analysisRequest, req);
    await bus.drain();
    const [res] = bus.on(CHANNELS.analysisResult);
    expect(res).toBeDefined();
    expect(res!.header).toMatchObject({
      message_type: 'analysis_result',
      correlation_id: 'workflow-X-1',
      causation_id: req.header.message_id,
      sender: AGENTS.dataAnalysis,
      receiver: AGENTS.orchestrator,
    });
    expect(verifyEnvelope(res!, keyRingFromSecret(TEST_SECRET))).toEqual({ ok: true });
    const result = res!.payload as AnalysisResult;
    expect(result.vin).toBe(TEST_VIN);
    expect(result.samples_analyzed).toBe(80);
    expect(result.predicted_failures[0]?.component).toBe('brakes');
    expect(result.predicted_days_to_failure).toBeGreaterThan(0);
  });

  it('excludes samples not of the request’s shape, of another vehicle or after the analysis time, and analyses the rest', async () => {
    const { samples, clock, bus } = await setup();
    const wire: unknown[] = samples.map(sampleToWire);
    wire.push({ vin: TEST_VIN, timestamp: 'yesterday', signals: {} });
    // A request carries canonical units (ingest converted them); the agent does not convert again.
    wire.push({ vin: TEST_VIN, timestamp: new Date(T0).toISOString(), signals: { [SIGNALS.coolantTemp]: 194 }, units: { [SIGNALS.coolantTemp]: 'fahrenheit' } });
    wire.push({ ...sampleToWire(samples[0]!), vin: '2HGCM82633A004352' });
    wire.push({ ...sampleToWire(samples[0]!), timestamp: new Date(clock.now() + 2 * DAY).toISOString() });
    await bus.publish(CHANNELS.analysisRequest, requestEnvelope(clock, 'analysis_request', AGENTS.dataAnalysis, { vin: TEST_VIN, samples: wire }));
    await bus.drain();
    const result = bus.on(CHANNELS.analysisResult)[0]!.payload as AnalysisResultWithQuality;
    expect(result.samples_analyzed).toBe(80);
    expect(result.data_quality!.excluded).toEqual({ invalid_timestamp: 1, unknown_unit: 1, other_vin: 1, future_timestamp: 1 });
  });

  it.each([
    ['not an object', 'nope', /payload must be an object/, null],
    ['a bad VIN', { vin: 'X', samples: [] }, /vin must be/, null],
    ['samples not an array', { vin: TEST_VIN, samples: 'many' }, /samples must be an array/, TEST_VIN],
  ])('answers a payload that is %s with agent_failed on the system error channel', async (_label, payload, error, vin) => {
    const { clock, bus } = await setup();
    const req = requestEnvelope(clock, 'analysis_request', AGENTS.dataAnalysis, payload);
    await bus.publish(CHANNELS.analysisRequest, req);
    await bus.drain();
    expect(bus.on(CHANNELS.analysisResult)).toHaveLength(0);
    expect(bus.deadLetters).toHaveLength(0);
    const [err] = bus.on(CHANNELS.systemError);
    expect(err!.header).toMatchObject({ message_type: 'agent_failed', correlation_id: req.header.correlation_id });
    const p = err!.payload as AgentFailedPayload;
    expect(p.agent).toBe(AGENTS.dataAnalysis);
    expect(p.error).toMatch(error);
    expect(p.vin).toBe(vin);
  });

  it('gives the same predictions from two instances as from one when the sender keeps each vehicle’s memory', async () => {
    // A gearbox warming 0.3 °C a day: only a month of remembered days shows the trend.
    let seed = 7;
    const wobble = () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 3;
    const all = series({ days: 40, perDay: 6, signals: (day) => ({ [SIGNALS.speed]: 60, [SIGNALS.transmissionTemp]: 85 + 0.3 * day + wobble() }) });
    const clock = new ManualClock(T0);
    const bus = new FakeBus();
    const one = createDataAnalysisAgent(testContext(AGENTS.dataAnalysis, bus, clock));
    const twoBuses = [new FakeBus(), new FakeBus()];
    for (const b of twoBuses) await createDataAnalysisAgent(testContext(AGENTS.dataAnalysis, b, clock)).start();
    await one.start();
    const forgetful = new FakeBus();
    await createDataAnalysisAgent(testContext(AGENTS.dataAnalysis, forgetful, clock)).start();
    let kept: string | null = null;
    const oneResults: AnalysisResult[] = [];
    const twoResults: AnalysisResult[] = [];
    const noMemory: AnalysisResult[] = [];
    for (let d = 14, i = 0; d <= 40; d += 2, i++) {
      clock.set(T0 + d * DAY);
      const samples = all.filter((s) => s.ts > T0 + (d - 14) * DAY && s.ts <= T0 + d * DAY).map(sampleToWire);
      const ask = async (b: FakeBus, payload: AnalysisRequest): Promise<AnalysisResult> => {
        await b.publish(CHANNELS.analysisRequest, requestEnvelope(clock, 'analysis_request', AGENTS.dataAnalysis, payload));
        await b.drain();
        return b.on(CHANNELS.analysisResult).at(-1)!.payload as AnalysisResult;
      };
      oneResults.push(await ask(bus, { vin: TEST_VIN, samples }));
      // Alternate instances; the memory travels with the request and comes back with the result.
      const r = await ask(twoBuses[i % 2]!, { vin: TEST_VIN, samples, memory: kept });
      kept = r.memory ?? null;
      twoResults.push(r);
      noMemory.push(await ask(forgetful, { vin: TEST_VIN, samples, memory: null }));
    }
    const essence = (r: AnalysisResult) => ({ anomalies: r.anomalies, failures: r.predicted_failures, days: r.predicted_days_to_failure });
    expect(twoResults.map(essence)).toEqual(oneResults.map(essence));
    expect(kept).toMatch(/^h1\./);
    // Without the memory the month-long trend is not seen: the memory is what made the two agree.
    expect(noMemory.map(essence)).not.toEqual(oneResults.map(essence));
    expect(oneResults.at(-1)!.memory).toBeUndefined();
  });

  it('refuses a memory that is not a snapshot string', async () => {
    const { clock, bus } = await setup();
    await bus.publish(CHANNELS.analysisRequest, requestEnvelope(clock, 'analysis_request', AGENTS.dataAnalysis, { vin: TEST_VIN, samples: [], memory: 42 }));
    await bus.drain();
    expect((bus.on(CHANNELS.systemError)[0]!.payload as AgentFailedPayload).error).toMatch(/memory must be null or a snapshot string/);
  });

  it('stops listening when stopped', async () => {
    const { bus, agent } = await setup();
    expect(bus.subscriptionCount).toBe(1);
    await agent.stop();
    expect(bus.subscriptionCount).toBe(0);
  });

  it('remembers a vehicle between requests and forgets what came before its last service', async () => {
    const { samples, clock, bus } = await setup();
    const wire = samples.map(sampleToWire);
    const send = async (payload: AnalysisRequest): Promise<AnalysisResult> => {
      await bus.publish(CHANNELS.analysisRequest, requestEnvelope(clock, 'analysis_request', AGENTS.dataAnalysis, payload));
      await bus.drain();
      return bus.on(CHANNELS.analysisResult).at(-1)!.payload as AnalysisResult;
    };
    const trendDays = (r: AnalysisResult): number => Number(/over (\d+) days/.exec(r.predicted_failures[0]?.evidence?.[0] ?? '')?.[1] ?? 0);
    await send({ vin: TEST_VIN, samples: wire.slice(0, 40) });
    // The second request brings only the last 10 days; the first 10 are remembered.
    expect(trendDays(await send({ vin: TEST_VIN, samples: wire.slice(40) }))).toBe(20);
    const servicedAt = samples[40]!.ts;
    expect(trendDays(await send({ vin: TEST_VIN, samples: wire.slice(40), since: servicedAt }))).toBe(10);
    const bad = await send({ vin: TEST_VIN, samples: [], since: -5 } as AnalysisRequest);
    expect(bad).toBe(bus.on(CHANNELS.analysisResult).at(-1)!.payload);
    expect((bus.on(CHANNELS.systemError).at(-1)!.payload as AgentFailedPayload).error).toMatch(/since must be epoch milliseconds/);
  });
});
