/** Checks an inbound SchedulingRequest: the bus is a boundary, so the payload is untrusted. */
import { isVin } from '../core/ids.js';
import type { SchedulingRequest } from '../core/payloads.js';
import { COMPONENTS, type Component } from '../core/telemetry.js';
import { isUrgency } from '../core/urgency.js';

export type ParsedScheduling = { ok: true; value: SchedulingRequest } | { ok: false; error: string; vin: string | null };

const isIsoTime = (v: unknown): v is string => typeof v === 'string' && v.length <= 64 && Number.isFinite(Date.parse(v));
const isShortString = (v: unknown, max = 200): v is string => typeof v === 'string' && v.length > 0 && v.length <= max;

export function parseSchedulingRequest(payload: unknown): ParsedScheduling {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    return { ok: false, error: 'invalid_payload: payload must be an object', vin: null };
  }
  const p = payload as Record<string, unknown>;
  const vin = isVin(p['vin']) ? p['vin'] : null;
  const fail = (error: string): ParsedScheduling => ({ ok: false, error: `invalid_payload: ${error}`, vin });
  if (!vin) return fail('vin must be a 17-character VIN');
  const urgency = p['urgency'];
  if (!isUrgency(urgency)) return fail('urgency must be one of low, medium, high, critical');
  const components = p['components'];
  if (!Array.isArray(components) || components.length === 0 || !components.every((c) => (COMPONENTS as readonly unknown[]).includes(c))) {
    return fail(`components must be a non-empty array of ${COMPONENTS.join(', ')}`);
  }
  const { earliest, latest } = p;
  if (!isIsoTime(earliest)) return fail('earliest must be an ISO-8601 date-time');
  if (!isIsoTime(latest)) return fail('latest must be an ISO-8601 date-time');
  if (Date.parse(latest) < Date.parse(earliest)) return fail('latest must not be before earliest');
  const preferred = p['preferred_time'];
  if (preferred !== undefined && !isIsoTime(preferred)) return fail('preferred_time must be an ISO-8601 date-time');
  const center = p['center_id'];
  if (center !== undefined && !isShortString(center, 100)) return fail('center_id must be a non-empty string');
  const key = p['idempotency_key'];
  if (!isShortString(key, 300)) return fail('idempotency_key must be a non-empty string of at most 300 characters');
  const reschedule = p['reschedule_appointment_id'];
  if (reschedule !== undefined && !isShortString(reschedule)) return fail('reschedule_appointment_id must be a non-empty string');
  return {
    ok: true,
    value: {
      vin,
      urgency,
      components: [...new Set(components as Component[])],
      earliest,
      latest,
      ...(preferred !== undefined ? { preferred_time: preferred } : {}),
      ...(center !== undefined ? { center_id: center } : {}),
      idempotency_key: key,
      ...(reschedule !== undefined ? { reschedule_appointment_id: reschedule } : {}),
    },
  };
}
