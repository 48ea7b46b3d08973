import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { HOUR } from '../core/clock.js';
import { ManualClock } from '../clock/clocks.js';
import { VirtualTicker } from '../clock/ticker.js';
import type { AppointmentRecord } from '../scheduling/scheduler-api.js';
import { startSchedulerMock, startTelematicsMock } from './launch.js';

const NOW = Date.parse('2026-03-02T06:00:00Z');
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/** A stand-in for Pitwall's API that records what customers and the scheduler send it. */
async function fakePitwall() {
  const received: { url: string; body: unknown }[] = [];
  const app = Fastify();
  app.post('/*', async (req, reply) => {
    received.push({ url: req.url, body: req.body });
    return reply.status(202).send({ ok: true });
  });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  closers.push(() => app.close());
  return { url, received };
}

describe('launching the mocks over loopback HTTP', () => {
  it('runs a notification → customer answer → booking → service → webhook round trip across processes-style HTTP', async () => {
    const pitwall = await fakePitwall();
    const clock = new ManualClock(NOW);
    const telematics = await startTelematicsMock({ port: 0, clock, seed: 3, vehicles: 10, pitwallUrl: pitwall.url, badSampleRate: 0 });
    closers.push(() => telematics.close());
    const ticker = new VirtualTicker(clock, 60_000);
    closers.push(async () => ticker.stop());
    const scheduler = await startSchedulerMock({ port: 0, clock, ticker, telematicsUrl: telematics.url, pitwallUrl: pitwall.url });
    closers.push(() => scheduler.close());

    const all = (await (await fetch(`${telematics.url}/api/telemetry/all`)).json()) as { vehicles: { vin: string }[] };
    expect(all.vehicles).toHaveLength(10);
    const prompt = telematics.fleet.infos().find((v) => v.owner.persona === 'prompt');
    if (!prompt) throw new Error('no prompt owner in the fleet');
    const sent = await fetch(`${telematics.url}/sim/notifications`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        notification_id: 'n-1',
        vin: prompt.vin,
        correlation_id: 'corr-1',
        channel: 'email',
        kind: 'engagement',
        urgency: 'critical',
        subject: 'Service needed',
        body: 'Please book.',
      }),
    });
    expect(sent.status).toBe(202);
    clock.advance(HOUR);
    await telematics.ticker.runDue();
    expect(pitwall.received).toEqual([
      { url: '/api/customer-responses', body: expect.objectContaining({ vin: prompt.vin, correlation_id: 'corr-1' }) },
    ]);

    const booked = await fetch(`${scheduler.url}/api/appointments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'corr-1:book' },
      body: JSON.stringify({ vin: prompt.vin, center_id: 'SC-BER-01', start: '2026-03-02T09:00:00Z', components: ['brakes'], urgency: 'critical', correlation_id: 'corr-1' }),
    });
    expect(booked.status).toBe(201);
    const appt = (await booked.json()) as AppointmentRecord;
    clock.set(Date.parse(appt.end));
    await ticker.runDue();
    const webhook = pitwall.received.find((r) => r.url === '/api/webhooks/service-completed');
    expect(webhook?.body).toMatchObject({ vin: prompt.vin, appointment_id: appt.appointment_id, correlation_id: 'corr-1' });
    const truth = telematics.fleet.groundTruthFor(prompt.vin);
    const expected = truth?.faults.some((f) => f.component === 'brakes') ? 'confirmed' : 'not_found';
    expect(webhook?.body).toMatchObject({ findings: [{ component: 'brakes', finding: expected }] });
  });

  it('refuses to start a scheduler without a way to service vehicles', async () => {
    await expect(startSchedulerMock({ port: 0, clock: new ManualClock(NOW) })).rejects.toThrow(/serviceVehicle or telematicsUrl/);
  });
});
