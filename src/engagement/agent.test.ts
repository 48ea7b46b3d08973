import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { AgentContext } from '../bus/agent.js';
import { ManualClock } from '../clock/clocks.js';
import { AGENTS, CHANNELS } from '../core/envelope.js';
import type { EngagementRequest, EngagementResult } from '../core/payloads.js';
import { FakeBus, requestEnvelope, testEnvelopes } from '../bus/testing/fake-bus.js';
import { createEngagementAgent } from './agent.js';
import { createFunctionDirectory, createStaticDirectory } from './directory.js';
import type { CustomerDirectory } from './ports.js';
import { RecordingGateway } from './gateway.js';

const VIN = '1HGCM82633A004352';
const CID = `workflow-${VIN}-1735725600000`;
const customer = { name: 'Jane Doe', email: 'jane.doe@example.com', phone: '+33 6 12 34 56 12', preferred_channel: 'sms' as const };

function request(over: Partial<EngagementRequest> = {}): EngagementRequest {
  return {
    vin: VIN,
    urgency: 'critical',
    kind: 'initial',
    attempt: 1,
    predicted_failures: [{ component: 'cooling', mode: 'overheating', probability: 0.9, days_to_failure: 0.25 }],
    predicted_days_to_failure: 0.25,
    respond_by: '2025-01-02T10:00:00.000Z',
    idempotency_key: `${CID}:engage:1`,
    ...over,
  };
}

async function setup(
  opts: { gateway?: RecordingGateway; maxAttempts?: number; bus?: FakeBus; directory?: CustomerDirectory; outageBudgetMs?: number } = {},
) {
  const clock = new ManualClock(Date.UTC(2025, 0, 1, 10));
  const bus = opts.bus ?? new FakeBus();
  const gateway = opts.gateway ?? new RecordingGateway();
  const logLines: string[] = [];
  const waits: number[] = [];
  let waited = 0;
  const ctx: AgentContext = {
    bus,
    clock,
    envelopes: testEnvelopes(AGENTS.customerEngagement, clock),
    log: pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) }),
  };
  const agent = createEngagementAgent(ctx, {
    directory: opts.directory ?? createStaticDirectory({ [VIN]: customer }),
    gateway,
    portalUrl: 'http://127.0.0.1:8080',
    ...(opts.maxAttempts ? { maxAttempts: opts.maxAttempts } : {}),
    outageBudgetMs: opts.outageBudgetMs ?? 0,
    // Real time stands still unless the agent waits: each wait moves it on by what was asked.
    now: () => waited,
    wait: async (ms) => {
      waits.push(ms);
      waited += ms;
    },
  });
  await agent.start();
  const send = async (payload: unknown) => {
    const env = requestEnvelope(clock, 'engagement_request', AGENTS.customerEngagement, payload, CID);
    await bus.publish(CHANNELS.engagementRequest, env);
    await bus.drain();
    return env;
  };
  return { clock, bus, gateway, agent, send, logLines, waits };
}

const results = (bus: FakeBus) => bus.on(CHANNELS.engagementResult).map((e) => e.payload as EngagementResult);

