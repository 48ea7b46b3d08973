/**
 * The decider's building blocks: `Step` (one decision being made, which checks every edge it takes
 * against TRANSITIONS) and the actions several event handlers share (ask for analysis, fail with
 * retry, engage the customer, ask for a booking). Pure, like the decider.
 */
import { AGENTS, CHANNELS } from './envelope.js';
import type { AnalysisRequest, EngagementKind, EngagementRequest, SchedulingRequest } from './payloads.js';
import type { Component } from './telemetry.js';
import { priorityOf } from './urgency.js';
import { DAY, isoTime } from './clock.js';
import {
  TIMED_STATES,
  TRANSITIONS,
  type Counter,
  type Decision,
  type Effect,
  type Transition,
  type TimerName,
  type Workflow,
  type WorkflowConfig,
  type WorkflowEvent,
  type WorkflowState,
} from './workflow.js';

/** Thrown when the decider would take an edge missing from TRANSITIONS: a bug, never user input. */
export class UndeclaredTransitionError extends Error {
  readonly code = 'PW_UNDECLARED_TRANSITION';
  constructor(from: WorkflowState, to: WorkflowState, on: string) {
    super(`transition ${from} → ${to} on ${on} is not in the transition table`);
    this.name = 'UndeclaredTransitionError';
  }
}

const edges = new Set(TRANSITIONS.map((t) => `${t.from}>${t.to}>${t.on}`));

export class Step {
  readonly transitions: Transition[] = [];
  readonly effects: Effect[] = [];
  constructor(
    public wf: Workflow,
    readonly event: WorkflowEvent,
    readonly now: number,
    readonly cfg: WorkflowConfig,
  ) {}

  get cid(): string {
    return this.wf.correlationId;
  }

  go(to: WorkflowState, reason: string): void {
    const from = this.wf.state;
    if (!edges.has(`${from}>${to}>${this.event.type}`) && !edges.has(`${from}>${to}>*`)) {
      throw new UndeclaredTransitionError(from, to, this.event.type);
    }
    this.transitions.push({ fromState: from, toState: to, timestamp: this.now, reason });
    this.wf.reason = reason;
    // A self-transition (a reminder, an escalation) re-enters the state: it is a new state entry, so
    // the timers it sets carry a new seq and the ones it leaves behind are stale, like any other entry.
    this.wf.state = to;
    this.wf.stateSeq += 1;
    this.wf.stateEnteredAt = this.now;
    this.effects.push({ kind: 'clear_timers' });
    if (TIMED_STATES.has(to)) this.timer('state_timeout', this.now + this.cfg.stateTimeoutMs);
  }

  timer(name: TimerName, dueAt: number): void {
    this.effects.push({ kind: 'set_timer', name, dueAt, seq: this.wf.stateSeq });
  }

  count(counter: Counter, by = 1): void {
    this.effects.push({ kind: 'count', counter, by });
  }

  publish(e: Omit<Extract<Effect, { kind: 'publish' }>, 'kind' | 'priority' | 'key'> & { key: string }): void {
    this.effects.push({ kind: 'publish', priority: priorityOf(this.wf.urgency), ...e, key: `${this.cid}:${e.key}` });
  }

  /** The event contradicts this case: nothing changes, and the sender is told why. */
  refuse(reason: string): Decision {
    return { workflow: this.wf, transitions: [], effects: [], ignored: reason, refused: reason };
  }

  done(ignored?: string): Decision {
    if (ignored !== undefined) return { workflow: this.wf, transitions: [], effects: [], ignored };
    // Every applied decision bumps the version, also one that only stores data (a newer analysis, a
    // delivery report): otherwise two such writes from the same version would both pass the
    // optimistic check and one would be lost.
    this.wf.version += 1;
    this.wf.updatedAt = this.now;
    return { workflow: this.wf, transitions: this.transitions, effects: this.effects };
  }
}

export function requestAnalysis(s: Step, samples: AnalysisRequest['samples']): void {
  const payload: AnalysisRequest = { vin: s.wf.vin, samples, ...(s.wf.dataSince !== null ? { since: s.wf.dataSince } : {}) };
  s.publish({
    channel: CHANNELS.analysisRequest,
    messageType: 'analysis_request',
    receiver: AGENTS.dataAnalysis,
    payload,
    key: `analysis:${s.wf.stateSeq}:${samples.at(-1)?.timestamp ?? 'none'}`,
    durable: false,
  });
}

export function fail(s: Step, retryState: WorkflowState, reason: string): void {
  const wf = s.wf;
  wf.errorCount += 1;
  wf.lastError = reason;
  wf.retryState = retryState;
  s.count('errors_encountered');
  s.go('error', reason);
  if (wf.retryCount >= s.cfg.maxRetries) {
    wf.outcome = 'failed';
    s.count('failed_workflows');
    s.go('completed', 'Failed after max retries');
    return;
  }
  s.timer('retry', s.now + s.cfg.retryBaseMs * 2 ** wf.retryCount);
}

/** Sends a message to the customer; a `resend` after a failed delivery does not count as a new reminder. */
export function engage(s: Step, kind: EngagementKind, resend = false): void {
  const wf = s.wf;
  const urgency = wf.urgency ?? 'low';
  wf.engagement.attempts += 1;
  if (!resend && kind === 'reminder') wf.engagement.reminders += 1;
  if (!resend && kind === 'escalation') wf.engagement.escalations += 1;
  if (wf.engagement.attempts === 1) s.count('customers_engaged');
  const respondBy = s.now + s.cfg.responseWindowMs[urgency];
  wf.engagement.respondBy = respondBy;
  const payload: EngagementRequest = {
    vin: wf.vin,
    urgency,
    kind,
    attempt: wf.engagement.attempts,
    predicted_failures: wf.analysis?.predicted_failures ?? [],
    predicted_days_to_failure: wf.analysis?.predicted_days_to_failure ?? null,
    respond_by: isoTime(respondBy),
    idempotency_key: `${s.cid}:engage:${wf.engagement.attempts}`,
  };
  s.publish({
    channel: CHANNELS.engagementRequest,
    messageType: 'engagement_request',
    receiver: AGENTS.customerEngagement,
    payload,
    key: `engage:${wf.engagement.attempts}`,
  });
  s.timer('response_deadline', respondBy);
}

export function requestBooking(s: Step, rescheduleId?: string): void {
  const wf = s.wf;
  const urgency = wf.urgency ?? 'low';
  const days = wf.analysis?.predicted_days_to_failure ?? 30;
  // Book well before the predicted failure, but leave the scheduler at least half a day to find a slot.
  const latest = s.now + Math.max(0.5 * DAY, days * 0.8 * DAY);
  const components = [...new Set((wf.analysis?.predicted_failures ?? []).map((f) => f.component))] as Component[];
  const seq = wf.stateSeq;
  const payload: SchedulingRequest = {
    vin: wf.vin,
    urgency,
    components,
    earliest: isoTime(s.now),
    latest: isoTime(latest),
    ...(wf.customerResponse?.preferred_time ? { preferred_time: wf.customerResponse.preferred_time } : {}),
    ...(wf.customerResponse?.center_id ? { center_id: wf.customerResponse.center_id } : {}),
    ...(rescheduleId ? { reschedule_appointment_id: rescheduleId } : {}),
    idempotency_key: `${s.cid}:book:${rescheduleId ? `reschedule:${seq}` : 'initial'}`,
  };
  s.publish({
    channel: CHANNELS.schedulingRequest,
    messageType: 'scheduling_request',
    receiver: AGENTS.scheduling,
    payload,
    key: `book:${seq}`,
  });
}
