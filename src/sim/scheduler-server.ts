/**
 * The mock scheduler API (a dealer network's booking system), serving exactly the contract of
 * src/scheduling/scheduler-api.ts. Booked services play out on the clock (see ServiceRunner).
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { DAY, type Clock } from '../core/clock.js';
import { isVin } from '../core/ids.js';
import { COMPONENTS, type Component } from '../core/telemetry.js';
import { URGENCY_LEVELS } from '../core/urgency.js';
import { VirtualTicker } from '../clock/ticker.js';
import type { BookingRequest, ServiceCenter } from '../scheduling/scheduler-api.js';
import { defaultPost, type PostJson } from './customers.js';
import {
  asObject,
  InputError,
  installErrorHandlers,
  optionalString,
  parseLimit,
  parseTime,
  requireOneOf,
  requireString,
  sendError,
} from './http.js';
import { AppointmentBook, type BookOutcome } from './scheduler-book.js';
import { DEFAULT_CENTERS } from './scheduler-centers.js';
import { ServiceRunner, type ServiceRunnerOptions, type ServiceVehicleFn } from './service-runner.js';

export interface SchedulerAppOptions {
  clock: Clock;
  /** Performs the simulated service: the fleet's `serviceVehicle`, or `httpServiceVehicle(telematicsUrl)`. */
  serviceVehicle: ServiceVehicleFn;
  /** @default http://127.0.0.1:3000 */
  pitwallUrl?: string;
  /** @default DEFAULT_CENTERS */
  centers?: readonly ServiceCenter[];
  /** Supply one to step time in tests (`ticker.runDue()`); otherwise the app runs its own. */
  ticker?: VirtualTicker;
  /** @default fetch */
  post?: PostJson;
  /** JSON file that keeps appointments across restarts. */
  stateFile?: string;
  retryDelaysMs?: readonly number[];
  onEvent?: ServiceRunnerOptions['onEvent'];
  /** @default false */
  logger?: boolean;
}

const AVAILABILITY_DEFAULT = 100;
const AVAILABILITY_MAX = 1000;
const MAX_WINDOW_MS = 90 * DAY;

type Query = Record<string, string | undefined>;

function parseComponents(value: unknown, field: string): Component[] {
  const list = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean) : null;
  if (!list || list.length === 0) throw new InputError(field, `${field} must list at least one of: ${COMPONENTS.join(', ')}`);
  for (const c of list) {
    if (typeof c !== 'string' || !(COMPONENTS as readonly string[]).includes(c)) {
      throw new InputError(field, `${field}: ${String(c)} is not one of: ${COMPONENTS.join(', ')}`);
    }
  }
  return [...new Set(list as Component[])];
}

function parseBooking(body: unknown, book: AppointmentBook): BookingRequest {
  const o = asObject(body);
  const vin = requireString(o, 'vin', 17);
  if (!isVin(vin)) throw new InputError('vin', 'vin must be a 17-character VIN');
  const centerId = requireString(o, 'center_id', 100);
  if (!book.center(centerId)) throw new InputError('center_id', `no service centre ${centerId}`);
  const start = requireString(o, 'start', 64);
  parseTime(start, 'start');
  const correlationId = optionalString(o, 'correlation_id', 200);
  return {
    vin,
    center_id: centerId,
    start,
    components: parseComponents(o['components'], 'components'),
    urgency: requireOneOf(o, 'urgency', URGENCY_LEVELS),
    ...(correlationId !== undefined ? { correlation_id: correlationId } : {}),
  };
}

export function createSchedulerApp(opts: SchedulerAppOptions): FastifyInstance {
  const { clock } = opts;
  const ownTicker = opts.ticker === undefined;
  const ticker = opts.ticker ?? new VirtualTicker(clock);
  const book = new AppointmentBook(opts.centers ?? DEFAULT_CENTERS, opts.stateFile);
  const runner = new ServiceRunner({
    book,
    clock,
    ticker,
    serviceVehicle: opts.serviceVehicle,
    pitwallUrl: opts.pitwallUrl ?? 'http://127.0.0.1:3000',
    post: opts.post ?? defaultPost,
    ...(opts.retryDelaysMs ? { retryDelaysMs: opts.retryDelaysMs } : {}),
    ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
  });
  runner.resume();

  const app = Fastify({ logger: opts.logger ?? false });
  installErrorHandlers(app);
  if (ownTicker) app.addHook('onClose', async () => ticker.stop());

  const reply409or404 = (outcome: Exclude<BookOutcome, { ok: true }>) => ({
    error: outcome.error,
    message: outcome.message,
  });

  app.get('/api/centers', async () => ({ centers: book.listCenters() }));

  app.get('/api/availability', async (req, reply) => {
    const q = req.query as Query;
    if (q['from'] === undefined) throw new InputError('from', 'from is required');
    if (q['to'] === undefined) throw new InputError('to', 'to is required');
    const from = parseTime(q['from'], 'from');
    const to = parseTime(q['to'], 'to');
    if (to <= from) throw new InputError('to', 'to must be after from');
    if (to - from > MAX_WINDOW_MS) throw new InputError('to', 'the window from..to may span at most 90 days');
    const components = q['component'] === undefined ? [] : parseComponents(q['component'], 'component');
    const centerId = q['center_id'];
    if (centerId !== undefined && !book.center(centerId)) {
      return sendError(reply, 400, 'invalid_request', `no service centre ${centerId}`, 'center_id');
    }
    const limit = parseLimit(q['limit'], 'limit', AVAILABILITY_DEFAULT, AVAILABILITY_MAX);
    return {
      slots: book.availability({ from, to, now: clock.now(), components, limit, ...(centerId ? { centerId } : {}) }),
    };
  });

  app.post('/api/appointments', async (req, reply) => {
    const key = req.headers['idempotency-key'];
    if (typeof key !== 'string' || key.trim() === '' || key.length > 300) {
      return sendError(reply, 400, 'invalid_request', 'the Idempotency-Key header is required', 'Idempotency-Key');
    }
    const request = parseBooking(req.body, book);
    const outcome = book.book(key, request, clock.now());
    if (!outcome.ok) return reply.status(outcome.status).send(reply409or404(outcome));
    if (outcome.status === 201) runner.track(outcome.appointment);
    return reply.status(outcome.status).send(outcome.appointment);
  });

  // Test and evaluation only: every appointment ever booked, to check that nothing was booked twice.
  app.get('/sim/appointments', async () => ({ appointments: book.all() }));

  app.get('/api/appointments/:id', async (req, reply) => {
    const { id } = req.params as { id: string };
    const a = book.get(id);
    return a ? a : sendError(reply, 404, 'not_found', `no appointment ${id}`);
  });

  app.delete('/api/appointments/:id', async (req, reply) => {
    const { id } = req.params as { id: string };
    const outcome = book.cancel(id);
    if (!outcome.ok) return reply.status(outcome.status).send(reply409or404(outcome));
    runner.untrack(id);
    return outcome.appointment;
  });

  app.patch('/api/appointments/:id', async (req, reply) => {
    const { id } = req.params as { id: string };
    const o = asObject(req.body);
    const start = parseTime(requireString(o, 'start', 64), 'start');
    const centerId = optionalString(o, 'center_id', 100);
    if (centerId !== undefined && !book.center(centerId)) throw new InputError('center_id', `no service centre ${centerId}`);
    const outcome = book.reschedule(id, start, centerId, clock.now());
    if (!outcome.ok) return reply.status(outcome.status).send(reply409or404(outcome));
    runner.track(outcome.appointment);
    return outcome.appointment;
  });

  return app;
}
