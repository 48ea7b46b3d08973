/**
 * The mock telematics API: fleet metadata and telemetry (paged), plus test/eval-only `/sim/*` routes:
 * ground truth, servicing, outages, the clock, and the notification gateway.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { HOUR, isoTime, type Clock } from '../core/clock.js';
import { COMPONENTS, type Component } from '../core/telemetry.js';
import type { Fleet } from './fleet.js';
import {
  asObject,
  InputError,
  installErrorHandlers,
  optionalTime,
  parseCursor,
  parseLimit,
  parseTime,
  sendError,
} from './http.js';
import { NotificationGateway, parseNotification, type NotificationListener } from './notifications.js';

export interface TelematicsAppOptions {
  fleet: Fleet;
  clock: Clock;
  /** Spacing of the telemetry grid. @default 1 hour */
  sampleIntervalMs?: number;
  /** Called once per newly delivered notification (the simulated customers listen here). */
  notifyTarget?: NotificationListener;
  /** Supply one to share it; otherwise the app makes its own. */
  gateway?: NotificationGateway;
  /** Fastify logging. @default false */
  logger?: boolean;
}

const PAGE_DEFAULT = 100;
const PAGE_MAX = 1000;
const HISTORY_DEFAULT = 500;
const HISTORY_MAX = 5000;
const MAX_OUTAGE_MS = 30 * 24 * HOUR;

type Query = Record<string, string | undefined>;

