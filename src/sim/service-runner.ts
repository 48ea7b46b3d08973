/**
 * Plays out booked services: when an appointment's end passes on the clock, the vehicle is serviced
 * (findings from the fleet), the appointment completes, and Pitwall is told via its webhook, retried
 * with back-off (virtual time) until it answers 2xx.
 */
import { isoTime, MINUTE, type Clock } from '../core/clock.js';
import type { ServiceCompleted } from '../core/payloads.js';
import type { Component } from '../core/telemetry.js';
import type { VirtualTicker } from '../clock/ticker.js';
import type { ServiceFindingRecord } from './fleet.js';
import type { PostJson } from './customers.js';
import type { AppointmentBook, StoredAppointment } from './scheduler-book.js';

export type ServiceVehicleFn = (
  vin: string,
  components: Component[],
  at: number,
) => ServiceFindingRecord[] | Promise<ServiceFindingRecord[]>;

/** Service through the telematics mock in another process: POST /sim/vehicles/:vin/service. */
export function httpServiceVehicle(telematicsUrl: string): ServiceVehicleFn {
  const base = telematicsUrl.replace(/\/$/, '');
  return async (vin, components, at) => {
    const res = await fetch(`${base}/sim/vehicles/${encodeURIComponent(vin)}/service`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ components, at: isoTime(at) }),
    });
    if (res.status === 404) return components.map((component) => ({ component, finding: 'not_found' as const }));
    if (!res.ok) throw new Error(`telematics mock answered ${res.status} to a service request`);
    return ((await res.json()) as { findings: ServiceFindingRecord[] }).findings;
  };
}

export type ServiceCompletedNotice = ServiceCompleted & { correlation_id?: string };

export interface ServiceRunnerOptions {
  book: AppointmentBook;
  clock: Clock;
  ticker: VirtualTicker;
  serviceVehicle: ServiceVehicleFn;
  pitwallUrl: string;
  post: PostJson;
  /** Virtual delays between attempts; the last repeats forever. @default 30 s, 1, 2, 5, 10, 30 min */
  retryDelaysMs?: readonly number[];
  onEvent?: (e: { type: 'completed' | 'notified' | 'retry'; appointment_id: string; detail?: string }) => void;
}

const DEFAULT_RETRIES = [MINUTE / 2, MINUTE, 2 * MINUTE, 5 * MINUTE, 10 * MINUTE, 30 * MINUTE] as const;

export class ServiceRunner {
  private readonly timers = new Map<string, () => void>();
  private readonly retries: readonly number[];
  private readonly webhook: string;

  constructor(private readonly opts: ServiceRunnerOptions) {
    this.retries = opts.retryDelaysMs ?? DEFAULT_RETRIES;
    this.webhook = `${opts.pitwallUrl.replace(/\/$/, '')}/api/webhooks/service-completed`;
  }

  /** Re-arms timers after a restart: pending services, and completions Pitwall has not acknowledged. */
  resume(): void {
    for (const a of this.opts.book.all()) {
      if (a.status === 'booked') this.track(a);
      else if (a.status === 'completed' && !a.notified) this.notify(a.appointment_id, 0);
    }
  }

  /** (Re)schedules the service at the appointment's end; call after booking and rescheduling. */
  track(a: StoredAppointment): void {
    this.timers.get(a.appointment_id)?.();
    const end = Date.parse(a.end);
    this.timers.set(
      a.appointment_id,
      this.opts.ticker.at(end, () => this.complete(a.appointment_id, end, 0)),
    );
  }

  untrack(id: string): void {
    this.timers.get(id)?.();
    this.timers.delete(id);
  }

  private delay(attempt: number): number {
    return this.retries[Math.min(attempt, this.retries.length - 1)] ?? MINUTE;
  }

  private async complete(id: string, end: number, attempt: number): Promise<void> {
    const a = this.opts.book.get(id);
    // A cancelled or moved appointment leaves a stale timer behind; it must do nothing.
    if (!a || a.status !== 'booked' || Date.parse(a.end) !== end) return;
    let findings: ServiceFindingRecord[];
    try {
      findings = await this.opts.serviceVehicle(a.vin, a.components, end);
    } catch (err) {
      this.opts.onEvent?.({ type: 'retry', appointment_id: id, detail: `service: ${String(err)}` });
      this.timers.set(id, this.opts.ticker.at(this.opts.clock.now() + this.delay(attempt), () => this.complete(id, end, attempt + 1)));
      return;
    }
    this.timers.delete(id);
    this.opts.book.update(id, {
      status: 'completed',
      completed_at: isoTime(end),
      findings: findings.map((f) => ({
        ...f,
        notes: f.finding === 'confirmed' ? `${f.component} fault confirmed and repaired` : `${f.component} inspected, no fault found`,
      })),
      notified: false,
    });
    this.opts.onEvent?.({ type: 'completed', appointment_id: id });
    await this.notify(id, 0);
  }

  private async notify(id: string, attempt: number): Promise<void> {
    const a = this.opts.book.get(id);
    if (!a || a.status !== 'completed' || a.notified) return;
    const notice: ServiceCompletedNotice = {
      vin: a.vin,
      appointment_id: a.appointment_id,
      completed_at: a.completed_at ?? a.end,
      findings: a.findings ?? [],
      // The booking itself, so that a case whose confirmation was lost still learns its appointment.
      appointment: {
        appointment_id: a.appointment_id,
        center_id: a.center_id,
        start: a.start,
        end: a.end,
        bay: a.bay,
        components: a.components,
      },
      ...(a.correlation_id !== undefined ? { correlation_id: a.correlation_id } : {}),
    };
    let status = 0;
    try {
      status = (await this.opts.post(this.webhook, notice)).status;
    } catch {
      status = 0;
    }
    if (status >= 200 && status < 300) {
      this.opts.book.update(id, { notified: true });
      this.opts.onEvent?.({ type: 'notified', appointment_id: id });
      return;
    }
    this.opts.onEvent?.({ type: 'retry', appointment_id: id, detail: `webhook answered ${status || 'nothing'}` });
    this.opts.ticker.at(this.opts.clock.now() + this.delay(attempt), () => this.notify(id, attempt + 1));
  }
}
