/**
 * The appointment book of the mock scheduler: availability, idempotent booking, cancel, reschedule, and
 * an optional JSON state file so bookings survive a restart. No HTTP here.
 */
import { randomUUID } from 'node:crypto';
import { isoTime } from '../core/clock.js';
import type { ServiceFinding } from '../core/payloads.js';
import type { Component } from '../core/telemetry.js';
import {
  SERVICE_DURATION_MS,
  type AppointmentRecord,
  type BookingRequest,
  type ServiceCenter,
  type Slot,
} from '../scheduling/scheduler-api.js';
import { canService, gridStarts, withinOpeningHours } from './scheduler-centers.js';
import { corruptState, readJsonFile, writeJsonAtomic } from './state-file.js';

export interface StoredAppointment extends AppointmentRecord {
  completed_at?: string;
  findings?: { component: Component; finding: ServiceFinding; notes?: string }[];
  /** True once Pitwall acknowledged the service-completed notification. */
  notified?: boolean;
}

export type BookOutcome =
  | { ok: true; status: 200 | 201; appointment: StoredAppointment }
  | { ok: false; status: 409; error: 'slot_unavailable' | 'not_reschedulable'; message: string }
  | { ok: false; status: 404; error: 'not_found'; message: string };

interface Placement {
  bay: number;
  technicianId: string;
}

interface StateFile {
  appointments: StoredAppointment[];
  idempotency: [string, string][];
}

function isStateFile(v: unknown): v is StateFile {
  if (typeof v !== 'object' || v === null) return false;
  const { appointments, idempotency } = v as Record<string, unknown>;
  return (
    Array.isArray(appointments) &&
    appointments.every((a) => typeof a === 'object' && a !== null && typeof (a as Record<string, unknown>)['appointment_id'] === 'string') &&
    Array.isArray(idempotency) &&
    idempotency.every((e) => Array.isArray(e) && e.length === 2 && typeof e[0] === 'string' && typeof e[1] === 'string')
  );
}

export class AppointmentBook {
  private readonly appointments = new Map<string, StoredAppointment>();
  private readonly idempotency = new Map<string, string>();
  private readonly centers: Map<string, ServiceCenter>;

  constructor(
    centers: readonly ServiceCenter[],
    private readonly stateFile?: string,
  ) {
    this.centers = new Map(centers.map((c) => [c.center_id, c]));
    const state = stateFile ? readJsonFile(stateFile) : undefined;
    if (stateFile && state !== undefined) {
      if (!isStateFile(state)) throw corruptState(stateFile, 'does not hold appointments and idempotency keys');
      for (const a of state.appointments) this.appointments.set(a.appointment_id, a);
      for (const [k, id] of state.idempotency) this.idempotency.set(k, id);
    }
  }

  center(id: string): ServiceCenter | undefined {
    return this.centers.get(id);
  }

  listCenters(): ServiceCenter[] {
    return [...this.centers.values()];
  }

  get(id: string): StoredAppointment | undefined {
    return this.appointments.get(id);
  }

  all(): StoredAppointment[] {
    return [...this.appointments.values()];
  }

  availability(q: { from: number; to: number; now: number; components: Component[]; centerId?: string; limit: number }): Slot[] {
    const slots: Slot[] = [];
    for (const c of this.centers.values()) {
      if (q.centerId !== undefined && c.center_id !== q.centerId) continue;
      if (q.components.length > 0 && !canService(c, q.components)) continue;
      for (const start of gridStarts(c, Math.max(q.from, q.now), q.to)) {
        // A bay is only offered when a distinct skilled technician is free to work in it.
        const techs = this.freeTechnicians(c, start, q.components, null).length;
        for (const bay of this.freeBays(c, start, null).slice(0, techs)) {
          slots.push({ center_id: c.center_id, start: isoTime(start), end: isoTime(start + SERVICE_DURATION_MS), bay });
        }
      }
    }
    slots.sort((a, b) => a.start.localeCompare(b.start) || a.center_id.localeCompare(b.center_id) || a.bay - b.bay);
    return slots.slice(0, q.limit);
  }

