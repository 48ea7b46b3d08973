/**
 * The pure workflow decider: `decide(workflow, event, now, config) → { workflow', transitions, effects }`.
 * No I/O, no clock, no randomness: the shell supplies `now` and applies the decision in one transaction.
 */
import { AGENTS, CHANNELS } from './envelope.js';
import type { AnalysisResult, CustomerResponse, ManufacturingFailure } from './payloads.js';
import { isWorse, urgencyFor, type Urgency } from './urgency.js';
import { DAY, HOUR, isoTime } from './clock.js';
import {
  DEFAULT_WORKFLOW_CONFIG,
  TIMED_STATES,
  type Decision,
  type Workflow,
  type WorkflowConfig,
  type WorkflowEvent,
} from './workflow.js';
import { Step, engage, fail, requestAnalysis, requestBooking } from './decider-actions.js';
import { onServiceCompleted } from './decider-service.js';

export { UndeclaredTransitionError } from './decider-actions.js';

export function decide(
  workflow: Readonly<Workflow>,
  event: WorkflowEvent,
  now: number,
  cfg: WorkflowConfig = DEFAULT_WORKFLOW_CONFIG,
): Decision {
  const original = workflow as Workflow;
  // Copy only what a decision may change, so the caller's object is never mutated.
  const wf: Workflow = { ...original, engagement: { ...original.engagement } };
  const s = new Step(wf, event, now, cfg);
  // Input from outside names its case by correlation id; one that names another vehicle is wrong
  // whatever the case's state, and must change nothing (issue 7: it closed the case, storing the wrong VIN).
  const mismatch = contradiction(wf, event);
  if (mismatch !== null) return s.refuse(mismatch);
  if (wf.state === 'completed') return s.done(`workflow is completed; ${event.type} ignored`);

  switch (event.type) {
    case 'cycle_started':
      if (wf.state === 'idle') {
        s.go('polling_telemetry', 'analysis cycle due');
        s.effects.push({
          kind: 'fetch_telemetry',
          vin: wf.vin,
          key: `${s.cid}:poll:${wf.stateSeq}`,
          since: wf.dataSince,
        });
      } else {
        // An open case keeps being watched: new telemetry may escalate it (DESIGN §4).
        s.effects.push({ kind: 'fetch_telemetry', vin: wf.vin, key: `${s.cid}:update:${now}`, since: wf.dataSince });
      }
      return s.done();

    case 'telemetry_received':
      if (event.samples.length === 0 && wf.state !== 'polling_telemetry') return s.done('no new samples');
      if (wf.state === 'polling_telemetry') s.go('analyzing_data', `${event.samples.length} samples fetched`);
      requestAnalysis(s, event.samples);
      return s.done();

    case 'telemetry_failed':
      if (wf.state !== 'polling_telemetry') return s.done('update poll failed; next cycle retries');
      fail(s, 'polling_telemetry', `telemetry poll failed: ${event.error}`);
      return s.done();

    case 'analysis_result':
      return onAnalysis(s, event.result);

    case 'agent_failed':
      if (wf.state === 'analyzing_data' && event.agent === AGENTS.dataAnalysis) {
        fail(s, 'polling_telemetry', `analysis failed: ${event.error}`);
      } else if (wf.state === 'scheduling_service' && event.agent === AGENTS.scheduling) {
        fail(s, 'scheduling_service', `scheduling failed: ${event.error}`);
      } else {
        return s.done(`${event.agent} failure does not concern state ${wf.state}`);
      }
      return s.done();

    case 'engagement_result':
      if (wf.state !== 'engaging_customer') return s.done(`delivery report in state ${wf.state}`);
      if (event.result.attempt !== wf.engagement.attempts) return s.done('delivery report of an earlier message');
      wf.engagement.lastDelivery = event.result;
      if (!event.result.delivered) {
        fail(s, 'engaging_customer', `notification not delivered: ${event.result.error ?? 'unknown reason'}`);
      }
      return s.done();

    case 'customer_response':
      return onCustomerResponse(s, event.response);

    case 'scheduling_result':
      if (wf.state !== 'scheduling_service') return s.done(`scheduling result in state ${wf.state}`);
      if (event.result.ok) {
        wf.appointment = event.result.appointment;
        s.go(
          'awaiting_service',
          `booked ${event.result.appointment.appointment_id} at ${event.result.appointment.start}`,
        );
        s.count('appointments_scheduled');
        s.timer('service_overdue', Date.parse(event.result.appointment.end) + s.cfg.serviceGraceMs);
      } else {
        fail(s, 'scheduling_service', `booking failed: ${event.result.error}`);
      }
      return s.done();

    case 'service_completed':
      return onServiceCompleted(s, event);

    case 'feedback_received':
      if (wf.state !== 'collecting_feedback') return s.done(`feedback in state ${wf.state}`);
      wf.feedback = event.feedback;
      wf.outcome = 'serviced';
      s.go('completed', `feedback received (rating ${event.feedback.rating})`);
      return s.done();

    case 'timer_fired':
      if (event.seq !== wf.stateSeq) return s.done(`stale ${event.timer} timer`);
      return onTimer(s, event.timer);

    default: {
      const _exhaustive: never = event;
      return _exhaustive;
    }
  }
}

