/** Checks an inbound EngagementRequest: the bus is a boundary, so the payload is untrusted. */
import { isVin } from '../core/ids.js';
import { ENGAGEMENT_KINDS, type EngagementKind, type EngagementRequest, type PredictedFailure } from '../core/payloads.js';
import { COMPONENTS, type Component } from '../core/telemetry.js';
import { isUrgency } from '../core/urgency.js';

export type ParsedEngagement =
  | { ok: true; value: EngagementRequest }
  /** `partial` holds what could be read, so the failure can still be reported as an engagement result. */
  | { ok: false; error: string; partial: { vin: string | null; kind: EngagementKind | null; attempt: number | null } };

const isKind = (v: unknown): v is EngagementKind => typeof v === 'string' && (ENGAGEMENT_KINDS as readonly string[]).includes(v);
const isComponent = (v: unknown): v is Component => typeof v === 'string' && (COMPONENTS as readonly string[]).includes(v);
const isIsoTime = (v: unknown): v is string => typeof v === 'string' && v.length <= 64 && Number.isFinite(Date.parse(v));

function parseFailure(input: unknown, i: number): PredictedFailure | string {
  if (typeof input !== 'object' || input === null) return `predicted_failures[${i}] must be an object`;
  const f = input as Record<string, unknown>;
  if (!isComponent(f['component'])) return `predicted_failures[${i}].component must be one of ${COMPONENTS.join(', ')}`;
  if (typeof f['mode'] !== 'string') return `predicted_failures[${i}].mode must be a string`;
  const days = f['days_to_failure'];
  const p = f['probability'];
  if (typeof days !== 'number' || !Number.isFinite(days) || days < 0) return `predicted_failures[${i}].days_to_failure must be a number ≥ 0`;
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) return `predicted_failures[${i}].probability must be in [0, 1]`;
  return { component: f['component'], mode: f['mode'], probability: p, days_to_failure: days };
}

export function parseEngagementRequest(payload: unknown): ParsedEngagement {
  const partial = { vin: null as string | null, kind: null as EngagementKind | null, attempt: null as number | null };
  const fail = (error: string): ParsedEngagement => ({ ok: false, error: `invalid_payload: ${error}`, partial });
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return fail('payload must be an object');
  const p = payload as Record<string, unknown>;
  if (isVin(p['vin'])) partial.vin = p['vin'];
  if (isKind(p['kind'])) partial.kind = p['kind'];
  const attempt = p['attempt'];
  if (typeof attempt === 'number' && Number.isInteger(attempt) && attempt >= 1) partial.attempt = attempt;

  if (!partial.vin) return fail('vin must be a 17-character VIN');
  if (!isUrgency(p['urgency'])) return fail('urgency must be one of low, medium, high, critical');
  if (!partial.kind) return fail(`kind must be one of ${ENGAGEMENT_KINDS.join(', ')}`);
  if (partial.attempt === null) return fail('attempt must be an integer ≥ 1');
  const rawFailures = p['predicted_failures'];
  if (!Array.isArray(rawFailures) || rawFailures.length > 50) return fail('predicted_failures must be an array of at most 50');
  const failures: PredictedFailure[] = [];
  for (const [i, f] of rawFailures.entries()) {
    const parsed = parseFailure(f, i);
    if (typeof parsed === 'string') return fail(parsed);
    failures.push(parsed);
  }
  const days = p['predicted_days_to_failure'];
  if (days !== null && (typeof days !== 'number' || !Number.isFinite(days))) return fail('predicted_days_to_failure must be a number or null');
  if (!isIsoTime(p['respond_by'])) return fail('respond_by must be an ISO-8601 date-time');
  const key = p['idempotency_key'];
  if (typeof key !== 'string' || key.length === 0 || key.length > 200) return fail('idempotency_key must be a non-empty string of at most 200 characters');
  return {
    ok: true,
    value: {
      vin: partial.vin,
      urgency: p['urgency'],
      kind: partial.kind,
      attempt: partial.attempt,
      predicted_failures: failures,
      predicted_days_to_failure: days,
      respond_by: p['respond_by'],
      idempotency_key: key,
    },
  };
}
