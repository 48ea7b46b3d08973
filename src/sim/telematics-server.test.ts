import { describe, expect, it } from 'vitest';
import { DAY, HOUR } from '../core/clock.js';
import { ManualClock } from '../clock/clocks.js';
import { createFleet } from './fleet.js';
import type { DeliveredNotification } from './notifications.js';
import { createTelematicsApp } from './telematics-server.js';

const START = Date.parse('2026-03-02T00:00:00Z');

function setup(vehicles = 25, notifyTarget?: (n: DeliveredNotification) => void) {
  const clock = new ManualClock(START + 10 * HOUR + 17 * 60_000);
  const fleet = createFleet({ seed: 21, vehicles, startTime: START });
  const app = createTelematicsApp({ fleet, clock, ...(notifyTarget ? { notifyTarget } : {}) });
  return { clock, fleet, app };
}

const notification = (vin: string, id = 'n-1') => ({
  notification_id: id,
  vin,
  correlation_id: `workflow-${vin}-1`,
  channel: 'sms',
  kind: 'engagement',
  urgency: 'critical',
  subject: 'Your brakes need attention',
  body: 'Please book a service.',
  respond_by: '2026-03-03T00:00:00Z',
});

describe('telematics mock API', () => {
  it('pages vehicles and latest telemetry so that every vehicle appears exactly once', async () => {
    const { app, fleet } = setup(25);
    for (const route of ['/api/vehicles', '/api/telemetry/all']) {
      const seen: string[] = [];
      let cursor: string | null = '';
      let pages = 0;
      while (cursor !== null) {
        const res = await app.inject(`${route}?limit=7${cursor ? `&cursor=${cursor}` : ''}`);
        expect(res.statusCode).toBe(200);
        const body = res.json() as { vehicles: { vin: string }[]; next_cursor: string | null };
        seen.push(...body.vehicles.map((v) => v.vin));
        cursor = body.next_cursor;
        pages++;
      }
      expect(pages).toBe(4);
      expect(seen).toEqual(fleet.infos().map((v) => v.vin));
    }
  });

  it('serves /api/telemetry/all (not shadowed by /:vin) with samples on the hourly grid', async () => {
    const { app } = setup(3);
    const res = await app.inject('/api/telemetry/all');
    expect(res.statusCode).toBe(200);
    const body = res.json() as { vehicles: { vin: string; timestamp: string; signals: object; dtcs: string[] }[] };
    expect(body.vehicles).toHaveLength(3);
    expect(body.vehicles[0]?.timestamp).toBe('2026-03-02T10:00:00.000Z');
    const vehicles = (await app.inject('/api/vehicles')).json() as { vehicles: { odometer_km: number; owner: object }[] };
    expect(vehicles.vehicles[0]?.odometer_km).toBeGreaterThan(0);
    expect(vehicles.vehicles[0]?.owner).toHaveProperty('persona');
  });

  it('serves one vehicle with its owner, and 404s an unknown VIN', async () => {
    const { app, fleet } = setup(3);
    const vin = fleet.infos()[1]!.vin;
    const res = await app.inject(`/api/vehicles/${vin}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ vin, owner: { email: fleet.info(vin)!.owner.email } });
    const unknown = await app.inject('/api/vehicles/1HGCM82633A004352');
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ error: 'not_found', field: 'vin' });
  });

  it('serves the latest sample per VIN and 404s an unknown VIN', async () => {
    const { app, fleet } = setup(3);
    const vin = fleet.infos()[1]?.vin ?? '';
    const res = await app.inject(`/api/telemetry/${vin}`);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ vin, timestamp: '2026-03-02T10:00:00.000Z' });
    const missing = await app.inject('/api/telemetry/PWMAS1C04T9999999');
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: 'not_found' });
  });

  it('serves history on the grid in (since, until], oldest first, truncated at limit', async () => {
    const { app, fleet } = setup(3);
    const vin = fleet.infos()[0]?.vin ?? '';
    const res = await app.inject(`/api/telemetry/${vin}/history?since=2026-03-02T00:00:00Z&until=2026-03-02T05:00:00Z`);
    expect(res.statusCode).toBe(200);
    const body = res.json() as { samples: { timestamp: string }[]; next_since: string | null };
    expect(body.samples.map((s) => s.timestamp.slice(11, 13))).toEqual(['01', '02', '03', '04', '05']);
    expect(body.next_since).toBeNull();
    const limited = (await app.inject(`/api/telemetry/${vin}/history?since=2026-03-01T00:00:00Z&limit=3`)).json() as typeof body;
    expect(limited.samples).toHaveLength(3);
    expect(limited.next_since).toBe('2026-03-01T03:00:00.000Z');
    // until defaults to now (10:17): the last sample is 10:00, never a future one.
    const recent = (await app.inject(`/api/telemetry/${vin}/history?since=2026-03-02T08:00:00Z&until=2026-03-09T00:00:00Z`)).json() as typeof body;
    expect(recent.samples.map((s) => s.timestamp.slice(11, 13))).toEqual(['09', '10']);
  });

  it.each([
    ['since=yesterday', 'since'],
    ['until=nope', 'until'],
    ['since=2026-03-02T05:00:00Z&until=2026-03-02T01:00:00Z', 'until'],
    ['limit=0', 'limit'],
    ['limit=5001', 'limit'],
    ['limit=abc', 'limit'],
  ])('answers 400 with the field for bad history params (%s)', async (query, field) => {
    const { app, fleet } = setup(1);
    const res = await app.inject(`/api/telemetry/${fleet.infos()[0]?.vin ?? ''}/history?${query}`);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'invalid_request', field });
  });

  it('answers 400 for bad paging params and 404 for history of an unknown VIN', async () => {
    const { app } = setup(3);
    expect((await app.inject('/api/telemetry/all?limit=1001')).json()).toMatchObject({ field: 'limit' });
    expect((await app.inject('/api/vehicles?cursor=xyz')).json()).toMatchObject({ field: 'cursor' });
    expect((await app.inject('/api/vehicles?cursor=99')).statusCode).toBe(400);
    expect((await app.inject('/api/telemetry/PWMAS1C04T9999999/history')).statusCode).toBe(404);
  });

  it('answers 503 on every /api route during an outage, and recovers when it ends', async () => {
    const { app, clock, fleet } = setup(3);
    const vin = fleet.infos()[0]?.vin ?? '';
    const start = await app.inject({ method: 'POST', url: '/sim/outage', payload: { duration_ms: 2 * HOUR } });
    expect(start.statusCode).toBe(200);
    for (const url of ['/api/vehicles', '/api/telemetry/all', `/api/telemetry/${vin}`, `/api/telemetry/${vin}/history`]) {
      const res = await app.inject(url);
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ error: 'unavailable' });
    }
    expect((await app.inject('/sim/clock')).statusCode).toBe(200);
    clock.advance(2 * HOUR);
    expect((await app.inject('/api/telemetry/all')).statusCode).toBe(200);
    const bad = await app.inject({ method: 'POST', url: '/sim/outage', payload: { duration_ms: -1 } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ field: 'duration_ms' });
  });

  it('exposes ground truth and services vehicles with findings matching it', async () => {
    const { app, fleet } = setup(10);
    const truth = (await app.inject('/sim/ground-truth')).json() as { vehicles: { vin: string; healthy: boolean; faults: { component: string }[] }[] };
    expect(truth.vehicles).toHaveLength(10);
    const faulty = truth.vehicles.find((v) => !v.healthy);
    const component = faulty?.faults[0]?.component ?? '';
    const res = await app.inject({ method: 'POST', url: `/sim/vehicles/${faulty?.vin ?? ''}/service`, payload: { components: [component] } });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ findings: [{ component, finding: 'confirmed' }] });
    expect(fleet.groundTruthFor(faulty?.vin ?? '')?.faults[0]?.repaired_at).toBeDefined();
    const bad = await app.inject({ method: 'POST', url: `/sim/vehicles/${faulty?.vin ?? ''}/service`, payload: { components: ['wipers'] } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ field: 'components[0]' });
    const badAt = await app.inject({ method: 'POST', url: `/sim/vehicles/${faulty?.vin ?? ''}/service`, payload: { components: ['brakes'], at: 'soon' } });
    expect(badAt.json()).toMatchObject({ field: 'at' });
    const unknown = await app.inject({ method: 'POST', url: '/sim/vehicles/PWMAS1C04T9999999/service', payload: { components: ['brakes'] } });
    expect(unknown.statusCode).toBe(404);
    const notJson = await app.inject({ method: 'POST', url: `/sim/vehicles/${faulty?.vin ?? ''}/service`, payload: '{oops', headers: { 'content-type': 'application/json' } });
    expect(notJson.statusCode).toBe(400);
    expect((await app.inject('/sim/clock')).json()).toEqual({ now: '2026-03-02T10:17:00.000Z', epoch_ms: START + 10 * HOUR + 17 * 60_000 });
  });

  it('delivers notifications once per notification_id and lists them', async () => {
    const delivered: DeliveredNotification[] = [];
    const { app, fleet } = setup(3, (n) => delivered.push(n));
    const vin = fleet.infos()[0]?.vin ?? '';
    const first = await app.inject({ method: 'POST', url: '/sim/notifications', payload: notification(vin) });
    expect(first.statusCode).toBe(202);
    const again = await app.inject({ method: 'POST', url: '/sim/notifications', payload: notification(vin) });
    expect(again.statusCode).toBe(200);
    expect(delivered).toHaveLength(1);
    expect(delivered[0]?.delivered_to).toBe(fleet.info(vin)?.owner.phone);
    const list = (await app.inject(`/sim/notifications?vin=${vin}`)).json() as { notifications: unknown[] };
    expect(list.notifications).toHaveLength(1);
    expect(((await app.inject('/sim/notifications?vin=PWMAS1C04T9999999')).json() as typeof list).notifications).toEqual([]);
  });

  it.each([
    ['notification_id', { notification_id: '' }],
    ['vin', { vin: 'short' }],
    ['channel', { channel: 'pigeon' }],
    ['kind', { kind: 'spam' }],
    ['urgency', { urgency: 'extreme' }],
    ['subject', { subject: 42 }],
    ['respond_by', { respond_by: 'tomorrow' }],
  ])('rejects a bad notification with 400 naming %s', async (field, patch) => {
    const { app, fleet } = setup(1);
    const res = await app.inject({ method: 'POST', url: '/sim/notifications', payload: { ...notification(fleet.infos()[0]?.vin ?? ''), ...patch } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: 'invalid_request', field });
  });

  it('404s a notification for an unknown VIN and 400s a non-object body', async () => {
    const { app } = setup(1);
    const unknown = await app.inject({ method: 'POST', url: '/sim/notifications', payload: notification('PWMAS1C04T9999999') });
    expect(unknown.statusCode).toBe(404);
    const arr = await app.inject({ method: 'POST', url: '/sim/notifications', payload: [1, 2] });
    expect(arr.statusCode).toBe(400);
    expect(arr.json()).toMatchObject({ field: 'body' });
    expect((await app.inject('/nope')).statusCode).toBe(404);
  });

  it('keeps paging cheap for a large fleet as the clock advances', async () => {
    const { app, clock } = setup(2000);
    clock.advance(5 * DAY);
    const res = await app.inject('/api/telemetry/all?limit=1000&cursor=1000');
    expect((res.json() as { vehicles: unknown[]; next_cursor: string | null }).next_cursor).toBeNull();
  });
});
