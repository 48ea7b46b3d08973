import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/clocks.js';
import { AGENTS, CHANNELS } from '../core/envelope.js';
import type { FeedbackRequest } from '../core/payloads.js';
import { FakeBus, requestEnvelope, testContext } from '../bus/testing/fake-bus.js';
import { createFeedbackAgent, type FeedbackAgentOptions } from './agent.js';
import type { FeedbackGateway, FeedbackNotification, FeedbackRequested } from './ports.js';

const VIN = '1HGCM82633A004352';
const CID = `workflow-${VIN}-1`;

class Gateway implements FeedbackGateway {
  readonly sent: FeedbackNotification[] = [];
  calls = 0;
  failure: { accepted: false; error: string; retryable: boolean } | null = null;
  async send(n: FeedbackNotification) {
    this.calls += 1;
    if (this.failure) return this.failure;
    if (!this.sent.some((s) => s.notification_id === n.notification_id)) this.sent.push(n);
    return { accepted: true };
  }
}

const request = (over: Partial<FeedbackRequest> = {}): FeedbackRequest => ({
  vin: VIN,
  appointment_id: 'appt-1',
  respond_by: '2025-01-09T10:00:00.000Z',
  idempotency_key: `${CID}:feedback`,
  ...over,
});

async function setup(extra: Partial<FeedbackAgentOptions> = {}) {
  const clock = new ManualClock(Date.UTC(2025, 0, 6));
  const bus = new FakeBus();
  const gateway = new Gateway();
  const agent = createFeedbackAgent(testContext(AGENTS.feedback, bus, clock), { gateway, portalUrl: 'http://127.0.0.1:8080', maxAttempts: 2, ...extra });
  await agent.start();
  const send = async (payload: unknown) => {
    const env = requestEnvelope(clock, 'feedback_request', AGENTS.feedback, payload, CID);
    await bus.publish(CHANNELS.feedbackRequest, env);
    await bus.drain();
    return env;
  };
  const results = () => bus.on(CHANNELS.feedbackResult).map((e) => e.payload as FeedbackRequested);
  return { bus, gateway, agent, send, results };
}

describe('feedback agent', () => {
  it('sends a survey with the portal feedback link and reports feedback_requested', async () => {
    const { bus, gateway, send, results } = await setup();
    const env = await send(request());
    expect(gateway.sent).toHaveLength(1);
    const n = gateway.sent[0]!;
    expect(n).toMatchObject({ notification_id: `${CID}:feedback:email`, kind: 'feedback', channel: 'email', correlation_id: CID, vin: VIN });
    expect(n.body).toContain(`http://127.0.0.1:8080/portal/${CID}/feedback`);
    const [res] = bus.on(CHANNELS.feedbackResult);
    expect(res!.header).toMatchObject({ message_type: 'feedback_requested', correlation_id: CID, causation_id: env.header.message_id });
    expect(results()[0]).toEqual({ vin: VIN, appointment_id: 'appt-1', sent: true, channels: ['email'] });
  });

  it('never sends the survey twice for a redelivered request', async () => {
    const { bus, gateway, send } = await setup();
    const env = await send(request());
    await bus.redeliver(CHANNELS.feedbackRequest, env);
    expect(gateway.calls).toBe(1);
  });

  it("uses the owner's preferred channel when a directory is given", async () => {
    const { gateway, send } = await setup({ directory: { lookup: async () => ({ preferred_channel: 'push' }) } });
    await send(request());
    expect(gateway.sent[0]!.channel).toBe('push');
  });

  it('retries a provider outage through the bus, then reports the survey as not sent', async () => {
    const { gateway, send, results, bus } = await setup();
    gateway.failure = { accepted: false, error: 'provider answered 503', retryable: true };
    await send(request());
    expect(gateway.calls).toBe(2);
    expect(bus.deadLetters).toHaveLength(0);
    expect(results()[0]).toMatchObject({ sent: false, error: 'email: provider answered 503' });
  });

  it('answers a bad request with agent_failed and a clear reason', async () => {
    const { bus, gateway, send } = await setup();
    await send({ ...request(), respond_by: 'soon' });
    const [err] = bus.on(CHANNELS.systemError);
    expect(err!.header.message_type).toBe('agent_failed');
    expect(err!.payload).toMatchObject({ agent: AGENTS.feedback, vin: VIN, error: expect.stringMatching(/respond_by must be/) });
    expect(gateway.calls).toBe(0);
  });

  it('keeps a running summary of ratings, one per workflow', async () => {
    const { agent } = await setup();
    const fb = (cid: string, rating: number) => ({ vin: VIN, correlation_id: cid, rating, received_at: '2025-01-07T00:00:00Z' });
    expect(agent.stats.summary()).toMatchObject({ count: 0, mean_rating: null });
    expect(agent.record(fb('a', 5))).toBe(true);
    expect(agent.record(fb('b', 4))).toBe(true);
    expect(agent.record(fb('b', 1))).toBe(false);
    expect(agent.record(fb('c', 9))).toBe(false);
    expect(agent.record(fb('d', 2))).toBe(true);
    expect(agent.stats.summary()).toEqual({ count: 3, mean_rating: 3.67, by_rating: { '1': 0, '2': 1, '3': 0, '4': 1, '5': 1 } });
  });
});
