import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/clocks.js';
import { DAY } from '../core/clock.js';
import { AGENTS, CHANNELS } from '../core/envelope.js';
import type { AnalysisRequest, AnalysisResult } from '../core/payloads.js';
import { SIGNALS, sampleToWire } from '../core/telemetry.js';
import { verifyEnvelope, keyRingFromSecret } from '../bus/signing.js';
import { createDataAnalysisAgent, type AgentFailedPayload } from './agent.js';
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

  it('excludes invalid samples and samples of another vehicle, and analyses the rest', async () => {
    const { samples, clock, bus } = await setup();
    const wire: unknown[] = samples.map(sampleToWire);
    wire.push({ vin: TEST_VIN, timestamp: 'yesterday', signals: {} });
    wire.push({ vin: TEST_VIN, timestamp: new Date(T0).toISOString(), signals: { [SIGNALS.coolantTemp]: 900 } });
    wire.push({ ...sampleToWire(samples[0]!), vin: '2HGCM82633A004352' });
    wire.push({ ...sampleToWire(samples[0]!), timestamp: new Date(clock.now() + 2 * DAY).toISOString() });
    await bus.publish(CHANNELS.analysisRequest, requestEnvelope(clock, 'analysis_request', AGENTS.dataAnalysis, { vin: TEST_VIN, samples: wire }));
    await bus.drain();
    expect((bus.on(CHANNELS.analysisResult)[0]!.payload as AnalysisResult).samples_analyzed).toBe(80);
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

  it('stops listening when stopped', async () => {
    const { bus, agent } = await setup();
    expect(bus.subscriptionCount).toBe(1);
    await agent.stop();
    expect(bus.subscriptionCount).toBe(0);
  });
});
