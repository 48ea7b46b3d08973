import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { HOUR, MINUTE } from '../core/clock.js';
import { ManualClock } from '../clock/clocks.js';
import { VirtualTicker } from '../clock/ticker.js';
import type { AppointmentRecord, Slot } from '../scheduling/scheduler-api.js';
import type { PostJson } from './customers.js';
import { createFleet } from './fleet.js';
import { createSchedulerApp } from './scheduler-server.js';

// Monday 2026-03-02, 06:00 UTC.
const NOW = Date.parse('2026-03-02T06:00:00Z');
const VIN = 'PWMAS1C14A1000007';
const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function setup(opts: { post?: PostJson; stateFile?: string; serviceFails?: number } = {}) {
  const clock = new ManualClock(NOW);
  const ticker = new VirtualTicker(clock, 60_000);
  cleanups.push(() => ticker.stop());
  const serviced: { vin: string; components: string[]; at: number }[] = [];
  let failures = opts.serviceFails ?? 0;
  const app = createSchedulerApp({
    clock,
    ticker,
    post: opts.post ?? (async () => ({ status: 204 })),
    ...(opts.stateFile ? { stateFile: opts.stateFile } : {}),
    serviceVehicle: (vin, components, at) => {
      if (failures-- > 0) throw new Error('telematics down');
      serviced.push({ vin, components, at });
      return components.map((component) => ({ component, finding: component === 'brakes' ? 'confirmed' : 'not_found' }));
    },
  });
  const runUntil = async (until: number): Promise<void> => {
    while (clock.now() < until) {
      clock.advance(Math.min(10_000, until - clock.now()));
      await ticker.runDue();
    }
  };
  return { app, clock, ticker, serviced, runUntil };
}

const booking = (overrides: Record<string, unknown> = {}) => ({
  vin: VIN,
  center_id: 'SC-BER-01',
  start: '2026-03-02T09:00:00.000Z',
  components: ['brakes'],
  urgency: 'high',
  correlation_id: `workflow-${VIN}-1`,
  ...overrides,
});

type App = ReturnType<typeof setup>['app'];
const book = (app: App, key: string | null, payload: unknown) =>
  app.inject({ method: 'POST', url: '/api/appointments', payload: payload as object, headers: key === null ? {} : { 'idempotency-key': key } });

