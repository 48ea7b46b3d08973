import { describe, expect, it } from 'vitest';
import { decide, nextBatchWindow } from './decider.js';
import { AGENTS, CHANNELS } from './envelope.js';
import type { EngagementRequest, FeedbackRequest, ManufacturingFailure, SchedulingRequest } from './payloads.js';
import { DAY, HOUR, MINUTE, SECOND, isoTime } from './clock.js';
import {
  DEFAULT_WORKFLOW_CONFIG,
  newWorkflow,
  TIMER_NAMES,
  TRANSITIONS,
  WORKFLOW_STATES,
  type Counter,
  type Decision,
  type Effect,
  type Workflow,
  type WorkflowEvent,
  type WorkflowEventType,
  type WorkflowState,
} from './workflow.js';
import { deepFreeze, edgeKey, given, takenEdges } from './testing/specification.js';
import {
  APPT,
  CID,
  T0,
  VIN,
  analysis,
  appointment,
  booked,
  delivery,
  drive,
  fresh,
  reach,
  response,
  sample,
  serviced,
  timer,
} from './testing/fixtures.js';

type Publish = Extract<Effect, { kind: 'publish' }>;
type SetTimer = Extract<Effect, { kind: 'set_timer' }>;

const publishes = (d: Decision): Publish[] => d.effects.filter((e): e is Publish => e.kind === 'publish');
const timers = (d: Decision): SetTimer[] => d.effects.filter((e): e is SetTimer => e.kind === 'set_timer');
const counts = (d: Decision): Partial<Record<Counter, number>> => {
  const out: Partial<Record<Counter, number>> = {};
  for (const e of d.effects) if (e.kind === 'count') out[e.counter] = (out[e.counter] ?? 0) + e.by;
  return out;
};
const only = <T>(xs: T[]): T => {
  expect(xs).toHaveLength(1);
  return xs[0] as T;
};
const engagementOf = (d: Decision): EngagementRequest => {
  const p = only(publishes(d).filter((e) => e.channel === CHANNELS.engagementRequest));
  return p.payload as EngagementRequest;
};
const path = (d: Decision): string[] => d.transitions.map((t) => `${t.fromState}→${t.toState}`);

const cfg = DEFAULT_WORKFLOW_CONFIG;
const NOW = T0 + HOUR;
const analysisEvent = (days: number | null): WorkflowEvent => ({ type: 'analysis_result', result: analysis(days) });

describe('starting a cycle', () => {
  it('idle → polling_telemetry fetches telemetry and sets the state timeout', () => {
    given(fresh())
      .when({ type: 'cycle_started' }, NOW)
      .then((d) => {
        expect(path(d)).toEqual(['idle→polling_telemetry']);
        expect(d.effects).toEqual([
          { kind: 'clear_timers' },
          { kind: 'set_timer', name: 'state_timeout', dueAt: NOW + 300 * SECOND, seq: 1 },
          { kind: 'fetch_telemetry', vin: VIN, key: `${CID}:poll:1`, since: null },
        ]);
        expect(d.workflow.stateEnteredAt).toBe(NOW);
        expect(d.workflow.updatedAt).toBe(NOW);
      });
  });

  it('telemetry → analyzing_data asks the analysis agent, keyed by state entry and last sample', () => {
    given(reach('polling_telemetry'))
      .when({ type: 'telemetry_received', samples: [sample(T0 - MINUTE), sample(T0)] }, NOW)
      .then((d) => {
        expect(path(d)).toEqual(['polling_telemetry→analyzing_data']);
        const p = only(publishes(d));
        expect(p).toMatchObject({
          channel: CHANNELS.analysisRequest,
          receiver: AGENTS.dataAnalysis,
          priority: 1,
          key: `${CID}:analysis:2:${new Date(T0).toISOString()}`,
        });
        expect(p.payload).toEqual({ vin: VIN, samples: [sample(T0 - MINUTE), sample(T0)] });
        expect(only(timers(d))).toMatchObject({ name: 'state_timeout', dueAt: NOW + cfg.stateTimeoutMs, seq: 2 });
      });
  });
});