describe('customer engagement agent', () => {
  it('sends a critical message by sms, push and e-mail and reports the delivery', async () => {
    const { bus, gateway, send } = await setup();
    const req = await send(request());
    expect(gateway.sent.map((n) => n.channel)).toEqual(['sms', 'push', 'email']);
    expect(gateway.sent.map((n) => n.notification_id)).toEqual(['sms', 'push', 'email'].map((c) => `${CID}:engage:1:${c}`));
    const email = gateway.sent[2]!;
    expect(email).toMatchObject({ vin: VIN, correlation_id: CID, kind: 'engagement', urgency: 'critical', respond_by: '2025-01-02T10:00:00.000Z' });
    expect(email.body).toContain(`http://127.0.0.1:8080/portal/${CID}`);
    expect(gateway.sent[0]!.body).toMatch(/^URGENT: Critical issue detected/);
    const [res] = bus.on(CHANNELS.engagementResult);
    expect(res!.header).toMatchObject({ message_type: 'engagement_result', correlation_id: CID, causation_id: req.header.message_id });
    expect(res!.payload).toEqual({ vin: VIN, kind: 'initial', attempt: 1, delivered: true, channels: ['sms', 'push', 'email'] });
  });

  it.each([
    ['high', ['sms', 'email']],
    ['medium', ['email']],
    ['low', ['email']],
  ] as const)('sends a %s message on %j', async (urgency, channels) => {
    const { gateway, send } = await setup();
    await send(request({ urgency }));
    expect(gateway.sent.map((n) => n.channel)).toEqual(channels);
  });

  it('widens an escalation to every channel', async () => {
    const { gateway, send } = await setup();
    await send(request({ urgency: 'medium', kind: 'escalation', attempt: 3, idempotency_key: `${CID}:engage:3` }));
    expect(gateway.sent.map((n) => n.channel)).toEqual(['sms', 'push', 'email']);
  });

  it('never notifies twice for a redelivered request, nor after a restart', async () => {
    const gateway = new RecordingGateway();
    const { bus, send } = await setup({ gateway });
    const env = await send(request());
    await bus.redeliver(CHANNELS.engagementRequest, env);
    expect(gateway.calls).toBe(3);
    expect(results(bus).map((r) => r.delivered)).toEqual([true, true]);

    // A fresh agent has forgotten what it sent; the provider's dedupe on notification_id still holds.
    const second = await setup({ gateway });
    await second.send(request());
    expect(gateway.sent).toHaveLength(3);
  });

  it('never logs contact details in clear', async () => {
    const { send, logLines } = await setup();
    await send(request());
    const logs = logLines.join('\n');
    expect(logLines.length).toBeGreaterThan(0);
    expect(logs).not.toContain('jane.doe@example.com');
    expect(logs).not.toMatch(/12 34 56|612345612/);
    expect(logs).toContain('j***@example.com');
  });

  it('reports no delivery for a vehicle without a known owner', async () => {
    const { bus, gateway, send } = await setup();
    await send(request({ vin: '2HGCM82633A004352' }));
    expect(gateway.calls).toBe(0);
    expect(results(bus)[0]).toMatchObject({ delivered: false, error: 'no contact details for this vehicle' });
  });

  it('lets the bus retry a provider outage, and reports the failure on the last attempt', async () => {
    const gateway = new RecordingGateway();
    gateway.setFailure({ accepted: false, error: 'provider answered 503', retryable: true });
    const { bus, send } = await setup({ gateway, maxAttempts: 3 });
    await send(request({ urgency: 'medium' }));
    expect(gateway.calls).toBe(3);
    expect(bus.deadLetters).toHaveLength(0);
    expect(results(bus)).toEqual([expect.objectContaining({ delivered: false, error: 'email: provider answered 503' })]);
  });

  it('waits out a customer directory outage with back-off instead of failing the delivery (issue 7)', async () => {
    let lookups = 0;
    const directory = createFunctionDirectory(async () => {
      lookups += 1;
      if (lookups <= 6) throw new Error('telematics API answered 503 for vehicle');
      return customer;
    });
    const { bus, gateway, send, waits } = await setup({ directory, outageBudgetMs: 60_000 });
    await send(request());
    expect(waits).toEqual([250, 500, 1000, 2000, 4000, 8000]);
    expect(results(bus)).toEqual([expect.objectContaining({ delivered: true, channels: ['sms', 'push', 'email'] })]);
    expect(gateway.sent.map((n) => n.channel)).toEqual(['sms', 'push', 'email']);
  });

  it('reports the failure once the outage outlasts its budget', async () => {
    const directory = createFunctionDirectory(async () => {
      throw new Error('telematics API answered 503 for vehicle');
    });
    const { bus, send, waits } = await setup({ directory, outageBudgetMs: 30_000 });
    await send(request());
    expect(waits.reduce((a, b) => a + b, 0)).toBe(30_000);
    expect(results(bus)).toEqual([
      expect.objectContaining({ delivered: false, error: 'customer directory unavailable: telematics API answered 503 for vehicle' }),
    ]);
    expect(bus.deadLetters).toHaveLength(0);
  });

  it('answers a bad request with a clear error instead of retrying it', async () => {
    const { bus, gateway, send } = await setup();
    await send({ ...request(), urgency: 'apocalyptic' });
    expect(results(bus)[0]).toMatchObject({ vin: VIN, delivered: false, error: expect.stringMatching(/urgency must be one of/) });
    await send({ hello: 'world' });
    const [err] = bus.on(CHANNELS.systemError);
    expect(err!.header.message_type).toBe('agent_failed');
    expect(err!.payload).toMatchObject({ agent: AGENTS.customerEngagement, error: expect.stringMatching(/vin must be/) });
    expect(gateway.calls).toBe(0);
    expect(bus.deadLetters).toHaveLength(0);
  });
});