describe('scheduler mock API', () => {
  it('lists centres', async () => {
    const { app } = setup();
    const res = await app.inject('/api/centers');
    expect(res.statusCode).toBe(200);
    expect((res.json() as { centers: unknown[] }).centers).toHaveLength(5);
  });

  it('lists free slots within opening hours, filtered by component and centre', async () => {
    const { app } = setup();
    const res = await app.inject('/api/availability?from=2026-03-02T00:00:00Z&to=2026-03-03T00:00:00Z&center_id=SC-BER-01&limit=1000');
    expect(res.statusCode).toBe(200);
    const slots = (res.json() as { slots: Slot[] }).slots;
    // Berlin: 07-19, 2 h slots → 6 starts; 4 bays but 3 technicians → 3 offered per start.
    expect(slots).toHaveLength(18);
    expect(slots[0]).toEqual({ center_id: 'SC-BER-01', start: '2026-03-02T07:00:00.000Z', end: '2026-03-02T09:00:00.000Z', bay: 1 });
    const battery = (await app.inject('/api/availability?from=2026-03-02T00:00:00Z&to=2026-03-03T00:00:00Z&component=battery&limit=1000')).json() as { slots: Slot[] };
    // Cologne has no battery parts in stock.
    expect(battery.slots.some((s) => s.center_id === 'SC-KOE-01')).toBe(false);
    const trans = (await app.inject('/api/availability?from=2026-03-02T00:00:00Z&to=2026-03-03T00:00:00Z&component=transmission,brakes&limit=1000')).json() as { slots: Slot[] };
    expect(new Set(trans.slots.map((s) => s.center_id))).toEqual(new Set(['SC-BER-01', 'SC-HAM-01', 'SC-MUC-01', 'SC-FRA-01']));
    const limited = (await app.inject('/api/availability?from=2026-03-02T00:00:00Z&to=2026-03-09T00:00:00Z&limit=5')).json() as { slots: Slot[] };
    expect(limited.slots).toHaveLength(5);
  });

  it.each([
    ['to=2026-03-03T00:00:00Z', 'from'],
    ['from=2026-03-02T00:00:00Z', 'to'],
    ['from=bad&to=2026-03-03T00:00:00Z', 'from'],
    ['from=2026-03-03T00:00:00Z&to=2026-03-02T00:00:00Z', 'to'],
    ['from=2026-03-02T00:00:00Z&to=2026-09-02T00:00:00Z', 'to'],
    ['from=2026-03-02T00:00:00Z&to=2026-03-03T00:00:00Z&component=wipers', 'component'],
    ['from=2026-03-02T00:00:00Z&to=2026-03-03T00:00:00Z&center_id=SC-NOPE', 'center_id'],
    ['from=2026-03-02T00:00:00Z&to=2026-03-03T00:00:00Z&limit=0', 'limit'],
  ])('availability answers 400 with the field (%s)', async (query, field) => {
    const { app } = setup();
    const res = await app.inject(`/api/availability?${query}`);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'invalid_request', field });
  });

  it('books idempotently: the same key books once and returns the same appointment with 200', async () => {
    const { app } = setup();
    const first = await book(app, 'k-1', booking());
    expect(first.statusCode).toBe(201);
    const appt = first.json() as AppointmentRecord;
    expect(appt).toMatchObject({ vin: VIN, status: 'booked', start: '2026-03-02T09:00:00.000Z', end: '2026-03-02T11:00:00.000Z', bay: 1 });
    const replay = await book(app, 'k-1', booking());
    expect(replay.statusCode).toBe(200);
    expect(replay.json()).toEqual(appt);
    const slots = (await app.inject('/api/availability?from=2026-03-02T09:00:00Z&to=2026-03-02T10:00:00Z&center_id=SC-BER-01')).json() as { slots: Slot[] };
    expect(slots.slots).toHaveLength(2);
    expect((await app.inject(`/api/appointments/${appt.appointment_id}`)).json()).toEqual(appt);
  });

  it('answers 409 slot_unavailable when every bay/technician is taken, outside hours, or in the past', async () => {
    const { app } = setup();
    expect((await book(app, 'a', booking({ center_id: 'SC-KOE-01', start: '2026-03-02T10:00:00Z' }))).statusCode).toBe(201);
    // Cologne has 2 bays but one technician, who is now busy at 10:00.
    const full = await book(app, 'c', booking({ center_id: 'SC-KOE-01', start: '2026-03-02T10:00:00Z' }));
    expect(full.statusCode).toBe(409);
    expect(full.json()).toMatchObject({ error: 'slot_unavailable' });
    expect((await book(app, 'd', booking({ start: '2026-03-02T18:00:00Z' }))).json()).toMatchObject({ error: 'slot_unavailable' });
    expect((await book(app, 'e', booking({ start: '2026-03-01T09:00:00Z' }))).statusCode).toBe(409);
    expect((await book(app, 'f', booking({ center_id: 'SC-KOE-01', components: ['transmission'] }))).statusCode).toBe(409);
  });

  it.each([
    ['vin', { vin: 'nope' }],
    ['center_id', { center_id: 'SC-NOPE' }],
    ['center_id', { center_id: undefined }],
    ['start', { start: 'tomorrow' }],
    ['components', { components: [] }],
    ['components', { components: ['wipers'] }],
    ['urgency', { urgency: 'whenever' }],
    ['correlation_id', { correlation_id: 7 }],
  ])('booking answers 400 naming %s', async (field, patch) => {
    const { app } = setup();
    const res = await book(app, 'k', booking(patch));
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'invalid_request', field });
  });

  it('booking without Idempotency-Key or with a broken body answers 400', async () => {
    const { app } = setup();
    const res = await book(app, null, booking());
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ field: 'Idempotency-Key' });
    const broken = await app.inject({ method: 'POST', url: '/api/appointments', payload: '{', headers: { 'idempotency-key': 'x', 'content-type': 'application/json' } });
    expect(broken.statusCode).toBe(400);
  });

  it('gets, cancels and reschedules with 404 / 409 / 400 where due', async () => {
    const { app } = setup();
    expect((await app.inject('/api/appointments/apt-nope')).statusCode).toBe(404);
    expect((await app.inject({ method: 'DELETE', url: '/api/appointments/apt-nope' })).statusCode).toBe(404);
    const patchMissing = await app.inject({ method: 'PATCH', url: '/api/appointments/apt-nope', payload: { start: '2026-03-02T13:00:00Z' } });
    expect(patchMissing.statusCode).toBe(404);
    const a = (await book(app, 'k1', booking())).json() as AppointmentRecord;
    const moved = await app.inject({ method: 'PATCH', url: `/api/appointments/${a.appointment_id}`, payload: { start: '2026-03-02T13:00:00Z', center_id: 'SC-MUC-01' } });
    expect(moved.statusCode).toBe(200);
    expect(moved.json()).toMatchObject({ appointment_id: a.appointment_id, center_id: 'SC-MUC-01', start: '2026-03-02T13:00:00.000Z' });
    expect((await app.inject({ method: 'PATCH', url: `/api/appointments/${a.appointment_id}`, payload: { start: '2026-03-02T23:00:00Z' } })).statusCode).toBe(409);
    const badPatch = await app.inject({ method: 'PATCH', url: `/api/appointments/${a.appointment_id}`, payload: { start: 'later' } });
    expect(badPatch.json()).toMatchObject({ field: 'start' });
    const badCentre = await app.inject({ method: 'PATCH', url: `/api/appointments/${a.appointment_id}`, payload: { start: '2026-03-02T13:00:00Z', center_id: 'X' } });
    expect(badCentre.json()).toMatchObject({ field: 'center_id' });
    const cancelled = await app.inject({ method: 'DELETE', url: `/api/appointments/${a.appointment_id}` });
    expect(cancelled.json()).toMatchObject({ status: 'cancelled' });
    const late = await app.inject({ method: 'PATCH', url: `/api/appointments/${a.appointment_id}`, payload: { start: '2026-03-02T15:00:00Z' } });
    expect(late.statusCode).toBe(409);
    expect(late.json()).toMatchObject({ error: 'not_reschedulable' });
  });

  it('services the vehicle when the slot ends and notifies Pitwall, retrying until 2xx', async () => {
    const posts: { url: string; body: unknown; at: number }[] = [];
    let clockRef: ManualClock | null = null;
    const { app, clock, serviced, runUntil } = setup({
      serviceFails: 1,
      post: async (url, body) => {
        posts.push({ url, body, at: clockRef?.now() ?? 0 });
        return { status: posts.length < 3 ? 503 : 202 };
      },
    });
    clockRef = clock;
    const a = (await book(app, 'k1', booking({ components: ['brakes', 'tyres'] }))).json() as AppointmentRecord;
    await runUntil(Date.parse(a.end) - MINUTE);
    expect(serviced).toHaveLength(0);
    await runUntil(Date.parse(a.end) + HOUR);
    expect(serviced).toEqual([{ vin: VIN, components: ['brakes', 'tyres'], at: Date.parse(a.end) }]);
    expect(posts).toHaveLength(3);
    expect(posts[0]?.url).toBe('http://127.0.0.1:3000/api/webhooks/service-completed');
    expect(posts[2]?.body).toMatchObject({
      vin: VIN,
      appointment_id: a.appointment_id,
      completed_at: a.end,
      correlation_id: `workflow-${VIN}-1`,
      findings: [
        { component: 'brakes', finding: 'confirmed' },
        { component: 'tyres', finding: 'not_found' },
      ],
    });
    expect((posts[1]?.at ?? 0) - (posts[0]?.at ?? 0)).toBe(30_000);
    expect((await app.inject(`/api/appointments/${a.appointment_id}`)).json()).toMatchObject({ status: 'completed' });
    expect((await app.inject({ method: 'DELETE', url: `/api/appointments/${a.appointment_id}` })).statusCode).toBe(409);
    await runUntil(clock.now() + 5 * HOUR);
    expect(posts).toHaveLength(3);
  });

  it('does not service a cancelled appointment', async () => {
    const { app, serviced, runUntil } = setup();
    const a = (await book(app, 'k1', booking())).json() as AppointmentRecord;
    await app.inject({ method: 'DELETE', url: `/api/appointments/${a.appointment_id}` });
    await runUntil(Date.parse(a.end) + HOUR);
    expect(serviced).toHaveLength(0);
  });

  it('keeps appointments and idempotency keys across a restart with a state file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pitwall-sched-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const stateFile = join(dir, 'state.json');
    const first = setup({ stateFile });
    const a = (await book(first.app, 'k1', booking())).json() as AppointmentRecord;
    await first.app.close();
    const second = setup({ stateFile });
    expect((await second.app.inject(`/api/appointments/${a.appointment_id}`)).json()).toEqual(a);
    const replay = await book(second.app, 'k1', booking());
    expect(replay.statusCode).toBe(200);
    await second.runUntil(Date.parse(a.end) + MINUTE);
    expect(second.serviced).toHaveLength(1);
  });

  it('works with the fleet as the service function', async () => {
    const clock = new ManualClock(NOW);
    const ticker = new VirtualTicker(clock, 60_000);
    cleanups.push(() => ticker.stop());
    const fleet = createFleet({ seed: 3, vehicles: 10, startTime: NOW });
    const faulty = fleet.groundTruth().find((t) => !t.healthy);
    const component = faulty?.faults[0]?.component ?? 'brakes';
    const posts: unknown[] = [];
    const app = createSchedulerApp({
      clock,
      ticker,
      serviceVehicle: (vin, comps, at) => fleet.serviceVehicle(vin, comps, at),
      post: async (_url, body) => {
        posts.push(body);
        return { status: 200 };
      },
    });
    const res = await book(app, 'k', booking({ vin: faulty?.vin, components: [component], center_id: 'SC-MUC-01' }));
    expect(res.statusCode).toBe(201);
    clock.set(Date.parse((res.json() as AppointmentRecord).end));
    await ticker.runDue();
    expect(posts).toEqual([expect.objectContaining({ findings: [expect.objectContaining({ component, finding: 'confirmed' })] })]);
  });
});
