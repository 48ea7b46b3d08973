/** Typed client of the scheduler API (src/scheduling/scheduler-api.ts). Every call has a timeout. */
import type { Component } from '../core/telemetry.js';
import { BadResponseError, errorFromResponse, SchedulerUnavailableError } from './errors.js';
import type {
  AppointmentRecord,
  AvailabilityResponse,
  BookingRequest,
  CentersResponse,
  RescheduleRequest,
  ServiceCenter,
  Slot,
} from './scheduler-api.js';

export type FetchFn = (input: string, init: RequestInit) => Promise<Response>;

export interface SchedulerClientOptions {
  /** Abort a call after this long. @default 5000 */
  timeoutMs?: number;
  /** @default globalThis.fetch */
  fetch?: FetchFn;
}

export interface AvailabilityQuery {
  from: string;
  to: string;
  components?: readonly Component[];
  centerId?: string;
  limit?: number;
}

export interface BookingOutcome {
  appointment: AppointmentRecord;
  /** true when the key had booked already (200), false for a new booking (201) */
  replayed: boolean;
}

export interface SchedulerClient {
  centers(): Promise<ServiceCenter[]>;
  availability(q: AvailabilityQuery): Promise<Slot[]>;
  /** The same `idempotencyKey` always yields the same appointment. */
  book(req: BookingRequest, idempotencyKey: string): Promise<BookingOutcome>;
  get(appointmentId: string): Promise<AppointmentRecord>;
  cancel(appointmentId: string): Promise<AppointmentRecord>;
  reschedule(appointmentId: string, req: RescheduleRequest): Promise<AppointmentRecord>;
}

function isAppointment(v: unknown): v is AppointmentRecord {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o['appointment_id'] === 'string' && typeof o['center_id'] === 'string' && typeof o['start'] === 'string' && typeof o['end'] === 'string';
}

export function createSchedulerClient(baseUrl: string, opts: SchedulerClientOptions = {}): SchedulerClient {
  const base = baseUrl.replace(/\/+$/, '');
  const timeoutMs = opts.timeoutMs ?? 5000;
  const doFetch: FetchFn = opts.fetch ?? ((input, init) => fetch(input, init));

  async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: unknown }> {
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), timeoutMs);
    let res: Response;
    try {
      res = await doFetch(`${base}${path}`, {
        method,
        headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: ctl.signal,
      });
    } catch (err) {
      const why = ctl.signal.aborted ? `timed out after ${timeoutMs} ms` : err instanceof Error ? err.message : String(err);
      throw new SchedulerUnavailableError(`${method} ${path}: scheduler unreachable: ${why}`, 0, { cause: err });
    } finally {
      clearTimeout(timer);
    }
    const text = await res.text().catch(() => '');
    let json: unknown = null;
    try {
      json = text === '' ? null : JSON.parse(text);
    } catch {
      if (res.ok) throw new BadResponseError(`${method} ${path}: body is not JSON`, res.status);
    }
    if (!res.ok) throw errorFromResponse(res.status, json);
    return { status: res.status, json };
  }

  async function appointment(method: string, path: string, body?: unknown): Promise<AppointmentRecord> {
    const { status, json } = await call(method, path, body);
    if (!isAppointment(json)) throw new BadResponseError(`${method} ${path}: not an appointment`, status);
    return json;
  }

  const enc = encodeURIComponent;
  return {
    async centers() {
      const { status, json } = await call('GET', '/api/centers');
      const centers = (json as Partial<CentersResponse> | null)?.centers;
      if (!Array.isArray(centers)) throw new BadResponseError('GET /api/centers: no centers array', status);
      return centers;
    },
    async availability(q) {
      const params = new URLSearchParams({ from: q.from, to: q.to });
      if (q.components && q.components.length > 0) params.set('component', q.components.join(','));
      if (q.centerId) params.set('center_id', q.centerId);
      if (q.limit !== undefined) params.set('limit', String(q.limit));
      const { status, json } = await call('GET', `/api/availability?${params.toString()}`);
      const slots = (json as Partial<AvailabilityResponse> | null)?.slots;
      if (!Array.isArray(slots)) throw new BadResponseError('GET /api/availability: no slots array', status);
      return slots;
    },
    async book(req, idempotencyKey) {
      const { status, json } = await call('POST', '/api/appointments', req, { 'idempotency-key': idempotencyKey });
      if (!isAppointment(json)) throw new BadResponseError('POST /api/appointments: not an appointment', status);
      return { appointment: json, replayed: status === 200 };
    },
    get: (id) => appointment('GET', `/api/appointments/${enc(id)}`),
    cancel: (id) => appointment('DELETE', `/api/appointments/${enc(id)}`),
    reschedule: (id, req) => appointment('PATCH', `/api/appointments/${enc(id)}`, req),
  };
}