export function createTelematicsApp(opts: TelematicsAppOptions): FastifyInstance {
  const { fleet, clock } = opts;
  const interval = opts.sampleIntervalMs ?? HOUR;
  if (!(interval > 0)) throw new RangeError('sampleIntervalMs must be positive');
  const gateway = opts.gateway ?? new NotificationGateway();
  if (opts.notifyTarget) gateway.onDelivered(opts.notifyTarget);
  let outageUntil = 0;
  const app = Fastify({ logger: opts.logger ?? false });
  installErrorHandlers(app);

  /** The latest point of the sample grid at or before t. */
  const gridAtOrBefore = (t: number): number => Math.floor(t / interval) * interval;

  app.addHook('onRequest', async (req, reply) => {
    if (req.url.startsWith('/api/') && clock.now() < outageUntil) {
      return sendError(reply, 503, 'unavailable', `telematics outage until ${isoTime(outageUntil)}`);
    }
  });

  app.get('/api/vehicles', async (req) => {
    const q = req.query as Query;
    const limit = parseLimit(q['limit'], 'limit', PAGE_DEFAULT, PAGE_MAX);
    const start = parseCursor(q['cursor'], fleet.size);
    const now = clock.now();
    const page = fleet.infos().slice(start, start + limit);
    const end = start + page.length;
    return {
      vehicles: page.map((v) => ({ ...v, odometer_km: fleet.odometerAt(v.vin, now) })),
      next_cursor: end < fleet.size ? String(end) : null,
    };
  });

  app.get('/api/vehicles/:vin', async (req, reply) => {
    const { vin } = req.params as { vin: string };
    const v = fleet.info(vin);
    if (!v) return sendError(reply, 404, 'not_found', `no vehicle ${vin}`, 'vin');
    return { ...v, odometer_km: fleet.odometerAt(vin, clock.now()) };
  });

  // Registered before /:vin for readability; find-my-way prefers static segments regardless.
  app.get('/api/telemetry/all', async (req) => {
    const q = req.query as Query;
    const limit = parseLimit(q['limit'], 'limit', PAGE_DEFAULT, PAGE_MAX);
    const start = parseCursor(q['cursor'], fleet.size);
    const t = gridAtOrBefore(clock.now());
    const page = fleet.infos().slice(start, start + limit);
    const end = start + page.length;
    return {
      vehicles: page.map((v) => fleet.servedSample(v.vin, t)),
      next_cursor: end < fleet.size ? String(end) : null,
    };
  });

  app.get('/api/telemetry/:vin', async (req, reply) => {
    const { vin } = req.params as { vin: string };
    const sample = fleet.servedSample(vin, gridAtOrBefore(clock.now()));
    if (!sample) return sendError(reply, 404, 'not_found', `no vehicle with VIN ${vin}`, 'vin');
    return sample;
  });

  app.get('/api/telemetry/:vin/history', async (req, reply) => {
    const { vin } = req.params as { vin: string };
    const q = req.query as Query;
    const now = clock.now();
    const until = Math.min(optionalTime(q['until'], 'until', now), now);
    const since = optionalTime(q['since'], 'since', until - 24 * HOUR);
    if (q['until'] !== undefined && since > parseTime(q['until'], 'until')) {
      throw new InputError('until', 'until must not be before since');
    }
    const limit = parseLimit(q['limit'], 'limit', HISTORY_DEFAULT, HISTORY_MAX);
    if (!fleet.info(vin)) return sendError(reply, 404, 'not_found', `no vehicle with VIN ${vin}`, 'vin');
    const samples = [];
    let t = gridAtOrBefore(since) + interval;
    for (; t <= until && samples.length < limit; t += interval) samples.push(fleet.servedSample(vin, t));
    const truncated = t <= until;
    const last = samples[samples.length - 1];
    return { vin, samples, next_since: truncated && last ? last.timestamp : null };
  });

  app.get('/sim/ground-truth', async (req) => {
    const vin = (req.query as Query)['vin'];
    if (vin !== undefined) {
      const one = fleet.groundTruthFor(vin);
      return { vehicles: one ? [one] : [] };
    }
    return { vehicles: fleet.groundTruth() };
  });

  app.post('/sim/vehicles/:vin/service', async (req, reply) => {
    const { vin } = req.params as { vin: string };
    const body = asObject(req.body);
    const comps = body['components'];
    if (!Array.isArray(comps) || comps.length === 0) {
      throw new InputError('components', 'components must be a non-empty array');
    }
    comps.forEach((c, i) => {
      if (typeof c !== 'string' || !(COMPONENTS as readonly string[]).includes(c)) {
        throw new InputError(`components[${i}]`, `components[${i}] must be one of: ${COMPONENTS.join(', ')}`);
      }
    });
    const at = body['at'] === undefined ? clock.now() : parseTime(body['at'], 'at');
    if (!fleet.info(vin)) return sendError(reply, 404, 'not_found', `no vehicle with VIN ${vin}`, 'vin');
    return { vin, findings: fleet.serviceVehicle(vin, comps as Component[], at) };
  });

  app.post('/sim/outage', async (req) => {
    const body = asObject(req.body);
    const d = body['duration_ms'];
    if (typeof d !== 'number' || !Number.isFinite(d) || d < 0 || d > MAX_OUTAGE_MS) {
      throw new InputError('duration_ms', `duration_ms must be a number of milliseconds from 0 to ${MAX_OUTAGE_MS}`);
    }
    outageUntil = clock.now() + d;
    return { outage_until: isoTime(outageUntil) };
  });

  app.get('/sim/clock', async () => {
    const now = clock.now();
    return { now: isoTime(now), epoch_ms: now };
  });

  app.post('/sim/notifications', async (req, reply) => {
    const n = parseNotification(req.body);
    const info = fleet.info(n.vin);
    if (!info) return sendError(reply, 404, 'not_found', `no vehicle with VIN ${n.vin}`, 'vin');
    const { delivered, notification } = gateway.receive(n, info.owner, clock.now());
    return reply.status(delivered ? 202 : 200).send({ status: delivered ? 'accepted' : 'duplicate', notification });
  });

  app.get('/sim/notifications', async (req) => {
    const vin = (req.query as Query)['vin'];
    return { notifications: gateway.list(vin) };
  });

  return app;
}