/** Why an outside input cannot belong to this case, or null when it may. */
function contradiction(wf: Readonly<Workflow>, event: WorkflowEvent): string | null {
  let vin: string;
  let correlationId: string | undefined;
  switch (event.type) {
    case 'customer_response':
      ({ vin, correlation_id: correlationId } = event.response);
      break;
    case 'feedback_received':
      ({ vin, correlation_id: correlationId } = event.feedback);
      break;
    case 'service_completed':
      vin = event.report.vin;
      break;
    default:
      return null;
  }
  if (vin !== wf.vin) return `${event.type} names VIN ${vin}, but case ${wf.correlationId} is for VIN ${wf.vin}`;
  if (correlationId !== undefined && correlationId !== wf.correlationId) {
    return `${event.type} names case ${correlationId}, not ${wf.correlationId}`;
  }
  return null;
}

function onAnalysis(s: Step, result: AnalysisResult): Decision {
  const wf = s.wf;
  const level = result.predicted_days_to_failure === null ? null : urgencyFor(result.predicted_days_to_failure);
  if (wf.state === 'analyzing_data') {
    wf.analysis = result;
    wf.analysedAt = s.now;
    s.go('assessing_urgency', `analysis received: ${level ?? 'no failure predicted'}`);
    if (result.anomalies.length > 0 || result.predicted_failures.length > 0) s.count('anomalies_detected');
    return assess(s, level);
  }
  if (wf.state === 'idle' || wf.state === 'polling_telemetry' || wf.state === 'collecting_feedback') {
    // After the service, telemetry from before it says nothing new about this case.
    return s.done(`analysis result in state ${wf.state}`);
  }
  // An update for an open case: keep the newest analysis that still predicts something (the case is
  // about those components), and escalate when it is worse.
  if (result.predicted_failures.length === 0) return s.done('update predicts nothing; the case keeps its analysis');
  wf.analysis = result;
  wf.analysedAt = s.now;
  if (level === null || !isWorse(level, wf.urgency)) return s.done();
  const from = wf.urgency;
  const why = `urgency escalated ${from ?? 'none'} → ${level}`;
  wf.urgency = level;
  switch (wf.state) {
    case 'assessing_urgency':
      if (level === 'critical' || level === 'high') {
        s.go('engaging_customer', why);
        engage(s, 'initial');
      }
      break;
    case 'engaging_customer':
      s.go('engaging_customer', why);
      engage(s, 'escalation');
      break;
    case 'awaiting_service': {
      const start = wf.appointment ? Date.parse(wf.appointment.start) : Infinity;
      const failsAt = s.now + (result.predicted_days_to_failure ?? Infinity) * DAY;
      if (start > failsAt) {
        s.go('scheduling_service', `${why}; appointment ${isoTime(start)} is after the predicted failure`);
        requestBooking(s, wf.appointment?.appointment_id);
      }
      break;
    }
    default:
      break;
  }
  return s.done();
}

function assess(s: Step, level: Urgency | null): Decision {
  const wf = s.wf;
  const result = wf.analysis;
  if (level === null || result === null) {
    wf.urgency = null;
    wf.retryCount = 0;
    s.go('idle', 'no failure predicted');
    return s.done();
  }
  wf.urgency = level;
  const failures: ManufacturingFailure = {
    vin: wf.vin,
    source: 'predicted',
    urgency: level,
    failures: result.predicted_failures.map((f) => ({
      component: f.component,
      mode: f.mode,
      days_to_failure: f.days_to_failure,
    })),
  };
  s.publish({
    channel: CHANNELS.manufacturingFailure,
    messageType: 'predicted_failure',
    receiver: AGENTS.insights,
    payload: failures,
    key: 'insights:predicted',
  });
  const days = result.predicted_days_to_failure ?? Infinity;
  switch (level) {
    case 'low':
      wf.outcome = 'monitor';
      s.go('completed', `low urgency (${days.toFixed(1)} days): monitor`);
      break;
    case 'medium':
      s.timer('batch_window', nextBatchWindow(s.now, s.cfg.batchWindowHourUtc));
      wf.reason = `medium urgency (${days.toFixed(1)} days): queued for the batch window`;
      break;
    case 'high':
    case 'critical':
      s.go('engaging_customer', `${level} urgency (${days.toFixed(1)} days)`);
      engage(s, 'initial');
      break;
    default: {
      const _exhaustive: never = level;
      return _exhaustive;
    }
  }
  return s.done();
}

