/**
 * The workflow of one vehicle's maintenance case: states, events, effects and the transition table.
 * `decide` (in decider.ts) is the only code that changes a workflow.
 */
import type {
  AnalysisResult,
  Appointment,
  CustomerResponse,
  EngagementResult,
  Feedback,
  SchedulingResult,
  ServiceCompleted,
  ServiceLabel,
} from './payloads.js';
import type { AgentName, Channel, Priority } from './envelope.js';
import type { TelemetrySampleWire } from './telemetry.js';
import type { Urgency } from './urgency.js';
import { DAY, HOUR, SECOND } from './clock.js';

export const WORKFLOW_STATES = [
  'idle',
  'polling_telemetry',
  'analyzing_data',
  'assessing_urgency',
  'engaging_customer',
  'scheduling_service',
  'awaiting_service',
  'collecting_feedback',
  'completed',
  'error',
] as const;
export type WorkflowState = (typeof WORKFLOW_STATES)[number];

export const OUTCOMES = ['serviced', 'declined', 'no_response', 'monitor', 'failed'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export const TIMER_NAMES = [
  'state_timeout',
  'retry',
  'batch_window',
  'response_deadline',
  'service_overdue',
  'feedback_deadline',
] as const;
export type TimerName = (typeof TIMER_NAMES)[number];

export interface EngagementProgress {
  /** Messages sent in this case (initial, reminders, escalations). */
  attempts: number;
  reminders: number;
  escalations: number;
  /** Epoch ms by which the customer is asked to answer. */
  respondBy: number | null;
  lastDelivery: EngagementResult | null;
}

export interface Workflow {
  vin: string;
  correlationId: string;
  state: WorkflowState;
  /** Optimistic-concurrency version; bumped by every applied decision. */
  version: number;
  /** Counts state entries, re-entries by a self-transition included; a timer set in an earlier entry is stale and ignored. */
  stateSeq: number;
  urgency: Urgency | null;
  createdAt: number;
  updatedAt: number;
  stateEnteredAt: number;
  retryCount: number;
  errorCount: number;
  /** The state to re-enter when a retry timer fires. */
  retryState: WorkflowState | null;
  lastError: string | null;
  analysis: AnalysisResult | null;
  /**
   * When `analysis` arrived (epoch ms): a label pairs the prediction with the service, and a days-to-failure
   * means something only from the moment it was made. Absent in workflows stored before it existed.
   */
  analysedAt?: number | null;
  engagement: EngagementProgress;
  customerResponse: CustomerResponse | null;
  appointment: Appointment | null;
  service: ServiceCompleted | null;
  feedback: Feedback | null;
  outcome: Outcome | null;
  /** Why the case closed (or the last reason recorded). */
  reason: string | null;
  /** Telemetry older than this (epoch ms) predates the vehicle's last service and is not analysed. */
  dataSince: number | null;
}

export type WorkflowEvent =
  | { type: 'cycle_started' }
  | { type: 'telemetry_received'; samples: TelemetrySampleWire[] }
  | { type: 'telemetry_failed'; error: string }
  | { type: 'analysis_result'; result: AnalysisResult }
  | { type: 'agent_failed'; agent: AgentName; error: string }
  | { type: 'engagement_result'; result: EngagementResult }
  | { type: 'customer_response'; response: CustomerResponse }
  | { type: 'scheduling_result'; result: SchedulingResult }
  | { type: 'service_completed'; report: ServiceCompleted }
  | { type: 'feedback_received'; feedback: Feedback }
  | { type: 'timer_fired'; timer: TimerName; seq: number };
export type WorkflowEventType = WorkflowEvent['type'];

export type Effect =
  | {
      kind: 'publish';
      channel: Channel;
      messageType: string;
      receiver: AgentName;
      priority: Priority;
      payload: unknown;
      /** `{correlation_id}:{effect}`: the same key is never delivered twice. */
      key: string;
      /**
       * false for a message that is cheap to ask again and bulky to keep (an analysis request carries the
       * telemetry itself): it is published after the commit instead of through the outbox, and if it is
       * lost, the state timeout of the state waiting for its answer asks again. @default true
       */
      durable?: boolean;
    }
  | {
      kind: 'fetch_telemetry';
      vin: string;
      key: string;
      /** Samples before this (epoch ms) describe a vehicle since serviced: leave them out. */
      since: number | null;
    }
  | { kind: 'set_timer'; name: TimerName; dueAt: number; seq: number }
  | { kind: 'clear_timers' }
  | { kind: 'count'; counter: Counter; by: number }
  /** Findings of a service, stored as training labels in the decision's own transaction. */
  | { kind: 'record_labels'; labels: ServiceLabel[] };

export const COUNTERS = [
  'anomalies_detected',
  'customers_engaged',
  'appointments_scheduled',
  'failures_prevented',
  'errors_encountered',
  /** Cases closed as `Failed after max retries`; they count among `completed_workflows` as in the seed. */
  'failed_workflows',
] as const;
export type Counter = (typeof COUNTERS)[number];

export interface Transition {
  fromState: WorkflowState;
  toState: WorkflowState;
  /** epoch ms */
  timestamp: number;
  reason: string;
}

export interface Decision {
  workflow: Workflow;
  transitions: Transition[];
  effects: Effect[];
  /** Set when the event changed nothing, with why (an expected no-op, never an error). */
  ignored?: string;
  /**
   * Set when the event contradicts the case it names (another vehicle's VIN, another appointment, a
   * service dated before the booking): refused with why, and nothing changes. Unlike `ignored`, the
   * sender is wrong, and retrying the same input can never succeed.
   */
  refused?: string;
}

export interface WorkflowConfig {
  /** Time a state that waits on another system may last before it counts as an error. @default 300 s */
  stateTimeoutMs: number;
  /** @default 3 */
  maxRetries: number;
  /** Back-off before retry n is `retryBaseMs * 2^(n-1)`. @default 30 s */
  retryBaseMs: number;
  /** How long a customer is given to answer, per urgency. */
  responseWindowMs: Record<Urgency, number>;
  /** @default 7 days */
  feedbackWindowMs: number;
  /** Hour (UTC) of the daily batch window in which MEDIUM cases are engaged. @default 9 */
  batchWindowHourUtc: number;
  /** How long after an appointment's end the service report may be late before it is an error. @default 2 days */
  serviceGraceMs: number;
}

export const DEFAULT_WORKFLOW_CONFIG: Readonly<WorkflowConfig> = Object.freeze({
  stateTimeoutMs: 300 * SECOND,
  maxRetries: 3,
  retryBaseMs: 30 * SECOND,
  responseWindowMs: { critical: 4 * HOUR, high: 24 * HOUR, medium: 3 * DAY, low: 7 * DAY },
  feedbackWindowMs: 7 * DAY,
  batchWindowHourUtc: 9,
  serviceGraceMs: 2 * DAY,
});

/** States that wait on another system of ours and so carry a state timeout. */
export const TIMED_STATES: ReadonlySet<WorkflowState> = new Set([
  'polling_telemetry',
  'analyzing_data',
  'scheduling_service',
]);

export function isOpen(wf: Pick<Workflow, 'state'>): boolean {
  return wf.state !== 'completed';
}

/**
 * A new case for a VIN. `previous` is its last (completed) case: a service done there means older
 * telemetry describes parts since replaced, so the new case analyses only what came after.
 */
export function newWorkflow(vin: string, correlationId: string, now: number, previous?: Workflow | null): Workflow {
  const servicedAt = previous?.service ? Date.parse(previous.service.completed_at) : NaN;
  return {
    dataSince: Number.isFinite(servicedAt) ? servicedAt : (previous?.dataSince ?? null),
    vin,
    correlationId,
    state: 'idle',
    version: 0,
    stateSeq: 0,
    urgency: null,
    createdAt: now,
    updatedAt: now,
    stateEnteredAt: now,
    retryCount: 0,
    errorCount: 0,
    retryState: null,
    lastError: null,
    analysis: null,
    analysedAt: null,
    engagement: { attempts: 0, reminders: 0, escalations: 0, respondBy: null, lastDelivery: null },
    customerResponse: null,
    appointment: null,
    service: null,
    feedback: null,
    outcome: null,
    reason: null,
  };
}

/** One edge of the transition table: data, drawn in the README and checked by the decider. */
export interface TransitionRule {
  from: WorkflowState;
  to: WorkflowState;
  /** The event that takes the edge; `*` for an edge any failing event may chain into. */
  on: WorkflowEventType | '*';
  when: string;
}

export const TRANSITIONS: readonly TransitionRule[] = [
  { from: 'idle', to: 'polling_telemetry', on: 'cycle_started', when: 'analysis cycle due' },
  { from: 'polling_telemetry', to: 'analyzing_data', on: 'telemetry_received', when: 'samples fetched' },
  { from: 'polling_telemetry', to: 'error', on: 'telemetry_failed', when: 'telematics API failed' },
  { from: 'polling_telemetry', to: 'error', on: 'timer_fired', when: 'state timeout' },
  { from: 'analyzing_data', to: 'assessing_urgency', on: 'analysis_result', when: 'result arrived' },
  { from: 'analyzing_data', to: 'error', on: 'agent_failed', when: 'analysis agent failed' },
  { from: 'analyzing_data', to: 'error', on: 'timer_fired', when: 'state timeout' },
  { from: 'assessing_urgency', to: 'idle', on: 'analysis_result', when: 'no failure predicted' },
  { from: 'assessing_urgency', to: 'completed', on: 'analysis_result', when: 'low: outcome monitor' },
  { from: 'assessing_urgency', to: 'engaging_customer', on: 'analysis_result', when: 'critical or high' },
  { from: 'assessing_urgency', to: 'engaging_customer', on: 'timer_fired', when: 'medium: batch window' },
  { from: 'assessing_urgency', to: 'engaging_customer', on: 'analysis_result', when: 'update: worse urgency' },
  { from: 'engaging_customer', to: 'engaging_customer', on: 'timer_fired', when: 'no answer: reminder, escalation' },
  { from: 'engaging_customer', to: 'engaging_customer', on: 'customer_response', when: 'critical decline: escalate' },
  { from: 'engaging_customer', to: 'engaging_customer', on: 'analysis_result', when: 'update: worse urgency' },
  { from: 'engaging_customer', to: 'scheduling_service', on: 'customer_response', when: 'accepted' },
  { from: 'engaging_customer', to: 'completed', on: 'customer_response', when: 'declined' },
  { from: 'engaging_customer', to: 'completed', on: 'timer_fired', when: 'no answer after escalation' },
  { from: 'engaging_customer', to: 'error', on: 'engagement_result', when: 'delivery failed' },
  { from: 'scheduling_service', to: 'awaiting_service', on: 'scheduling_result', when: 'slot booked' },
  { from: 'scheduling_service', to: 'error', on: 'scheduling_result', when: 'booking failed' },
  { from: 'scheduling_service', to: 'error', on: 'timer_fired', when: 'state timeout' },
  { from: 'scheduling_service', to: 'error', on: 'agent_failed', when: 'scheduling agent failed' },
  { from: 'awaiting_service', to: 'collecting_feedback', on: 'service_completed', when: 'service done' },
  { from: 'scheduling_service', to: 'collecting_feedback', on: 'service_completed', when: 'service done before the booking was confirmed' },
  { from: 'error', to: 'collecting_feedback', on: 'service_completed', when: 'service done while a booking retry waited' },
  { from: 'awaiting_service', to: 'scheduling_service', on: 'analysis_result', when: 'update: failure before slot' },
  { from: 'awaiting_service', to: 'error', on: 'timer_fired', when: 'service report overdue' },
  { from: 'collecting_feedback', to: 'completed', on: 'feedback_received', when: 'feedback' },
  { from: 'collecting_feedback', to: 'completed', on: 'timer_fired', when: 'feedback deadline' },
  { from: 'error', to: 'polling_telemetry', on: 'timer_fired', when: 'retry' },
  { from: 'error', to: 'engaging_customer', on: 'timer_fired', when: 'retry' },
  { from: 'error', to: 'scheduling_service', on: 'timer_fired', when: 'retry' },
  { from: 'error', to: 'completed', on: '*', when: 'Failed after max retries' },
];

/** The Mermaid state diagram of TRANSITIONS, for the README. */
export function transitionDiagram(): string {
  const lines = ['stateDiagram-v2', '    [*] --> idle'];
  const seen = new Set<string>();
  for (const t of TRANSITIONS) {
    const label = `${t.on === '*' ? 'any failure' : t.on} / ${t.when.replace(/:/g, ' -')}`;
    const key = `${t.from}>${t.to}>${label}`;
    if (seen.has(key)) continue;
    seen.add(key);
    lines.push(`    ${t.from} --> ${t.to}: ${label}`);
  }
  lines.push('    completed --> [*]');
  return lines.join('\n');
}
