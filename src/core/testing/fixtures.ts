/** Test data for decider tests: payload builders and a driver that walks a workflow into any state. */
import { decide } from '../decider.js';
import { correlationIdFor } from '../ids.js';
import type {
  AnalysisResult,
  Appointment,
  CustomerDecision,
  EngagementResult,
  ServiceCompleted,
  ServiceFinding,
} from '../payloads.js';
import type { TelemetrySampleWire } from '../telemetry.js';
import { SIGNALS } from '../telemetry.js';
import { HOUR, MINUTE, isoTime } from '../clock.js';
import {
  DEFAULT_WORKFLOW_CONFIG,
  newWorkflow,
  type Workflow,
  type WorkflowConfig,
  type WorkflowEvent,
  type WorkflowState,
} from '../workflow.js';

export const VIN = '1HGCM82633A004352';
/** Monday 2025-01-06 12:00 UTC: after the 09:00 batch window, so the next one is tomorrow. */
export const T0 = Date.UTC(2025, 0, 6, 12, 0, 0);
export const CID = correlationIdFor(VIN, T0);

export function fresh(now = T0): Workflow {
  return newWorkflow(VIN, CID, now);
}

export function sample(ts = T0): TelemetrySampleWire {
  return { vin: VIN, timestamp: isoTime(ts), signals: { [SIGNALS.coolantTemp]: 104 } };
}

export function analysis(days: number | null): AnalysisResult {
  return {
    vin: VIN,
    anomalies: days === null ? [] : [{ signal: SIGNALS.coolantTemp, kind: 'trend', value: 104, message: 'rising' }],
    predicted_failures:
      days === null
        ? []
        : [{ component: 'cooling', mode: 'pump_failure', probability: 0.8, days_to_failure: days }],
    predicted_days_to_failure: days,
    failure_probability: days === null ? 0.02 : 0.8,
    confidence: 0.7,
    samples_analyzed: 1,
    model_version: 'test-1',
  };
}

export function response(decision: CustomerDecision, correlationId = CID): WorkflowEvent {
  return {
    type: 'customer_response',
    response: { vin: VIN, correlation_id: correlationId, decision, responded_at: isoTime(T0) },
  };
}

export function appointment(start: number, id = 'appt-1'): Appointment {
  return {
    appointment_id: id,
    center_id: 'center-1',
    start: isoTime(start),
    end: isoTime(start + 2 * HOUR),
    bay: 1,
    components: ['cooling'],
  };
}

export function booked(appt: Appointment): WorkflowEvent {
  return { type: 'scheduling_result', result: { vin: VIN, ok: true, appointment: appt } };
}

export function serviced(appointmentId = 'appt-1', finding: ServiceFinding = 'confirmed'): WorkflowEvent {
  const report: ServiceCompleted = {
    vin: VIN,
    appointment_id: appointmentId,
    completed_at: isoTime(T0),
    findings: [{ component: 'cooling', finding }],
  };
  return { type: 'service_completed', report };
}

export function delivery(attempt: number, delivered: boolean): WorkflowEvent {
  const result: EngagementResult = {
    vin: VIN,
    kind: attempt === 1 ? 'initial' : 'reminder',
    attempt,
    delivered,
    channels: delivered ? ['email'] : [],
    ...(delivered ? {} : { error: 'smtp down' }),
  };
  return { type: 'engagement_result', result };
}

export function timer(wf: Workflow, name: Extract<WorkflowEvent, { type: 'timer_fired' }>['timer']): WorkflowEvent {
  return { type: 'timer_fired', timer: name, seq: wf.stateSeq };
}

/** Applies events in order, one minute apart, without the checks of `given` (setup, not the test). */
export function drive(wf: Workflow, events: WorkflowEvent[], cfg: WorkflowConfig = DEFAULT_WORKFLOW_CONFIG): Workflow {
  let now = wf.updatedAt;
  for (const e of events) {
    now += MINUTE;
    wf = decide(wf, e, now, cfg).workflow;
  }
  return wf;
}

/** The appointment the standard path books: three days after T0. */
export const APPT = appointment(T0 + 72 * HOUR);

/**
 * Walks a fresh workflow into `state` along the ordinary path: high urgency (3 days to failure), or
 * medium (10 days) for `assessing_urgency`, where only a medium case waits.
 */
export function reach(state: WorkflowState, days?: number | null): Workflow {
  days = days === undefined ? (state === 'assessing_urgency' ? 10 : 3) : days;
  const wf = fresh();
  const polling: WorkflowEvent[] = [{ type: 'cycle_started' }];
  const analyzing = [...polling, { type: 'telemetry_received', samples: [sample()] } as WorkflowEvent];
  const assessed = [...analyzing, { type: 'analysis_result', result: analysis(days) } as WorkflowEvent];
  const scheduling = [...assessed, response('accept')];
  const awaiting = [...scheduling, booked(APPT)];
  const collecting = [...awaiting, serviced()];
  const path: Record<WorkflowState, WorkflowEvent[]> = {
    idle: [],
    polling_telemetry: polling,
    analyzing_data: analyzing,
    assessing_urgency: assessed,
    engaging_customer: assessed,
    scheduling_service: scheduling,
    awaiting_service: awaiting,
    collecting_feedback: collecting,
    completed: [
      ...collecting,
      { type: 'feedback_received', feedback: { vin: VIN, correlation_id: CID, rating: 5, received_at: isoTime(T0) } },
    ],
    error: [...polling, { type: 'telemetry_failed', error: 'HTTP 503' }],
  };
  const out = drive(wf, path[state]);
  if (out.state !== state) throw new Error(`reach(${state}, ${days}) ended in ${out.state}`);
  return out;
}