describe('assessing urgency (predicted_days_to_failure boundaries)', () => {
  const cases: [number, 'critical' | 'high', 4 | 3][] = [
    [0.99, 'critical', 4],
    [1, 'high', 3],
    [6.99, 'high', 3],
  ];
  for (const [days, level, priority] of cases) {
    it(`${days} days → ${level}: engages now at priority ${priority}`, () => {
      given(reach('analyzing_data'))
        .when(analysisEvent(days), NOW)
        .then((d) => {
          expect(path(d)).toEqual(['analyzing_data→assessing_urgency', 'assessing_urgency→engaging_customer']);
          expect(d.workflow.urgency).toBe(level);
          expect(d.workflow.analysis).toEqual(analysis(days));
          const engage = only(publishes(d).filter((p) => p.channel === CHANNELS.engagementRequest));
          expect(engage).toMatchObject({ receiver: AGENTS.customerEngagement, priority, key: `${CID}:engage:1` });
          const respondBy = NOW + cfg.responseWindowMs[level];
          expect(engage.payload).toMatchObject({
            vin: VIN,
            urgency: level,
            kind: 'initial',
            attempt: 1,
            predicted_days_to_failure: days,
            respond_by: new Date(respondBy).toISOString(),
            idempotency_key: `${CID}:engage:1`,
          });
          const insights = only(publishes(d).filter((p) => p.channel === CHANNELS.manufacturingFailure));
          expect(insights).toMatchObject({ receiver: AGENTS.insights, priority, key: `${CID}:insights:predicted` });
          expect((insights.payload as ManufacturingFailure).source).toBe('predicted');
          expect(timers(d)).toEqual([
            { kind: 'set_timer', name: 'response_deadline', dueAt: respondBy, seq: d.workflow.stateSeq },
          ]);
          expect(counts(d)).toEqual({ anomalies_detected: 1, customers_engaged: 1 });
        });
    });
  }

  for (const days of [7, 29.99]) {
    it(`${days} days → medium: waits in assessing_urgency for the batch window`, () => {
      given(reach('analyzing_data'))
        .when(analysisEvent(days), NOW)
        .then((d) => {
          expect(path(d)).toEqual(['analyzing_data→assessing_urgency']);
          expect(d.workflow.urgency).toBe('medium');
          expect(timers(d)).toEqual([
            { kind: 'set_timer', name: 'batch_window', dueAt: Date.UTC(2025, 0, 7, 9), seq: d.workflow.stateSeq },
          ]);
          expect(publishes(d).map((p) => [p.channel, p.priority])).toEqual([[CHANNELS.manufacturingFailure, 2]]);
          expect(d.workflow.reason).toMatch(/batch window/);
        });
    });
  }

  it('medium: the batch window timer engages the customer', () => {
    const waiting = reach('assessing_urgency');
    given(waiting)
      .when(timer(waiting, 'batch_window'), Date.UTC(2025, 0, 7, 9))
      .then((d) => {
        expect(path(d)).toEqual(['assessing_urgency→engaging_customer']);
        expect(engagementOf(d)).toMatchObject({ urgency: 'medium', kind: 'initial', attempt: 1 });
        expect(only(publishes(d)).priority).toBe(2);
        expect(counts(d)).toEqual({ customers_engaged: 1 });
      });
  });

  it('30 days → low: completes with outcome monitor and feeds insights', () => {
    given(reach('analyzing_data'))
      .when(analysisEvent(30), NOW)
      .then((d) => {
        expect(path(d)).toEqual(['analyzing_data→assessing_urgency', 'assessing_urgency→completed']);
        expect(d.workflow.outcome).toBe('monitor');
        expect(d.workflow.urgency).toBe('low');
        expect(only(publishes(d))).toMatchObject({ channel: CHANNELS.manufacturingFailure, priority: 1 });
        expect(timers(d)).toEqual([]);
      });
  });

  it('no prediction → back to idle, urgency cleared, nothing published or counted', () => {
    given(reach('analyzing_data'))
      .when(analysisEvent(null), NOW)
      .then((d) => {
        expect(path(d)).toEqual(['analyzing_data→assessing_urgency', 'assessing_urgency→idle']);
        expect(d.workflow.urgency).toBeNull();
        expect(d.workflow.outcome).toBeNull();
        expect(publishes(d)).toEqual([]);
        expect(counts(d)).toEqual({});
      });
  });

  it('nextBatchWindow is the next 09:00 UTC strictly after now', () => {
    const day = Date.UTC(2025, 0, 6);
    expect(nextBatchWindow(day, 9)).toBe(day + 9 * HOUR);
    expect(nextBatchWindow(day + 9 * HOUR - 1, 9)).toBe(day + 9 * HOUR);
    expect(nextBatchWindow(day + 9 * HOUR, 9)).toBe(day + DAY + 9 * HOUR);
    expect(nextBatchWindow(day + 23 * HOUR, 9)).toBe(day + DAY + 9 * HOUR);
  });
});

