import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { DAY, HOUR } from '../core/clock.js';
import { ManualClock } from '../clock/clocks.js';
import { VirtualTicker } from '../clock/ticker.js';
import type { AppointmentRecord } from '../scheduling/scheduler-api.js';
import { startSchedulerMock, startTelematicsMock } from './launch.js';

const NOW = Date.parse('2026-03-02T06:00:00Z');
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'pitwall-launch-'));
  closers.push(async () => rmSync(d, { recursive: true, force: true }));
  return d;
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

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
    expect(webhook?.body).toMatchObject({
      vin: prompt.vin,
      appointment_id: appt.appointment_id,
      correlation_id: 'corr-1',
      appointment: { appointment_id: appt.appointment_id, center_id: appt.center_id, start: appt.start, end: appt.end },
    });
    const truth = telematics.fleet.groundTruthFor(prompt.vin);
    const expected = truth?.faults.some((f) => f.component === 'brakes') ? 'confirmed' : 'not_found';
    expect(webhook?.body).toMatchObject({ findings: [{ component: 'brakes', finding: expected }] });
  });

  it('keeps the scheduler’s appointments in its data directory when it is restarted on another port', async () => {
    const dir = dataDir();
    const [portA, portB] = [await freePort(), await freePort()];
    const clock = new ManualClock(NOW);
    const serviceVehicle = () => [];
    const first = await startSchedulerMock({ port: portA, clock, serviceVehicle, dataDir: dir });
    const booking = { vin: 'PWMAS1C14A1000007', center_id: 'SC-BER-01', start: '2026-03-03T09:00:00Z', components: ['brakes'], urgency: 'high' };
    const booked = await post(`${first.url}/api/appointments`, booking, { 'idempotency-key': 'k1' });
    expect(booked.status).toBe(201);
    const appt = (await booked.json()) as AppointmentRecord;
    await first.close();

    const second = await startSchedulerMock({ port: portB, clock, serviceVehicle, dataDir: dir });
    closers.push(() => second.close());
    expect(second.url).toBe(`http://127.0.0.1:${portB}`);
    expect(second.resumed).toEqual({ appointments: 1 });
    expect(await (await fetch(`${second.url}/api/appointments/${appt.appointment_id}`)).json()).toEqual(appt);
    expect((await post(`${second.url}/api/appointments`, booking, { 'idempotency-key': 'k1' })).status).toBe(200);
    expect(readdirSync(dir).filter((f) => f.endsWith('.json'))).toEqual(['mock-scheduler.json']);
  });

  it('keeps the repaired vehicles, the fleet origin and the notification record when the telematics mock restarts on another port', async () => {
    const dir = dataDir();
    const [portA, portB] = [await freePort(), await freePort()];
    const clock = new ManualClock(NOW);
    const opts = { clock, seed: 3, vehicles: 10, customers: false, dataDir: dir } as const;
    const first = await startTelematicsMock({ ...opts, port: portA });
    const faulty = first.fleet.groundTruth().find((t) => !t.healthy)!;
    const component = faulty.faults[0]!.component;
    const at = new Date(NOW + DAY).toISOString();
    const serviced = await post(`${first.url}/sim/vehicles/${faulty.vin}/service`, { components: [component], at });
    expect(((await serviced.json()) as { findings: unknown[] }).findings).toEqual([{ component, finding: 'confirmed' }]);
    const n = { notification_id: 'n-1:sms', vin: faulty.vin, correlation_id: 'c-1', channel: 'sms', kind: 'engagement', subject: 's', body: 'b' };
    expect((await post(`${first.url}/sim/notifications`, n)).status).toBe(202);
    await first.close();

    // A restart later, with another proposed origin: the fleet's own origin is kept.
    clock.advance(2 * DAY);
    const second = await startTelematicsMock({ ...opts, port: portB });
    closers.push(() => second.close());
    expect(second.resumed).toEqual({ services: 1, notifications: 1 });
    expect(second.fleet.startTime).toBe(NOW);
    const truth = (await (await fetch(`${second.url}/sim/ground-truth?vin=${faulty.vin}`)).json()) as { vehicles: { faults: { component: string; repaired_at?: string }[] }[] };
    expect(truth.vehicles[0]?.faults.find((f) => f.component === component)?.repaired_at).toBe(at);
    const replay = await post(`${second.url}/sim/notifications`, n);
    expect(replay.status).toBe(200);
    expect(await replay.json()).toMatchObject({ status: 'duplicate' });
  });

  it('refuses to start a scheduler without a way to service vehicles', async () => {
    await expect(startSchedulerMock({ port: 0, clock: new ManualClock(NOW) })).rejects.toThrow(/serviceVehicle or telematicsUrl/);
  });
});
