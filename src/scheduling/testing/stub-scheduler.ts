/**
 * A small in-memory scheduler API on Fastify for tests of the client and the agent: fixed slots,
 * Idempotency-Key replay, 409 on a slot marked `stolen`, 503 while `down`.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { AppointmentRecord, BookingRequest, Slot } from '../scheduler-api.js';
import { SERVICE_DURATION_MS } from '../scheduler-api.js';

export interface StubScheduler {
  app: FastifyInstance;
  url: string;
  slots: Slot[];
  appointments: Map<string, AppointmentRecord>;
  /** `center_id@start` of slots that answer 409 when booked (someone else got there first) */
  stolen: Set<string>;
  bookings: { key: string; body: BookingRequest }[];
  down: boolean;
  close(): Promise<void>;
}

const slotKey = (centerId: string, start: string): string => `${centerId}@${new Date(start).toISOString()}`;

export async function startStubScheduler(slots: Slot[]): Promise<StubScheduler> {
  const app = Fastify({ logger: false });
  const byKey = new Map<string, string>();
  let seq = 0;
  const stub: StubScheduler = {
    app,
    url: '',
    slots,
    appointments: new Map(),
    stolen: new Set(),
    bookings: [],
    down: false,
    close: () => app.close(),
  };
  const taken = (centerId: string, start: string): boolean =>
    [...stub.appointments.values()].some((a) => a.status === 'booked' && slotKey(a.center_id, a.start) === slotKey(centerId, start));
  const error = (status: number, code: string, message: string) => ({ status, body: { error: code, message } });

  app.addHook('onRequest', async (_req, reply) => {
    if (stub.down) return reply.status(503).send({ error: 'unavailable', message: 'down for maintenance' });
  });
  app.get('/api/centers', async () => ({ centers: [] }));
  app.get('/api/availability', async (req) => {
    const q = req.query as Record<string, string>;
    const from = Date.parse(q['from'] ?? '');
    const to = Date.parse(q['to'] ?? '');
    return {
      slots: stub.slots.filter((s) => Date.parse(s.start) >= from && Date.parse(s.start) < to && !taken(s.center_id, s.start) && (!q['center_id'] || s.center_id === q['center_id'])),
    };
  });
  app.post('/api/appointments', async (req, reply) => {
    const key = req.headers['idempotency-key'];
    if (typeof key !== 'string') return reply.status(400).send({ error: 'invalid_request', message: 'the Idempotency-Key header is required', field: 'Idempotency-Key' });
    const body = req.body as BookingRequest;
    stub.bookings.push({ key, body });
    const existing = byKey.get(key);
    if (existing) return reply.status(200).send(stub.appointments.get(existing));
    if (stub.stolen.has(slotKey(body.center_id, body.start)) || taken(body.center_id, body.start)) {
      const e = error(409, 'slot_unavailable', `slot ${body.start} at ${body.center_id} is taken`);
      return reply.status(e.status).send(e.body);
    }
    const id = `appt-${++seq}`;
    const a: AppointmentRecord = {
      appointment_id: id,
      vin: body.vin,
      center_id: body.center_id,
      start: new Date(body.start).toISOString(),
      end: new Date(Date.parse(body.start) + SERVICE_DURATION_MS).toISOString(),
      bay: 1,
      technician_id: 'tech-1',
      components: body.components,
      urgency: body.urgency,
      status: 'booked',
      ...(body.correlation_id ? { correlation_id: body.correlation_id } : {}),
      created_at: new Date(0).toISOString(),
    };
    stub.appointments.set(id, a);
    byKey.set(key, id);
    return reply.status(201).send(a);
  });
  app.get('/api/appointments/:id', async (req, reply) => {
    const a = stub.appointments.get((req.params as { id: string }).id);
    return a ?? reply.status(404).send({ error: 'not_found', message: 'no such appointment' });
  });
  app.delete('/api/appointments/:id', async (req, reply) => {
    const a = stub.appointments.get((req.params as { id: string }).id);
    if (!a) return reply.status(404).send({ error: 'not_found', message: 'no such appointment' });
    a.status = 'cancelled';
    return a;
  });
  app.patch('/api/appointments/:id', async (req, reply) => {
    const a = stub.appointments.get((req.params as { id: string }).id);
    if (!a) return reply.status(404).send({ error: 'not_found', message: 'no such appointment' });
    if (a.status !== 'booked') return reply.status(409).send({ error: 'not_reschedulable', message: `appointment is ${a.status}` });
    const body = req.body as { start: string; center_id?: string };
    const center = body.center_id ?? a.center_id;
    if (stub.stolen.has(slotKey(center, body.start)) || taken(center, body.start)) {
      return reply.status(409).send({ error: 'slot_unavailable', message: 'slot taken' });
    }
    a.start = new Date(body.start).toISOString();
    a.end = new Date(Date.parse(body.start) + SERVICE_DURATION_MS).toISOString();
    a.center_id = center;
    return a;
  });
  stub.url = await app.listen({ host: '127.0.0.1', port: 0 });
  return stub;
}

/** Hourly slots at the given centres, starting at `from`. */
export function hourlySlots(from: number, hours: number, centers: readonly string[]): Slot[] {
  const out: Slot[] = [];
  for (let h = 0; h < hours; h++) {
    for (const center_id of centers) {
      const start = from + h * 3600_000;
      out.push({ center_id, start: new Date(start).toISOString(), end: new Date(start + SERVICE_DURATION_MS).toISOString(), bay: 1 });
    }
  }
  return out;
}
