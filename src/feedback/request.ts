/** Checks an inbound FeedbackRequest: the bus is a boundary, so the payload is untrusted. */
import { isVin } from '../core/ids.js';
import type { FeedbackRequest } from '../core/payloads.js';

export type ParsedFeedback = { ok: true; value: FeedbackRequest } | { ok: false; error: string; vin: string | null };

export function parseFeedbackRequest(payload: unknown): ParsedFeedback {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    return { ok: false, error: 'invalid_payload: payload must be an object', vin: null };
  }
  const p = payload as Record<string, unknown>;
  const vin = isVin(p['vin']) ? p['vin'] : null;
  const fail = (error: string): ParsedFeedback => ({ ok: false, error: `invalid_payload: ${error}`, vin });
  if (!vin) return fail('vin must be a 17-character VIN');
  const { appointment_id: appointmentId, respond_by: respondBy, idempotency_key: key } = p;
  if (typeof appointmentId !== 'string' || appointmentId === '' || appointmentId.length > 200) return fail('appointment_id must be a non-empty string');
  if (typeof respondBy !== 'string' || !Number.isFinite(Date.parse(respondBy))) return fail('respond_by must be an ISO-8601 date-time');
  if (typeof key !== 'string' || key === '' || key.length > 300) return fail('idempotency_key must be a non-empty string');
  return { ok: true, value: { vin, appointment_id: appointmentId, respond_by: respondBy, idempotency_key: key } };
}