describe('engaging the customer', () => {
  it('no answer → reminder → escalation → completed no_response', () => {
    const engaging = reach('engaging_customer');
    const seq = engaging.stateSeq;
    let t = NOW;
    const keys: string[] = [];
    const afterReminder = given(engaging)
      .when(timer(engaging, 'response_deadline'), t)
      .then((d) => {
        expect(path(d)).toEqual(['engaging_customer→engaging_customer']);
        expect(engagementOf(d)).toMatchObject({ kind: 'reminder', attempt: 2 });
        expect(d.workflow.engagement).toMatchObject({ attempts: 2, reminders: 1, escalations: 0 });
        // The reminder re-enters the state: the deadline it sets is a new timer (issue 7: under the old
        // seq its firing was refused as a duplicate of the first deadline's, and the case never closed).
        expect(d.workflow.stateSeq).toBe(seq + 1);
        expect(d.effects.filter((e) => e.kind === 'clear_timers' || e.kind === 'set_timer')).toEqual([
          { kind: 'clear_timers' },
          { kind: 'set_timer', name: 'response_deadline', dueAt: t + cfg.responseWindowMs.high, seq: seq + 1 },
        ]);
        expect(counts(d)).toEqual({});
        keys.push(only(publishes(d)).key);
      }).workflow;
    t += DAY;
    const afterEscalation = given(afterReminder)
      .when(timer(afterReminder, 'response_deadline'), t)
      .then((d) => {
        expect(engagementOf(d)).toMatchObject({ kind: 'escalation', attempt: 3 });
        expect(d.workflow.engagement).toMatchObject({ attempts: 3, reminders: 1, escalations: 1 });
        keys.push(only(publishes(d)).key);
      }).workflow;
    t += DAY;
    given(afterEscalation)
      .when(timer(afterEscalation, 'response_deadline'), t)
      .then((d) => {
        expect(path(d)).toEqual(['engaging_customer→completed']);
        expect(d.workflow.outcome).toBe('no_response');
        expect(d.effects).toEqual([{ kind: 'clear_timers' }]);
      });
    expect(keys).toEqual([`${CID}:engage:2`, `${CID}:engage:3`]);
  });

  it('critical decline is escalated once, then a second decline completes declined', () => {
    const engaging = reach('engaging_customer', 0.5);
    given(engaging)
      .when(response('decline'), NOW)
      .then((d) => {
        expect(path(d)).toEqual(['engaging_customer→engaging_customer']);
        expect(d.workflow.outcome).toBeNull();
        expect(engagementOf(d)).toMatchObject({ kind: 'escalation', urgency: 'critical', attempt: 2 });
        expect(only(publishes(d)).priority).toBe(4);
        expect(d.workflow.customerResponse?.decision).toBe('decline');
      })
      .when(response('decline'), NOW + HOUR)
      .then((d) => {
        expect(path(d)).toEqual(['engaging_customer→completed']);
        expect(d.workflow.outcome).toBe('declined');
        expect(d.workflow.reason).toBe('customer declined');
      });
  });

  it('a critical decline with no change of mind by the deadline closes declined, with no reminder (issue 7)', () => {
    const escalated = decide(reach('engaging_customer', 0.5), response('decline'), NOW).workflow;
    given(escalated)
      .when(timer(escalated, 'response_deadline'), NOW + DAY)
      .then((d) => {
        expect(path(d)).toEqual(['engaging_customer→completed']);
        expect(publishes(d)).toEqual([]);
        expect(d.workflow.outcome).toBe('declined');
        expect(d.workflow.reason).toBe('customer declined; no change of mind after the escalation');
      });
    // Declining after a reminder: escalated, then closed as declined all the same.
    const reminded = decide(reach('engaging_customer', 0.5), timer(reach('engaging_customer', 0.5), 'response_deadline'), NOW).workflow;
    const declined = decide(reminded, response('decline'), NOW + HOUR).workflow;
    expect(declined.engagement).toMatchObject({ reminders: 1, escalations: 1 });
    expect(decide(declined, timer(declined, 'response_deadline'), NOW + DAY).workflow).toMatchObject({ state: 'completed', outcome: 'declined' });
  });

  it('high decline completes declined at once', () => {
    given(reach('engaging_customer', 3))
      .when(response('decline'), NOW)
      .then((d) => {
        expect(path(d)).toEqual(['engaging_customer→completed']);
        expect(d.workflow.outcome).toBe('declined');
        expect(publishes(d)).toEqual([]);
      });
  });

  it('accept → scheduling_service books within 80% of the time to failure, with the customer preference', () => {
    const accept: WorkflowEvent = {
      type: 'customer_response',
      response: {
        vin: VIN,
        correlation_id: CID,
        decision: 'accept',
        preferred_time: '2025-01-08T10:00:00.000Z',
        center_id: 'center-7',
        responded_at: new Date(NOW).toISOString(),
      },
    };
    given(reach('engaging_customer', 3))
      .when(accept, NOW)
      .then((d) => {
        expect(path(d)).toEqual(['engaging_customer→scheduling_service']);
        const p = only(publishes(d));
        expect(p).toMatchObject({
          channel: CHANNELS.schedulingRequest,
          receiver: AGENTS.scheduling,
          priority: 3,
          key: `${CID}:book:${d.workflow.stateSeq}`,
        });
        const req = p.payload as SchedulingRequest;
        expect(req).toEqual({
          vin: VIN,
          urgency: 'high',
          components: ['cooling'],
          earliest: new Date(NOW).toISOString(),
          latest: new Date(NOW + 3 * 0.8 * DAY).toISOString(),
          preferred_time: '2025-01-08T10:00:00.000Z',
          center_id: 'center-7',
          idempotency_key: `${CID}:book:initial`,
        });
        expect(only(timers(d))).toMatchObject({ name: 'state_timeout', dueAt: NOW + cfg.stateTimeoutMs });
      });
  });

  it('a failed delivery is an error; the retry resends without counting a new reminder or customer', () => {
    const engaging = reach('engaging_customer');
    const failed = given(engaging)
      .when(delivery(1, false), NOW)
      .then((d) => {
        expect(path(d)).toEqual(['engaging_customer→error']);
        expect(d.workflow.retryState).toBe('engaging_customer');
        expect(d.workflow.lastError).toMatch(/smtp down/);
        expect(counts(d)).toEqual({ errors_encountered: 1 });
      }).workflow;
    given(failed)
      .when(timer(failed, 'retry'), NOW + cfg.retryBaseMs)
      .then((d) => {
        expect(path(d)).toEqual(['error→engaging_customer']);
        expect(engagementOf(d)).toMatchObject({ kind: 'initial', attempt: 2, idempotency_key: `${CID}:engage:2` });
        expect(d.workflow.engagement).toMatchObject({ attempts: 2, reminders: 0, escalations: 0 });
        expect(counts(d)).toEqual({});
        expect(only(timers(d)).name).toBe('response_deadline');
      });
  });

  it('a delivered report is stored without a transition', () => {
    given(reach('engaging_customer'))
      .when(delivery(1, true), NOW)
      .then((d) => {
        expect(d.transitions).toEqual([]);
        expect(d.effects).toEqual([]);
        expect(d.workflow.engagement.lastDelivery?.delivered).toBe(true);
      });
  });

  it('ignores a delivery report of an earlier attempt', () => {
    const reminded = drive(reach('engaging_customer'), [timer(reach('engaging_customer'), 'response_deadline')]);
    expect(reminded.engagement.attempts).toBe(2);
    given(reminded).when(delivery(1, false), NOW).thenIgnored(/earlier message/);
  });

  it('refuses a customer response for another correlation id', () => {
    given(reach('engaging_customer'))
      .when(response('accept', `workflow-${VIN}-1`), NOW)
      .thenRefused(/names case workflow-1HGCM82633A004352-1, not /);
  });

  it('refuses an answer, feedback or service report that names another vehicle, in any state (issue 7)', () => {
    const other = '2T1BURHE0JC012345';
    const decline = response('decline');
    if (decline.type !== 'customer_response') throw new Error('fixture');
    given(reach('engaging_customer'))
      .when({ ...decline, response: { ...decline.response, vin: other } }, NOW)
      .thenRefused(new RegExp(`names VIN ${other}, but case .* is for VIN ${VIN}`));
    given(reach('collecting_feedback'))
      .when({ type: 'feedback_received', feedback: { vin: other, correlation_id: CID, rating: 5, received_at: 'x' } }, NOW)
      .thenRefused(/feedback_received names VIN/);
    const report = serviced('appt-1');
    if (report.type !== 'service_completed') throw new Error('fixture');
    for (const state of ['awaiting_service', 'scheduling_service', 'completed'] as const) {
      given(reach(state))
        .when({ ...report, report: { ...report.report, vin: other } }, NOW)
        .thenRefused(/service_completed names VIN/);
    }
  });

  it('counts customers_engaged once per case over reminders, escalations and resends', () => {
    let wf = reach('analyzing_data');
    let engaged = 0;
    const steps: ((w: Workflow) => WorkflowEvent)[] = [
      () => analysisEvent(0.5),
      (w) => timer(w, 'response_deadline'),
      (w) => delivery(w.engagement.attempts, false),
      (w) => timer(w, 'retry'),
      () => response('decline'),
      (w) => timer(w, 'response_deadline'),
    ];
    for (const step of steps) {
      const d = decide(wf, step(wf), NOW);
      engaged += counts(d).customers_engaged ?? 0;
      wf = d.workflow;
    }
    // The owner declined and did not change their mind after the escalation: a decline, not silence.
    expect(wf).toMatchObject({ state: 'completed', outcome: 'declined' });
    expect(wf.engagement).toMatchObject({ attempts: 4, reminders: 1, escalations: 1 });
    expect(engaged).toBe(1);
  });
});

