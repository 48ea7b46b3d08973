/**
 * The decider's handling of a service report: whether it can be true of the case (its appointment, its
 * time), what it closes, and the training labels and manufacturing evidence it yields. Pure, like the
 * decider.
 */
import { AGENTS, CHANNELS } from './envelope.js';
import type { Appointment, FeedbackRequest, ManufacturingFailure, PredictedFailure, ServiceCompleted, ServiceLabel } from './payloads.js';
import { HOUR, isoTime } from './clock.js';
import type { Decision, Workflow, WorkflowEvent } from './workflow.js';
import type { Step } from './decider-actions.js';

export function onServiceCompleted(s: Step, event: Extract<WorkflowEvent, { type: 'service_completed' }>): Decision {
  const wf = s.wf;
  // The scheduler's report is the fact: a service done while the booking's confirmation was lost (a
  // crash, a timeout) still closes the booking part of the case instead of being dropped.
  const bookingPending =
    wf.state === 'scheduling_service' || (wf.state === 'error' && wf.retryState === 'scheduling_service');
  if (wf.state !== 'awaiting_service' && !bookingPending) return s.done(`service report in state ${wf.state}`);
  const report = event.report;
  if (wf.state === 'awaiting_service' && wf.appointment && report.appointment_id !== wf.appointment.appointment_id) {
    return s.refuse(`service report for appointment ${report.appointment_id}; the case is booked for ${wf.appointment.appointment_id}`);
  }
  const refusal = implausibleServiceTime(wf, report, s.now);
  if (refusal !== null) return s.refuse(refusal);
  if (bookingPending) {
    // The booking's confirmation never arrived, so the appointment is known only from the report: record
    // it and count it, or the case shows no appointment and the statistics one booking fewer than the
    // scheduler made (issue 7).
    wf.appointment = appointmentOf(report);
    s.count('appointments_scheduled');
  }
  wf.service = report;
  const confirmed = event.report.findings.filter((f) => f.finding === 'confirmed');
  s.go('collecting_feedback', `service done: ${confirmed.length}/${event.report.findings.length} findings confirmed`);
  if (confirmed.length > 0) s.count('failures_prevented');
  const modes = new Map((wf.analysis?.predicted_failures ?? []).map((f) => [f.component, f.mode]));
  const label: ManufacturingFailure = {
    vin: wf.vin,
    source: 'service',
    urgency: wf.urgency,
    failures: event.report.findings.map((f) => ({
      component: f.component,
      mode: modes.get(f.component) ?? 'unspecified',
      finding: f.finding,
    })),
  };
  s.publish({
    channel: CHANNELS.manufacturingFailure,
    messageType: 'service_finding',
    receiver: AGENTS.insights,
    payload: label,
    key: 'insights:service',
  });
  const labels = serviceLabels(wf, event.report, s.now);
  if (labels.length > 0) s.effects.push({ kind: 'record_labels', labels });
  const respondBy = s.now + s.cfg.feedbackWindowMs;
  const request: FeedbackRequest = {
    vin: wf.vin,
    appointment_id: event.report.appointment_id,
    respond_by: isoTime(respondBy),
    idempotency_key: `${s.cid}:feedback`,
  };
  s.publish({
    channel: CHANNELS.feedbackRequest,
    messageType: 'feedback_request',
    receiver: AGENTS.feedback,
    payload: request,
    key: 'feedback',
  });
  s.timer('feedback_deadline', respondBy);
  return s.done();
}

/** A report may come a little ahead of our clock (another machine's); more than this is not a report of the past. */
export const SERVICE_CLOCK_SKEW_MS = HOUR;

/** Why a service report's completion time cannot be true of this case, or null. */
function implausibleServiceTime(wf: Readonly<Workflow>, report: ServiceCompleted, now: number): string | null {
  const completedAt = Date.parse(report.completed_at);
  if (!Number.isFinite(completedAt)) return `completed_at ${JSON.stringify(report.completed_at)} is not a date`;
  if (completedAt > now + SERVICE_CLOCK_SKEW_MS) return `completed_at ${report.completed_at} is in the future`;
  // Nothing can be booked before the customer accepted, so no service of this case can be done earlier.
  const accepted = wf.customerResponse?.decision === 'accept' ? Date.parse(wf.customerResponse.responded_at) : NaN;
  const bookedFrom = Number.isFinite(accepted) ? accepted : wf.createdAt;
  if (completedAt < bookedFrom) {
    return `completed_at ${report.completed_at} predates the booking (${Number.isFinite(accepted) ? 'accepted' : 'case opened'} ${isoTime(bookedFrom)})`;
  }
  return null;
}

/** The appointment as the service report describes it: in full when the scheduler sent it, else by id. */
function appointmentOf(report: ServiceCompleted): Appointment {
  if (report.appointment && report.appointment.appointment_id === report.appointment_id) return report.appointment;
  return {
    appointment_id: report.appointment_id,
    center_id: 'unknown',
    start: report.completed_at,
    end: report.completed_at,
    bay: 0,
    components: [...new Set(report.findings.map((f) => f.component))],
  };
}

/**
 * One training label per serviced component, paired with what the case's analysis predicted for it.
 * A component reported twice counts as confirmed if any of its reports is: the fault was found.
 */
export function serviceLabels(wf: Readonly<Workflow>, report: ServiceCompleted, now: number): ServiceLabel[] {
  const completedAt = Date.parse(report.completed_at);
  const servicedAt = Number.isFinite(completedAt) ? completedAt : now;
  const byComponent = new Map<string, ServiceLabel>();
  for (const f of report.findings) {
    const seen = byComponent.get(f.component);
    if (seen && (seen.finding === 'confirmed' || f.finding !== 'confirmed')) continue;
    const p = mostLikely(wf.analysis?.predicted_failures ?? [], f.component);
    byComponent.set(f.component, {
      correlation_id: wf.correlationId,
      vin: wf.vin,
      component: f.component,
      finding: f.finding,
      serviced_at: servicedAt,
      predicted: p
        ? {
            mode: p.mode,
            probability: p.probability,
            days_to_failure: p.days_to_failure,
            analysed_at: wf.analysedAt ?? null,
          }
        : null,
      ...(f.notes !== undefined ? { notes: f.notes } : {}),
    });
  }
  return [...byComponent.values()];
}

/** The analysis may predict several modes for one component; the label keeps the most probable. */
function mostLikely(predicted: readonly PredictedFailure[], component: string): PredictedFailure | null {
  let best: PredictedFailure | null = null;
  for (const p of predicted) {
    if (p.component !== component) continue;
    if (!best || p.probability > best.probability) best = p;
  }
  return best;
}
