/**
 * Wire contract of the scheduler API (a dealer-network booking system). The mock in `src/sim` serves it;
 * the scheduling agent's client calls it. Times are ISO-8601 UTC strings.
 */
import type { Component } from '../core/telemetry.js';
import type { Urgency } from '../core/urgency.js';

export interface OpeningHours {
  /** ISO weekdays the centre is open, 1 = Monday … 7 = Sunday. */
  days: number[];
  /** Opening and closing hour, UTC, [open, close). */
  open: number;
  close: number;
}

export interface Technician {
  technician_id: string;
  skills: Component[];
}

export interface ServiceCenter {
  center_id: string;
  name: string;
  city: string;
  opening_hours: OpeningHours;
  bays: number;
  technicians: Technician[];
  /** Parts in stock, by component. */
  parts: Partial<Record<Component, number>>;
}

/** GET /api/centers → { centers } */
export interface CentersResponse {
  centers: ServiceCenter[];
}

/** GET /api/availability?from=&to=&component=&center_id=&limit= → { slots } (components comma-separated). */
export interface Slot {
  center_id: string;
  start: string;
  end: string;
  bay: number;
}
export interface AvailabilityResponse {
  slots: Slot[];
}

/** POST /api/appointments, header `Idempotency-Key` (required). 201 new, 200 replay of the same key. */
export interface BookingRequest {
  vin: string;
  center_id: string;
  start: string;
  components: Component[];
  urgency: Urgency;
  /** Pitwall's correlation id, echoed in the service-completed notification. */
  correlation_id?: string;
}

export const APPOINTMENT_STATUSES = ['booked', 'cancelled', 'completed'] as const;
export type AppointmentStatus = (typeof APPOINTMENT_STATUSES)[number];

export interface AppointmentRecord {
  appointment_id: string;
  vin: string;
  center_id: string;
  start: string;
  end: string;
  bay: number;
  technician_id: string;
  components: Component[];
  urgency: Urgency;
  status: AppointmentStatus;
  correlation_id?: string;
  created_at: string;
}

/** PATCH /api/appointments/{id} (reschedule). */
export interface RescheduleRequest {
  start: string;
  center_id?: string;
}

/**
 * Error body of every 4xx: `error` is a stable code, `field` names the input at fault when there is one.
 * 400 invalid_request, 404 not_found, 409 slot_unavailable | not_reschedulable.
 */
export interface SchedulerError {
  error: 'invalid_request' | 'not_found' | 'slot_unavailable' | 'not_reschedulable';
  message: string;
  field?: string;
}

/** Length of a service visit. */
export const SERVICE_DURATION_MS = 2 * 3600 * 1000;