describe('scheduling, service and feedback', () => {
  it('a booked slot → awaiting_service with a service_overdue timer', () => {
    given(reach('scheduling_service'))
      .when(booked(APPT), NOW)
      .then((d) => {
        expect(path(d)).toEqual(['scheduling_service→awaiting_service']);
        expect(d.workflow.appointment).toEqual(APPT);
        expect(counts(d)).toEqual({ appointments_scheduled: 1 });
        expect(only(timers(d))).toEqual({
          kind: 'set_timer',
          name: 'service_overdue',
          dueAt: Date.parse(APPT.end) + cfg.serviceGraceMs,
          seq: d.workflow.stateSeq,
        });
      });
  });

  it('a failed booking → error with a retry timer', () => {
    given(reach('scheduling_service'))
      .when({ type: 'scheduling_result', result: { vin: VIN, ok: false, error: 'no slots', retryable: true } }, NOW)
      .then((d) => {
        expect(path(d)).toEqual(['scheduling_service→error']);
        expect(d.workflow.retryState).toBe('scheduling_service');
        expect(only(timers(d))).toMatchObject({ name: 'retry', dueAt: NOW + cfg.retryBaseMs });
      });
  });

  it('a scheduling agent failure → error with a retry timer', () => {
    given(reach('scheduling_service'))
      .when({ type: 'agent_failed', agent: AGENTS.scheduling, error: 'crashed' }, NOW)
      .then((d) => {
        expect(path(d)).toEqual(['scheduling_service→error']);
        expect(d.workflow.retryState).toBe('scheduling_service');
      });
  });

  it('service with a confirmed finding → collecting_feedback, failure prevented, insights and feedback request', () => {
    given(reach('awaiting_service'))
      .when(serviced('appt-1', 'confirmed'), NOW)
      .then((d) => {
        expect(path(d)).toEqual(['awaiting_service→collecting_feedback']);
        expect(counts(d)).toEqual({ failures_prevented: 1 });
        const [insights, feedback] = publishes(d);
        expect(insights).toMatchObject({ channel: CHANNELS.manufacturingFailure, key: `${CID}:insights:service` });
        expect((insights?.payload as ManufacturingFailure).failures).toEqual([
          { component: 'cooling', mode: 'pump_failure', finding: 'confirmed' },
        ]);
        expect(feedback).toMatchObject({ channel: CHANNELS.feedbackRequest, receiver: AGENTS.feedback, key: `${CID}:feedback` });
        const respondBy = NOW + cfg.feedbackWindowMs;
        expect(feedback?.payload as FeedbackRequest).toEqual({
          vin: VIN,
          appointment_id: 'appt-1',
          respond_by: new Date(respondBy).toISOString(),
          idempotency_key: `${CID}:feedback`,
        });
        expect(only(timers(d))).toMatchObject({ name: 'feedback_deadline', dueAt: respondBy });
      });
  });

  it('service without a confirmed finding prevents no failure', () => {
    given(reach('awaiting_service'))
      .when(serviced('appt-1', 'not_found'), NOW)
      .then((d) => {
        expect(d.workflow.state).toBe('collecting_feedback');
        expect(counts(d)).toEqual({});
      });
  });

  it('records one training label per serviced component, paired with what the analysis predicted for it', () => {
    const awaiting = reach('awaiting_service');
    // reach() applies one event a minute from T0; the analysis result is the third.
    expect(awaiting.analysedAt).toBe(T0 + 3 * MINUTE);
    const servicedAt = T0 + 3 * DAY;
    const event: WorkflowEvent = {
      type: 'service_completed',
      report: {
        vin: VIN,
        appointment_id: 'appt-1',
        completed_at: new Date(servicedAt).toISOString(),
        findings: [
          { component: 'brakes', finding: 'not_found' },
          { component: 'cooling', finding: 'not_found' },
          { component: 'cooling', finding: 'confirmed', notes: 'pump seal leaking' },
        ],
      },
    };
    given(awaiting)
      .when(event, servicedAt + HOUR)
      .then((d) => {
        const recorded = d.effects.filter((e) => e.kind === 'record_labels');
        expect(recorded).toEqual([
          {
            kind: 'record_labels',
            labels: [
              { correlation_id: CID, vin: VIN, component: 'brakes', finding: 'not_found', serviced_at: servicedAt, predicted: null },
              {
                correlation_id: CID,
                vin: VIN,
                component: 'cooling',
                finding: 'confirmed',
                serviced_at: servicedAt,
                predicted: { mode: 'pump_failure', probability: 0.8, days_to_failure: 3, analysed_at: T0 + 3 * MINUTE },
                notes: 'pump seal leaking',
              },
            ],
          },
        ]);
      });
  });

  it('records no labels for a report without findings, and labels of a workflow stored before analysedAt say null', () => {
    const { analysedAt: _dropped, ...old } = reach('awaiting_service');
    const empty: WorkflowEvent = {
      type: 'service_completed',
      report: { vin: VIN, appointment_id: 'appt-1', completed_at: new Date(T0).toISOString(), findings: [] },
    };
    given(old)
      .when(empty, NOW)
      .then((d) => expect(d.effects.some((e) => e.kind === 'record_labels')).toBe(false));
    given(old)
      .when(serviced('appt-1', 'confirmed'), NOW)
      .then((d) => {
        const recorded = d.effects.find((e) => e.kind === 'record_labels');
        expect(recorded?.kind === 'record_labels' && recorded.labels[0]?.predicted?.analysed_at).toBeNull();
      });
  });

  it('an update that predicts something keeps its arrival time with it', () => {
    given(reach('awaiting_service'))
      .when({ type: 'analysis_result', result: analysis(20) }, NOW)
      .then((d) => expect(d.workflow.analysedAt).toBe(NOW));
  });

  it('takes a service report that arrives while the booking confirmation is still missing (lost in a crash)', () => {
    given(reach('scheduling_service'))
      .when(serviced('appt-lost'), NOW)
      .then((d) => {
        expect(d.transitions.map((t) => [t.fromState, t.toState])).toEqual([['scheduling_service', 'collecting_feedback']]);
        expect(d.workflow.service?.appointment_id).toBe('appt-lost');
        // The booking it closes is recorded and counted, as its lost confirmation would have been.
        expect(d.workflow.appointment).toMatchObject({ appointment_id: 'appt-lost', components: ['cooling'] });
        expect(counts(d)).toEqual({ failures_prevented: 1, appointments_scheduled: 1 });
        expect(d.effects.some((e) => e.kind === 'publish' && e.channel === CHANNELS.feedbackRequest)).toBe(true);
      });
    const waiting = drive(reach('scheduling_service'), [{ type: 'scheduling_result', result: { vin: VIN, ok: false, error: 'no slot', retryable: true } }]);
    expect(waiting.state).toBe('error');
    given(waiting)
      .when(serviced('appt-lost'), NOW)
      .then((d) => {
        expect(d.transitions.map((t) => [t.fromState, t.toState])).toEqual([['error', 'collecting_feedback']]);
        expect(d.effects.some((e) => e.kind === 'clear_timers')).toBe(true);
      });
  });

  it('ignores a service report while a retry of something other than the booking waits', () => {
    const pollFailed = drive(reach('polling_telemetry'), [{ type: 'telemetry_failed', error: 'down' }]);
    given(pollFailed).when(serviced('appt-1'), NOW).thenIgnored(/service report in state error/);
  });

  it('refuses a service report for another appointment', () => {
    given(reach('awaiting_service'))
      .when(serviced('appt-other'), NOW)
      .thenRefused(/service report for appointment appt-other; the case is booked for appt-1/);
  });

  it('refuses a service report dated before the booking, in the future, or not a date (issue 7)', () => {
    const at = (completedAt: string): WorkflowEvent => {
      const e = serviced('appt-1');
      if (e.type !== 'service_completed') throw new Error('fixture');
      return { ...e, report: { ...e.report, completed_at: completedAt, findings: [] } };
    };
    given(reach('awaiting_service')).when(at('2020-01-01T00:00:00Z'), NOW).thenRefused(/predates the booking \(accepted/);
    given(reach('scheduling_service')).when(at('2020-01-01T00:00:00Z'), NOW).thenRefused(/predates the booking/);
    given(reach('awaiting_service')).when(at(isoTime(NOW + 2 * HOUR)), NOW).thenRefused(/in the future/);
    given(reach('awaiting_service')).when(at('yesterday'), NOW).thenRefused(/is not a date/);
    // A little ahead of our clock is another machine's clock, not a report from the future.
    given(reach('awaiting_service'))
      .when(at(isoTime(NOW + 30 * MINUTE)), NOW)
      .then((d) => expect(d.workflow.state).toBe('collecting_feedback'));
  });

  it('feedback or its deadline completes the case as serviced', () => {
    given(reach('collecting_feedback'))
      .when(
        { type: 'feedback_received', feedback: { vin: VIN, correlation_id: CID, rating: 4, received_at: 'x' } },
        NOW,
      )
      .then((d) => {
        expect(path(d)).toEqual(['collecting_feedback→completed']);
        expect(d.workflow).toMatchObject({ outcome: 'serviced', feedback: { rating: 4 } });
      });
    const collecting = reach('collecting_feedback');
    given(collecting)
      .when(timer(collecting, 'feedback_deadline'), NOW)
      .then((d) => {
        expect(path(d)).toEqual(['collecting_feedback→completed']);
        expect(d.workflow.outcome).toBe('serviced');
        expect(d.workflow.feedback).toBeNull();
      });
  });

  it('an overdue service report → error, and the retry re-books as a reschedule', () => {
    const awaiting = reach('awaiting_service');
    const failed = given(awaiting)
      .when(timer(awaiting, 'service_overdue'), NOW)
      .then((d) => {
        expect(path(d)).toEqual(['awaiting_service→error']);
        expect(d.workflow.retryState).toBe('scheduling_service');
      }).workflow;
    given(failed)
      .when(timer(failed, 'retry'), NOW + cfg.retryBaseMs)
      .then((d) => {
        expect(path(d)).toEqual(['error→scheduling_service']);
        const req = only(publishes(d)).payload as SchedulingRequest;
        expect(req.reschedule_appointment_id).toBe('appt-1');
        expect(req.idempotency_key).toBe(`${CID}:book:reschedule:${d.workflow.stateSeq}`);
      });
  });
});

describe('errors, retries and back-off', () => {
  const timeoutCases: [WorkflowState, WorkflowState][] = [
    ['polling_telemetry', 'polling_telemetry'],
    ['analyzing_data', 'polling_telemetry'],
    ['scheduling_service', 'scheduling_service'],
  ];
  for (const [state, retryState] of timeoutCases) {
    it(`a state timeout in ${state} → error, and the retry re-enters ${retryState}`, () => {
      const wf = reach(state);
      const failed = given(wf)
        .when(timer(wf, 'state_timeout'), NOW)
        .then((d) => {
          expect(path(d)).toEqual([`${state}→error`]);
          expect(d.workflow).toMatchObject({ retryState, errorCount: 1, retryCount: 0 });
          expect(d.workflow.lastError).toBe(`timeout in ${state} after 300 s`);
          expect(d.effects).toEqual([
            { kind: 'count', counter: 'errors_encountered', by: 1 },
            { kind: 'clear_timers' },
            { kind: 'set_timer', name: 'retry', dueAt: NOW + cfg.retryBaseMs, seq: d.workflow.stateSeq },
          ]);
        }).workflow;
      given(failed)
        .when(timer(failed, 'retry'), NOW + cfg.retryBaseMs)
        .then((d) => {
          expect(path(d)).toEqual([`error→${retryState}`]);
          expect(d.workflow.retryCount).toBe(1);
          expect(d.workflow.reason).toBe('retry 1/3');
          const next = d.effects.filter((e) => e.kind === 'fetch_telemetry' || e.kind === 'publish');
          if (retryState === 'polling_telemetry') {
            expect(next).toEqual([{ kind: 'fetch_telemetry', vin: VIN, key: `${CID}:poll:${d.workflow.stateSeq}`, since: null }]);
          } else {
            expect(next).toMatchObject([{ channel: CHANNELS.schedulingRequest }]);
          }
          expect(timers(d)).toMatchObject([{ name: 'state_timeout', dueAt: NOW + cfg.retryBaseMs + cfg.stateTimeoutMs }]);
        });
    });
  }

  it('an analysis agent failure → error retrying from polling; other agents are ignored', () => {
    given(reach('analyzing_data'))
      .when({ type: 'agent_failed', agent: AGENTS.dataAnalysis, error: 'model crashed' }, NOW)
      .then((d) => {
        expect(path(d)).toEqual(['analyzing_data→error']);
        expect(d.workflow.retryState).toBe('polling_telemetry');
      });
    given(reach('analyzing_data'))
      .when({ type: 'agent_failed', agent: AGENTS.scheduling, error: 'x' }, NOW)
      .thenIgnored(/does not concern/);
  });

  it('backs off at base·2^retryCount and completes after the 4th failure with `Failed after max retries`', () => {
    let wf = reach('polling_telemetry');
    let t = NOW;
    const backoffs: number[] = [];
    for (let failure = 1; failure <= 3; failure++) {
      wf = given(wf)
        .when({ type: 'telemetry_failed', error: 'HTTP 503' }, t)
        .then((d) => {
          expect(path(d)).toEqual(['polling_telemetry→error']);
          expect(d.workflow).toMatchObject({ errorCount: failure, retryCount: failure - 1 });
          backoffs.push(only(timers(d)).dueAt - t);
        }).workflow;
      t += 10 * MINUTE;
      wf = decide(wf, timer(wf, 'retry'), t).workflow;
      expect(wf).toMatchObject({ state: 'polling_telemetry', retryCount: failure });
    }
    expect(backoffs).toEqual([30 * SECOND, 60 * SECOND, 120 * SECOND]);
    given(wf)
      .when({ type: 'telemetry_failed', error: 'HTTP 503' }, t)
      .then((d) => {
        expect(path(d)).toEqual(['polling_telemetry→error', 'error→completed']);
        expect(d.transitions[1]?.reason).toBe('Failed after max retries');
        expect(d.workflow).toMatchObject({
          state: 'completed',
          outcome: 'failed',
          reason: 'Failed after max retries',
          errorCount: 4,
          retryCount: 3,
          lastError: 'telemetry poll failed: HTTP 503',
        });
        expect(timers(d)).toEqual([]);
        expect(counts(d)).toEqual({ errors_encountered: 1, failed_workflows: 1 });
      });
  });

  it('maxRetries comes from the config', () => {
    const strict = { ...cfg, maxRetries: 0 };
    given(reach('polling_telemetry'), strict)
      .when({ type: 'telemetry_failed', error: 'boom' }, NOW)
      .then((d) => expect(d.workflow.outcome).toBe('failed'));
  });

  it('ignores every stale timer (seq of an earlier state entry)', () => {
    for (const state of WORKFLOW_STATES) {
      if (state === 'completed') continue;
      const wf = reach(state);
      for (const name of TIMER_NAMES) {
        given(wf)
          .when({ type: 'timer_fired', timer: name, seq: wf.stateSeq - 1 }, NOW)
          .thenIgnored(/stale/);
      }
    }
  });

});

describe('updates on an open workflow', () => {
  it('a worse urgency while medium waits → engaging now; the batch window timer is cleared', () => {
    given(reach('assessing_urgency'))
      .when(analysisEvent(2), NOW)
      .then((d) => {
        expect(path(d)).toEqual(['assessing_urgency→engaging_customer']);
        expect(d.transitions[0]?.reason).toBe('urgency escalated medium → high');
        expect(d.effects[0]).toEqual({ kind: 'clear_timers' });
        expect(engagementOf(d)).toMatchObject({ kind: 'initial', urgency: 'high' });
      });
  });

  it('a worse urgency while engaging sends an escalation at the new priority', () => {
    const engaging = reach('engaging_customer', 3);
    given(engaging)
      .when(analysisEvent(0.5), NOW)
      .then((d) => {
        expect(path(d)).toEqual(['engaging_customer→engaging_customer']);
        expect(d.workflow.urgency).toBe('critical');
        expect(d.workflow.stateSeq).toBe(engaging.stateSeq + 1);
        expect(engagementOf(d)).toMatchObject({ kind: 'escalation', urgency: 'critical', attempt: 2 });
        expect(only(publishes(d)).priority).toBe(4);
        expect(only(timers(d))).toMatchObject({ name: 'response_deadline', dueAt: NOW + cfg.responseWindowMs.critical });
      });
  });

  it('a worse urgency while awaiting a slot after the predicted failure → re-schedule', () => {
    const late = drive(reach('scheduling_service', 3), [booked(appointment(T0 + 10 * DAY, 'appt-late'))]);
    expect(late).toMatchObject({ state: 'awaiting_service', urgency: 'high' });
    given(late)
      .when(analysisEvent(2), NOW)
      .then((d) => {
        expect(d.transitions).toEqual([]);
        expect(d.workflow.urgency).toBe('high');
      })
      .when(analysisEvent(0.9), NOW)
      .then((d) => {
        expect(path(d)).toEqual(['awaiting_service→scheduling_service']);
        expect(d.transitions[0]?.reason).toMatch(/^urgency escalated high → critical; appointment .* is after/);
        expect(d.workflow.urgency).toBe('critical');
        const p = only(publishes(d));
        expect(p).toMatchObject({ channel: CHANNELS.schedulingRequest, priority: 4 });
        expect(p.payload).toMatchObject({
          reschedule_appointment_id: 'appt-late',
          idempotency_key: `${CID}:book:reschedule:${d.workflow.stateSeq}`,
          latest: new Date(NOW + 0.8 * 0.9 * DAY).toISOString(),
        });
      });
  });

  it('a worse urgency whose failure comes after the booked slot keeps the booking', () => {
    const early = drive(reach('scheduling_service', 3), [booked(appointment(T0 + 2 * HOUR, 'appt-early'))]);
    given(early)
      .when(analysisEvent(0.5), NOW)
      .then((d) => {
        expect(d.transitions).toEqual([]);
        expect(d.effects).toEqual([]);
        expect(d.workflow.urgency).toBe('critical');
        expect(d.workflow.appointment?.appointment_id).toBe('appt-early');
      });
  });

  const sameOrBetter: [WorkflowState, number | null, number | null][] = [
    ['assessing_urgency', 10, 20],
    ['engaging_customer', 3, 5],
    ['engaging_customer', 3, 60],
    ['awaiting_service', 3, 3],
    ['scheduling_service', 3, 5],
  ];
  for (const [state, before, after] of sameOrBetter) {
    it(`in ${state} (${before} days), a new analysis of ${after} days only updates the stored analysis (and when it came)`, () => {
      const wf = reach(state, before);
      given(wf)
        .when(analysisEvent(after), NOW)
        .then((d) => {
          expect(d.transitions).toEqual([]);
          expect(d.effects).toEqual([]);
          expect(d.ignored).toBeUndefined();
          expect(d.workflow.analysis).toEqual(analysis(after));
          expect(d.workflow.analysedAt).toBe(NOW);
          const { analysis: _a, analysedAt: _t, version: _v, updatedAt: _u, ...rest } = d.workflow;
          const { analysis: _b, analysedAt: _s, version: _w, updatedAt: _x, ...restBefore } = wf;
          expect(rest).toEqual(restBefore);
        });
    });
  }

  const kept: [WorkflowState, number, number | null, string][] = [
    ['assessing_urgency', 10, null, 'update predicts nothing'],
    ['engaging_customer', 3, null, 'update predicts nothing'],
    ['collecting_feedback', 3, 12, 'analysis result in state collecting_feedback'],
  ];
  for (const [state, before, after, why] of kept) {
    it(`in ${state}, a new analysis of ${after} days leaves the case's analysis as it was`, () => {
      given(reach(state, before))
        .when(analysisEvent(after), NOW)
        .thenIgnored(new RegExp(why));
    });
  }

  it('a new case after a service analyses only telemetry from after that service', () => {
    const done = drive(reach('collecting_feedback', 3), []);
    const servicedAt = Date.parse(done.service!.completed_at);
    const next = newWorkflow(VIN, `${CID}-2`, NOW, done);
    expect(next.dataSince).toBe(servicedAt);
    given(next)
      .when({ type: 'cycle_started' }, NOW)
      .then((d) => {
        expect(d.effects.find((e) => e.kind === 'fetch_telemetry')).toMatchObject({ since: servicedAt });
      });
    expect(newWorkflow(VIN, `${CID}-3`, NOW, { ...next, service: null }).dataSince).toBe(servicedAt);
  });

  it('a cycle on an open workflow fetches telemetry without a transition', () => {
    given(reach('engaging_customer'))
      .when({ type: 'cycle_started' }, NOW)
      .then((d) => {
        expect(d.transitions).toEqual([]);
        expect(d.effects).toEqual([{ kind: 'fetch_telemetry', vin: VIN, key: `${CID}:update:${NOW}`, since: null }]);
      });
  });

  it('new samples on an open workflow are analysed without a transition; no samples are ignored', () => {
    given(reach('awaiting_service'))
      .when({ type: 'telemetry_received', samples: [sample(NOW)] }, NOW)
      .then((d) => {
        expect(d.transitions).toEqual([]);
        expect(only(publishes(d))).toMatchObject({ channel: CHANNELS.analysisRequest, priority: 3 });
      });
    given(reach('awaiting_service')).when({ type: 'telemetry_received', samples: [] }, NOW).thenIgnored(/no new samples/);
  });
});

describe('idempotency keys', () => {
  it('are the same for the same input and distinct across a whole case', () => {
    let wf = reach('idle');
    const keys: string[] = [];
    const steps: ((w: Workflow) => WorkflowEvent)[] = [
      () => ({ type: 'cycle_started' }),
      (w) => timer(w, 'state_timeout'),
      (w) => timer(w, 'retry'),
      () => ({ type: 'telemetry_received', samples: [sample()] }),
      () => analysisEvent(3),
      (w) => delivery(w.engagement.attempts, false),
      (w) => timer(w, 'retry'),
      (w) => timer(w, 'response_deadline'),
      () => response('accept'),
      (w) => timer(w, 'state_timeout'),
      (w) => timer(w, 'retry'),
      () => booked(APPT),
      () => analysisEvent(0.1),
      () => booked(appointment(T0 + 2 * HOUR, 'appt-2')),
      () => serviced('appt-2'),
    ];
    let t = T0;
    for (const step of steps) {
      t += MINUTE;
      const event = step(wf);
      const d = decide(wf, event, t);
      expect(decide(wf, event, t)).toEqual(d);
      for (const e of d.effects) {
        if (e.kind === 'publish' || e.kind === 'fetch_telemetry') keys.push(e.key);
        if (e.kind === 'publish') {
          const inner = (e.payload as { idempotency_key?: string }).idempotency_key;
          if (inner !== undefined) expect(inner.startsWith(`${CID}:`)).toBe(true);
        }
      }
      wf = d.workflow;
    }
    expect(wf.state).toBe('collecting_feedback');
    expect(keys.every((k) => k.startsWith(`${CID}:`))).toBe(true);
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('purity', () => {
  it('never mutates its input, even along a full lifecycle', () => {
    const wf = deepFreeze(reach('engaging_customer', 0.5));
    const snapshot = structuredClone(wf);
    const events: WorkflowEvent[] = [
      timer(wf, 'response_deadline'),
      response('decline'),
      delivery(1, false),
      analysisEvent(0.1),
      response('accept'),
    ];
    for (const e of events) {
      const d = decide(wf, deepFreeze(e), NOW);
      expect(d.workflow).not.toBe(wf);
      expect(d.workflow.engagement).not.toBe(wf.engagement);
    }
    expect(wf).toEqual(snapshot);
  });
});

describe('events that take no edge', () => {
  const sampleEvents = (wf: Workflow): Record<WorkflowEventType, WorkflowEvent[]> => ({
    cycle_started: [{ type: 'cycle_started' }],
    telemetry_received: [
      { type: 'telemetry_received', samples: [sample(NOW)] },
      { type: 'telemetry_received', samples: [] },
    ],
    telemetry_failed: [{ type: 'telemetry_failed', error: 'HTTP 500' }],
    analysis_result: [null, 0.2, 3, 10, 100].map(analysisEvent),
    agent_failed: Object.values(AGENTS).map((agent) => ({ type: 'agent_failed', agent, error: 'x' }) as const),
    engagement_result: [delivery(wf.engagement.attempts, true), delivery(wf.engagement.attempts, false)],
    customer_response: [response('accept'), response('decline')],
    scheduling_result: [
      booked(APPT),
      { type: 'scheduling_result', result: { vin: VIN, ok: false, error: 'x', retryable: false } },
    ],
    service_completed: [serviced()],
    feedback_received: [
      { type: 'feedback_received', feedback: { vin: VIN, correlation_id: CID, rating: 3, received_at: 'x' } },
    ],
    timer_fired: TIMER_NAMES.map((name) => timer(wf, name)),
  });
  const declared = new Set(TRANSITIONS.map((t) => `${t.from}>${t.on}`));

  it('no state × event type outside TRANSITIONS changes the state', () => {
    let checked = 0;
    for (const state of WORKFLOW_STATES) {
      const wf = reach(state);
      for (const [type, events] of Object.entries(sampleEvents(wf))) {
        if (declared.has(`${state}>${type}`)) continue;
        for (const event of events) {
          given(wf)
            .when(event, NOW)
            .then((d) => {
              expect(d.transitions, `${state} × ${type}`).toEqual([]);
              expect(d.workflow.state).toBe(state);
              expect(d.workflow.stateSeq).toBe(wf.stateSeq);
            });
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(100);
  });

  it('a completed workflow ignores every event', () => {
    for (const done of [reach('completed'), drive(reach('analyzing_data'), [analysisEvent(60)])]) {
      expect(done.state).toBe('completed');
      for (const events of Object.values(sampleEvents(done))) {
        for (const event of events) given(done).when(event, NOW).thenIgnored(/completed/);
      }
    }
  });

  it('documented no-ops are marked ignored', () => {
    given(reach('idle')).when(analysisEvent(3), NOW).thenIgnored(/analysis result in state idle/);
    given(reach('polling_telemetry')).when(analysisEvent(3), NOW).thenIgnored(/polling_telemetry/);
    given(reach('engaging_customer')).when(booked(APPT), NOW).thenIgnored(/scheduling result in state/);
    given(reach('scheduling_service')).when(response('accept'), NOW).thenIgnored(/customer response in state/);
    given(reach('engaging_customer')).when(serviced(), NOW).thenIgnored(/service report in state/);
    given(reach('awaiting_service')).when(delivery(1, true), NOW).thenIgnored(/delivery report in state/);
    given(reach('engaging_customer')).when({ type: 'telemetry_failed', error: 'x' }, NOW).thenIgnored(/update poll/);
    const feedback: WorkflowEvent = {
      type: 'feedback_received',
      feedback: { vin: VIN, correlation_id: CID, rating: 3, received_at: 'x' },
    };
    given(reach('awaiting_service')).when(feedback, NOW).thenIgnored(/feedback in state/);
    for (const state of ['idle', 'engaging_customer', 'awaiting_service', 'collecting_feedback'] as const) {
      const wf = reach(state);
      given(wf).when(timer(wf, 'state_timeout'), NOW).thenIgnored(/state_timeout in state/);
      given(wf).when(timer(wf, 'retry'), NOW).thenIgnored(/retry in state/);
    }
  });
});

// Runs last: every row of TRANSITIONS must have been taken by a `when` step above.
describe('transition table coverage', () => {
  it('every declared edge is taken by at least one test, and no undeclared one', () => {
    const table = new Set(TRANSITIONS.map((t) => edgeKey(t.from, t.to, t.on)));
    expect([...table].filter((e) => !takenEdges.has(e)).sort()).toEqual([]);
    expect([...takenEdges].filter((e) => !table.has(e)).sort()).toEqual([]);
  });
});
