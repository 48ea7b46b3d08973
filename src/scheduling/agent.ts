/**
 * The scheduling agent: books (or moves) a service visit for a SchedulingRequest. Idempotent: a booking
 * carries `Idempotency-Key: {idempotency_key}`, so a redelivered request gets the same appointment back;
 * a reschedule first checks whether the appointment already fits the window.
 * A scheduler that cannot be reached makes the handler throw: the bus retries, the orchestrator's
 * state timeout does the rest.
 */
import { channelAgent, type Agent, type AgentContext } from '../bus/agent.js';
import { DAY } from '../core/clock.js';
import { AGENTS, CHANNELS, type Envelope } from '../core/envelope.js';
import type { Appointment, SchedulingRequest, SchedulingResult } from '../core/payloads.js';
import type { SchedulerClient } from './client.js';
import { isNotFoundOrNotReschedulable, isSlotUnavailable, SchedulerClientError, SchedulerUnavailableError } from './errors.js';
import type { AppointmentRecord, Slot } from './scheduler-api.js';
import { rankSlots } from './slots.js';
import { parseSchedulingRequest } from './request.js';

export interface SchedulingAgentOptions {
  client: SchedulerClient;
  /** Slots tried after a 409 before giving up for now. @default 4 */
  maxSlotTries?: number;
  /** @default 8 */
  concurrency?: number;
  /** @default 5 */
  maxAttempts?: number;
}

/** The scheduler answers availability for at most this window. */
const MAX_WINDOW_MS = 90 * DAY;
const AVAILABILITY_LIMIT = 200;

export function toAppointment(a: AppointmentRecord): Appointment {
  return { appointment_id: a.appointment_id, center_id: a.center_id, start: a.start, end: a.end, bay: a.bay, components: a.components };
}

type Attempt = { ok: true; appointment: AppointmentRecord } | { ok: false; error: string; retryable: boolean };

export function createSchedulingAgent(ctx: AgentContext, opts: SchedulingAgentOptions): Agent {
  const name = AGENTS.scheduling;
  const log = ctx.log;
  const { client } = opts;
  const maxSlotTries = opts.maxSlotTries ?? 4;

  async function candidates(req: SchedulingRequest, from: number, latest: number): Promise<Slot[]> {
    const to = Math.min(latest, from + MAX_WINDOW_MS);
    if (to <= from) return [];
    const slots = await client.availability({
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      components: req.components,
      limit: AVAILABILITY_LIMIT,
    });
    const preferred = req.preferred_time === undefined ? undefined : Date.parse(req.preferred_time);
    return rankSlots(slots, {
      urgency: req.urgency,
      earliest: from,
      latest,
      ...(preferred !== undefined ? { preferredTime: preferred } : {}),
      ...(req.center_id !== undefined ? { centerId: req.center_id } : {}),
    });
  }

  /** Tries slots in order; a 409 means someone took it since the availability query. */
  async function trySlots(slots: readonly Slot[], place: (slot: Slot) => Promise<AppointmentRecord>): Promise<Attempt> {
    const tried: string[] = [];
    for (const slot of slots.slice(0, maxSlotTries)) {
      try {
        return { ok: true, appointment: await place(slot) };
      } catch (err) {
        if (!isSlotUnavailable(err)) throw err;
        tried.push(`${slot.center_id}@${slot.start}`);
      }
    }
    return { ok: false, error: `slots taken while booking (${tried.join(', ')})`, retryable: true };
  }

  async function book(env: Envelope, req: SchedulingRequest, slots: readonly Slot[]): Promise<Attempt> {
    return trySlots(slots, async (slot) => {
      const { appointment, replayed } = await client.book(
        {
          vin: req.vin,
          center_id: slot.center_id,
          start: slot.start,
          components: req.components,
          urgency: req.urgency,
          correlation_id: env.header.correlation_id,
        },
        req.idempotency_key,
      );
      if (replayed) log.info({ vin: req.vin, appointment_id: appointment.appointment_id }, 'booking replayed for the same key');
      return appointment;
    });
  }

  async function schedule(env: Envelope, req: SchedulingRequest): Promise<Attempt> {
    const now = ctx.clock.now();
    const from = Math.max(Date.parse(req.earliest), now);
    const latest = Date.parse(req.latest);
    if (req.reschedule_appointment_id) {
      const id = req.reschedule_appointment_id;
      let current: AppointmentRecord | null = null;
      try {
        current = await client.get(id);
      } catch (err) {
        if (!isNotFoundOrNotReschedulable(err)) throw err;
      }
      if (current?.status === 'booked') {
        const start = Date.parse(current.start);
        // Already inside the window (a redelivered request, or moved earlier by someone else): nothing to do.
        if (start >= from && start <= latest) return { ok: true, appointment: current };
        const slots = await candidates(req, from, latest);
        if (slots.length === 0) return { ok: false, error: `no slot before ${req.latest}`, retryable: true };
        try {
          return await trySlots(slots, (slot) => client.reschedule(id, { start: slot.start, center_id: slot.center_id }));
        } catch (err) {
          if (!isNotFoundOrNotReschedulable(err)) throw err;
        }
      }
      log.info({ vin: req.vin, appointment_id: id }, 'appointment cannot move; booking a new one');
    }
    const slots = await candidates(req, from, latest);
    if (slots.length === 0) return { ok: false, error: `no slot before ${req.latest}`, retryable: true };
    return book(env, req, slots);
  }

  async function handle(env: Envelope): Promise<void> {
    const parsed = parseSchedulingRequest(env.payload);
    if (!parsed.ok) {
      log.warn({ correlation_id: env.header.correlation_id, error: parsed.error }, 'scheduling request rejected');
      await ctx.bus.publish(CHANNELS.systemError, ctx.envelopes.reply(env, 'agent_failed', { agent: name, error: parsed.error, vin: parsed.vin }));
      return;
    }
    const req = parsed.value;
    let outcome: Attempt;
    try {
      outcome = await schedule(env, req);
    } catch (err) {
      if (err instanceof SchedulerUnavailableError || !(err instanceof SchedulerClientError)) throw err;
      // The scheduler refused the request itself (400, 404): the same request will fail again.
      outcome = { ok: false, error: `${err.code}: ${err.message}`, retryable: false };
    }
    const result: SchedulingResult = outcome.ok
      ? { vin: req.vin, ok: true, appointment: toAppointment(outcome.appointment) }
      : { vin: req.vin, ok: false, error: outcome.error, retryable: outcome.retryable };
    if (result.ok) log.info({ vin: req.vin, appointment_id: result.appointment.appointment_id, start: result.appointment.start }, 'service booked');
    else log.warn({ vin: req.vin, error: result.error }, 'service not booked');
    await ctx.bus.publish(CHANNELS.schedulingResult, ctx.envelopes.reply(env, 'scheduling_result', result));
  }

  return channelAgent(ctx, name, CHANNELS.schedulingRequest, handle, { concurrency: opts.concurrency ?? 8, maxAttempts: opts.maxAttempts ?? 5 });
}