  /** Same key → the same appointment (200), booked once. */
  book(key: string, req: BookingRequest, now: number): BookOutcome {
    const existingId = this.idempotency.get(key);
    const existing = existingId === undefined ? undefined : this.appointments.get(existingId);
    if (existing) return { ok: true, status: 200, appointment: existing };
    const start = Date.parse(req.start);
    const placed = this.place(req.center_id, start, req.components, now, null);
    if ('message' in placed) return { ok: false, status: 409, error: 'slot_unavailable', message: placed.message };
    const appointment: StoredAppointment = {
      appointment_id: `apt-${randomUUID()}`,
      vin: req.vin,
      center_id: req.center_id,
      start: isoTime(start),
      end: isoTime(start + SERVICE_DURATION_MS),
      bay: placed.bay,
      technician_id: placed.technicianId,
      components: [...req.components],
      urgency: req.urgency,
      status: 'booked',
      ...(req.correlation_id !== undefined ? { correlation_id: req.correlation_id } : {}),
      created_at: isoTime(now),
    };
    this.appointments.set(appointment.appointment_id, appointment);
    this.idempotency.set(key, appointment.appointment_id);
    this.save();
    return { ok: true, status: 201, appointment };
  }

  cancel(id: string): BookOutcome {
    const a = this.appointments.get(id);
    if (!a) return { ok: false, status: 404, error: 'not_found', message: `no appointment ${id}` };
    if (a.status === 'completed') {
      return { ok: false, status: 409, error: 'not_reschedulable', message: 'the service has already been completed' };
    }
    if (a.status === 'booked') {
      a.status = 'cancelled';
      this.save();
    }
    return { ok: true, status: 200, appointment: a };
  }

  reschedule(id: string, start: number, centerId: string | undefined, now: number): BookOutcome {
    const a = this.appointments.get(id);
    if (!a) return { ok: false, status: 404, error: 'not_found', message: `no appointment ${id}` };
    if (a.status !== 'booked') {
      return { ok: false, status: 409, error: 'not_reschedulable', message: `appointment is ${a.status}` };
    }
    const target = centerId ?? a.center_id;
    const placed = this.place(target, start, a.components, now, id);
    if ('message' in placed) return { ok: false, status: 409, error: 'slot_unavailable', message: placed.message };
    Object.assign(a, {
      center_id: target,
      start: isoTime(start),
      end: isoTime(start + SERVICE_DURATION_MS),
      bay: placed.bay,
      technician_id: placed.technicianId,
    });
    this.save();
    return { ok: true, status: 200, appointment: a };
  }

  /** Records the service outcome (or notification acknowledgement) and persists it. */
  update(id: string, patch: Partial<StoredAppointment>): void {
    const a = this.appointments.get(id);
    if (!a) return;
    Object.assign(a, patch);
    this.save();
  }

  private place(centerId: string, start: number, components: Component[], now: number, excludeId: string | null): Placement | { message: string } {
    const c = this.centers.get(centerId);
    if (!c) return { message: `no centre ${centerId}` };
    if (start < now) return { message: 'start is in the past' };
    if (!withinOpeningHours(c, start)) return { message: `start is outside the opening hours of ${centerId}` };
    if (!canService(c, components)) return { message: `${centerId} has no technician or parts for ${components.join(', ')}` };
    const bay = this.freeBays(c, start, excludeId)[0];
    if (bay === undefined) return { message: 'every bay is taken at that time' };
    const technicianId = this.freeTechnicians(c, start, components, excludeId)[0];
    if (technicianId === undefined) return { message: 'no skilled technician is free at that time' };
    return { bay, technicianId };
  }

  private overlapping(centerId: string, start: number, excludeId: string | null): StoredAppointment[] {
    const end = start + SERVICE_DURATION_MS;
    return this.all().filter(
      (a) =>
        a.center_id === centerId &&
        a.status !== 'cancelled' &&
        a.appointment_id !== excludeId &&
        Date.parse(a.start) < end &&
        Date.parse(a.end) > start,
    );
  }

  private freeBays(c: ServiceCenter, start: number, excludeId: string | null): number[] {
    const taken = new Set(this.overlapping(c.center_id, start, excludeId).map((a) => a.bay));
    const free: number[] = [];
    for (let b = 1; b <= c.bays; b++) if (!taken.has(b)) free.push(b);
    return free;
  }

  private freeTechnicians(c: ServiceCenter, start: number, components: readonly Component[], excludeId: string | null): string[] {
    const busy = new Set(this.overlapping(c.center_id, start, excludeId).map((a) => a.technician_id));
    return c.technicians
      .filter((t) => !busy.has(t.technician_id) && components.every((comp) => t.skills.includes(comp)))
      .map((t) => t.technician_id);
  }

  private save(): void {
    if (!this.stateFile) return;
    // Synchronous and atomic, before the caller answers: what was acknowledged survives a SIGKILL.
    writeJsonAtomic(this.stateFile, { appointments: this.all(), idempotency: [...this.idempotency] } satisfies StateFile);
  }
}
