import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/clocks.js';
import { AGENTS, CHANNELS } from '../core/envelope.js';
import type { SchedulingRequest, SchedulingResult } from '../core/payloads.js';
import { FakeBus, requestEnvelope, testContext } from '../bus/testing/fake-bus.js';
import { createSchedulingAgent } from './agent.js';
import { createSchedulerClient } from './client.js';
import { hourlySlots, startStubScheduler, type StubScheduler } from './testing/stub-scheduler.js';

const VIN = '1HGCM82633A004352';
const CID = `workflow-${VIN}-1`;
const H = 3600_000;
const NOW = Date.UTC(2025, 0, 6, 7);
const iso = (t: number) => new Date(t).toISOString();
let stub: StubScheduler | null = null;

afterEach(async () => {
  await stub?.close();
  stub = null;
});

function request(over: Partial<SchedulingRequest> = {}): SchedulingRequest {
  return {
    vin: VIN,
    urgency: 'high',
    components: ['brakes'],
    earliest: iso(NOW),
    latest: iso(NOW + 48 * H),
    idempotency_key: `${CID}:book:initial`,
    ...over,
  };
}

async function setup(hours = 72) {
  stub = await startStubScheduler(hourlySlots(NOW + H, hours, ['c-b', 'c-a']));
  const clock = new ManualClock(NOW);
  const bus = new FakeBus();
  const agent = createSchedulingAgent(testContext(AGENTS.scheduling, bus, clock), { client: createSchedulerClient(stub.url), maxAttempts: 2 });
  await agent.start();
  const send = async (payload: unknown) => {
    const env = requestEnvelope(clock, 'scheduling_request', AGENTS.scheduling, payload, CID);
    await bus.publish(CHANNELS.schedulingRequest, env);
    await bus.drain();
    return env;
  };
  const results = () => bus.on(CHANNELS.schedulingResult).map((e) => e.payload as SchedulingResult);
  return { stub, bus, clock, send, results };
}

describe('scheduling agent', () => {
  it('books the earliest slot before `latest` with the request idempotency key', async () => {
    const { stub, bus, send, results } = await setup();
    const env = await send(request());
    const [res] = bus.on(CHANNELS.schedulingResult);
    expect(res!.header).toMatchObject({ message_type: 'scheduling_result', correlation_id: CID, causation_id: env.header.message_id });
    const r = results()[0]!;
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.appointment).toEqual({ appointment_id: 'appt-1', center_id: 'c-a', start: iso(NOW + H), end: iso(NOW + 3 * H), bay: 1, components: ['brakes'] });
    expect(Date.parse(r.appointment.start)).toBeLessThanOrEqual(NOW + 48 * H);
    expect(stub.bookings[0]).toMatchObject({ key: `${CID}:book:initial`, body: { correlation_id: CID, urgency: 'high', vin: VIN } });
  });

  it('tries the next slot after a 409', async () => {
    const { stub, send, results } = await setup();
    stub.stolen.add(`c-a@${iso(NOW + H)}`);
    stub.stolen.add(`c-b@${iso(NOW + H)}`);
    await send(request());
    expect(results()[0]).toMatchObject({ ok: true, appointment: { center_id: 'c-a', start: iso(NOW + 2 * H) } });
    expect(stub.bookings).toHaveLength(3);
  });

  it('never books twice for a redelivered request', async () => {
    const { stub, bus, send, results } = await setup();
    const env = await send(request());
    await bus.redeliver(CHANNELS.schedulingRequest, env);
    expect([...stub.appointments.values()].filter((a) => a.status === 'booked')).toHaveLength(1);
    const [a, b] = results();
    expect(a).toEqual(b);
  });

  it('answers retryable "no slot" when nothing is free before `latest`', async () => {
    const { send, results } = await setup();
    await send(request({ latest: iso(NOW + 30 * 60_000) }));
    expect(results()[0]).toEqual({ vin: VIN, ok: false, error: `no slot before ${iso(NOW + 30 * 60_000)}`, retryable: true });
  });

  it("honours the customer's centre and time when not critical", async () => {
    const { send, results } = await setup();
    await send(request({ urgency: 'medium', center_id: 'c-b', preferred_time: iso(NOW + 10 * H) }));
    expect(results()[0]).toMatchObject({ ok: true, appointment: { center_id: 'c-b', start: iso(NOW + 10 * H) } });
  });

  it('moves an existing appointment earlier for a reschedule, once', async () => {
    const { stub, bus, send, results } = await setup();
    await send(request({ latest: iso(NOW + 70 * H), preferred_time: iso(NOW + 60 * H), urgency: 'low' }));
    const first = results()[0]!;
    if (!first.ok) throw new Error('first booking failed');
    expect(first.appointment.start).toBe(iso(NOW + 60 * H));
    const env = await send(request({ urgency: 'critical', latest: iso(NOW + 6 * H), reschedule_appointment_id: first.appointment.appointment_id, idempotency_key: `${CID}:book:reschedule:9` }));
    await bus.redeliver(CHANNELS.schedulingRequest, env);
    const [, moved, again] = results();
    expect(moved).toMatchObject({ ok: true, appointment: { appointment_id: first.appointment.appointment_id, start: iso(NOW + H) } });
    expect(again).toEqual(moved);
    expect(stub.appointments.size).toBe(1);
  });

  it('books anew when the appointment to move was cancelled', async () => {
    const { stub, send, results } = await setup();
    await send(request());
    stub.appointments.get('appt-1')!.status = 'cancelled';
    await send(request({ reschedule_appointment_id: 'appt-1', idempotency_key: `${CID}:book:reschedule:3` }));
    expect(results()[1]).toMatchObject({ ok: true, appointment: { appointment_id: 'appt-2' } });
  });

  it('throws while the scheduler is down, so the bus retries and then dead-letters', async () => {
    const { stub, bus, send, results } = await setup();
    stub.down = true;
    await send(request());
    expect(results()).toHaveLength(0);
    expect(bus.deadLetters).toHaveLength(1);
    expect(bus.deadLetters[0]!.reason).toMatch(/503|down/);
  });

  it('answers a bad request with agent_failed and a clear reason', async () => {
    const { bus, send } = await setup(1);
    await send({ ...request(), components: ['wipers'] });
    const [err] = bus.on(CHANNELS.systemError);
    expect(err!.header.message_type).toBe('agent_failed');
    expect(err!.payload).toMatchObject({ agent: AGENTS.scheduling, vin: VIN, error: expect.stringMatching(/components must be/) });
    expect(bus.deadLetters).toHaveLength(0);
  });
});
