/**
 * Turns an inbound envelope into a workflow event. The bus is a boundary: the sender must be the one
 * allowed to send that message type, and the payload must have the shape the decider relies on.
 */
import { AGENTS, type AgentName, type Envelope } from '../core/envelope.js';
import {
  CUSTOMER_DECISIONS,
  SERVICE_FINDINGS,
  type AnalysisResult,
  type CustomerResponse,
  type EngagementResult,
  type Feedback,
  type SchedulingResult,
  type ServiceCompleted,
} from '../core/payloads.js';
import { COMPONENTS } from '../core/telemetry.js';
import type { WorkflowEvent } from '../core/workflow.js';
import { isVin } from '../core/ids.js';

export type Inbound =
  | {
      ok: true;
      vin: string;
      event: WorkflowEvent;
      /** The vehicle's analysis memory an analysis result hands back, kept by the shell, not the workflow. */
      analysisMemory?: string | null;
    }
  | { ok: false; reason: string };

/** A memory snapshot is about 1.5 KB; anything far larger is not one. */
const MAX_ANALYSIS_MEMORY_CHARS = 64 * 1024;

type Rec = Record<string, unknown>;
const isRec = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === 'string' && v.length > 0;
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isComponent = (v: unknown): boolean => (COMPONENTS as readonly unknown[]).includes(v);

/** Which sender may send which message type. */
const SENDERS: Record<string, readonly string[]> = {
  analysis_result: [AGENTS.dataAnalysis],
  agent_failed: [AGENTS.dataAnalysis, AGENTS.scheduling, AGENTS.customerEngagement, AGENTS.feedback],
  engagement_result: [AGENTS.customerEngagement],
  customer_response: [AGENTS.api],
  scheduling_result: [AGENTS.scheduling],
  service_completed: [AGENTS.api, AGENTS.scheduler],
  feedback_received: [AGENTS.api],
};

/** Message types the orchestrator hears but does not act on. */
export const INFORMATIONAL_TYPES: ReadonlySet<string> = new Set(['feedback_requested']);

export function toEvent(env: Envelope): Inbound {
  const type = env.header.message_type;
  const allowed = SENDERS[type];
  if (!allowed) return { ok: false, reason: `unknown message_type ${type}` };
  if (!allowed.includes(env.header.sender)) return { ok: false, reason: `${env.header.sender} may not send ${type}` };
  const p = env.payload;
  if (!isRec(p) || !isVin(p['vin'])) return { ok: false, reason: `${type}: payload.vin missing or invalid` };
  const vin = p['vin'];
  const bad = (field: string, why: string): Inbound => ({ ok: false, reason: `${type}: ${field} ${why}` });
  switch (type) {
    case 'analysis_result': {
      if (!Array.isArray(p['predicted_failures'])) return bad('predicted_failures', 'must be an array');
      if (!Array.isArray(p['anomalies'])) return bad('anomalies', 'must be an array');
      const d = p['predicted_days_to_failure'];
      if (d !== null && !(isNum(d) && d >= 0)) return bad('predicted_days_to_failure', 'must be null or a number ≥ 0');
      for (const f of p['predicted_failures'] as unknown[]) {
        if (!isRec(f) || !isComponent(f['component']) || !isNum(f['days_to_failure'])) {
          return bad('predicted_failures[]', 'needs a known component and a numeric days_to_failure');
        }
      }
      const { memory, ...result } = p;
      if (memory !== undefined && memory !== null && !(typeof memory === 'string' && memory.length <= MAX_ANALYSIS_MEMORY_CHARS)) {
        return bad('memory', `must be null or a snapshot string of at most ${MAX_ANALYSIS_MEMORY_CHARS} characters`);
      }
      return {
        ok: true,
        vin,
        event: { type: 'analysis_result', result: result as unknown as AnalysisResult },
        ...(memory !== undefined ? { analysisMemory: memory } : {}),
      };
    }
    case 'agent_failed':
      return { ok: true, vin, event: { type: 'agent_failed', agent: env.header.sender as AgentName, error: String(p['error'] ?? 'unknown') } };
    case 'engagement_result':
      if (typeof p['delivered'] !== 'boolean' || !isNum(p['attempt'])) return bad('delivered/attempt', 'are required');
      return { ok: true, vin, event: { type: 'engagement_result', result: p as unknown as EngagementResult } };
    case 'customer_response':
      if (!(CUSTOMER_DECISIONS as readonly unknown[]).includes(p['decision'])) return bad('decision', 'must be accept or decline');
      if (!isStr(p['correlation_id'])) return bad('correlation_id', 'is required');
      return { ok: true, vin, event: { type: 'customer_response', response: p as unknown as CustomerResponse } };
    case 'scheduling_result':
      if (typeof p['ok'] !== 'boolean') return bad('ok', 'must be a boolean');
      if (p['ok'] === true && (!isRec(p['appointment']) || !isStr(p['appointment']['appointment_id']))) {
        return bad('appointment', 'is required when ok');
      }
      return { ok: true, vin, event: { type: 'scheduling_result', result: p as unknown as SchedulingResult } };
    case 'service_completed': {
      if (!isStr(p['appointment_id'])) return bad('appointment_id', 'is required');
      if (!isStr(p['completed_at']) || !Number.isFinite(Date.parse(p['completed_at']))) {
        return bad('completed_at', 'must be an ISO-8601 date-time');
      }
      const appt = p['appointment'];
      if (appt !== undefined && !(isRec(appt) && appt['appointment_id'] === p['appointment_id'] && isStr(appt['start']) && isStr(appt['end']) && isStr(appt['center_id']))) {
        return bad('appointment', 'must be the appointment named by appointment_id, with center_id, start and end');
      }
      const findings = p['findings'];
      if (!Array.isArray(findings)) return bad('findings', 'must be an array');
      for (const f of findings as unknown[]) {
        if (!isRec(f) || !isComponent(f['component']) || !(SERVICE_FINDINGS as readonly unknown[]).includes(f['finding'])) {
          return bad('findings[]', 'needs a known component and finding confirmed|not_found');
        }
      }
      return { ok: true, vin, event: { type: 'service_completed', report: p as unknown as ServiceCompleted } };
    }
    case 'feedback_received':
      if (!isNum(p['rating'])) return bad('rating', 'must be a number');
      return { ok: true, vin, event: { type: 'feedback_received', feedback: p as unknown as Feedback } };
    default:
      return { ok: false, reason: `unhandled message_type ${type}` };
  }
}