/** Next daily batch window strictly after `now`. */
export function nextBatchWindow(now: number, hourUtc: number): number {
  const dayStart = now - (now % DAY);
  const today = dayStart + hourUtc * HOUR;
  return today > now ? today : today + DAY;
}

function onCustomerResponse(s: Step, response: CustomerResponse): Decision {
  const wf = s.wf;
  if (wf.state !== 'engaging_customer') return s.done(`customer response in state ${wf.state}`);
  wf.customerResponse = response;
  if (response.decision === 'accept') {
    s.go('scheduling_service', 'customer accepted');
    requestBooking(s);
    return s.done();
  }
  if (wf.urgency === 'critical' && wf.engagement.escalations === 0) {
    s.go('engaging_customer', 'critical decline: escalated before closing');
    engage(s, 'escalation');
    return s.done();
  }
  wf.outcome = 'declined';
  s.go('completed', 'customer declined');
  return s.done();
}

function onTimer(s: Step, timer: Extract<WorkflowEvent, { type: 'timer_fired' }>['timer']): Decision {
  const wf = s.wf;
  switch (timer) {
    case 'state_timeout':
      if (!TIMED_STATES.has(wf.state)) return s.done(`state_timeout in state ${wf.state}`);
      fail(
        s,
        wf.state === 'scheduling_service' ? 'scheduling_service' : 'polling_telemetry',
        `timeout in ${wf.state} after ${Math.round(s.cfg.stateTimeoutMs / 1000)} s`,
      );
      return s.done();
    case 'retry': {
      if (wf.state !== 'error' || wf.retryState === null) return s.done(`retry in state ${wf.state}`);
      wf.retryCount += 1;
      const target = wf.retryState;
      s.go(target, `retry ${wf.retryCount}/${s.cfg.maxRetries}`);
      if (target === 'polling_telemetry') {
        s.effects.push({
          kind: 'fetch_telemetry',
          vin: wf.vin,
          key: `${s.cid}:poll:${wf.stateSeq}`,
          since: wf.dataSince,
        });
      } else if (target === 'scheduling_service') {
        requestBooking(s, wf.appointment?.appointment_id);
      } else if (target === 'engaging_customer') {
        engage(s, wf.engagement.lastDelivery?.kind ?? 'initial', true);
      }
      return s.done();
    }
    case 'batch_window':
      if (wf.state !== 'assessing_urgency') return s.done(`batch_window in state ${wf.state}`);
      s.go('engaging_customer', 'medium: batch engagement window');
      engage(s, 'initial');
      return s.done();
    case 'response_deadline':
      if (wf.state !== 'engaging_customer') return s.done(`response_deadline in state ${wf.state}`);
      // A critical decline was escalated once; no change of mind by the deadline leaves it a decline,
      // and a decline is never followed by a reminder.
      if (wf.customerResponse?.decision === 'decline') {
        wf.outcome = 'declined';
        s.go('completed', 'customer declined; no change of mind after the escalation');
      } else if (wf.engagement.reminders === 0) {
        s.go('engaging_customer', 'no answer by the deadline: reminder');
        engage(s, 'reminder');
      } else if (wf.engagement.escalations === 0) {
        s.go('engaging_customer', 'no answer after reminder: escalation');
        engage(s, 'escalation');
      } else {
        wf.outcome = 'no_response';
        s.go('completed', 'no answer after escalation');
      }
      return s.done();
    case 'service_overdue':
      if (wf.state !== 'awaiting_service') return s.done(`service_overdue in state ${wf.state}`);
      fail(s, 'scheduling_service', 'no service report after the appointment');
      return s.done();
    case 'feedback_deadline':
      if (wf.state !== 'collecting_feedback') return s.done(`feedback_deadline in state ${wf.state}`);
      wf.outcome = 'serviced';
      s.go('completed', 'no feedback by the deadline');
      return s.done();
    default: {
      const _exhaustive: never = timer;
      return _exhaustive;
    }
  }
}
