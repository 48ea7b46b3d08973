/** The seed's statistics and status shapes (snake_case, exactly these fields), built from the store. */
import { isoTime } from '../core/clock.js';
import type { AnalysisResult, Appointment, CustomerResponse, Feedback, ServiceCompleted } from '../core/payloads.js';
import { COUNTERS, type Outcome, type Workflow, type WorkflowState } from '../core/workflow.js';
import type { Urgency } from '../core/urgency.js';
import type { Store } from '../store/port.js';

export interface Statistics {
  total_vehicles_processed: number;
  active_workflows: number;
  /** Closed cases, whatever their outcome (the seed's meaning): failed ones included. */
  completed_workflows: number;
  /** Closed cases that ended `Failed after max retries`, so operators can tell them apart. */
  failed_workflows: number;
  anomalies_detected: number;
  customers_engaged: number;
  appointments_scheduled: number;
  failures_prevented: number;
  errors_encountered: number;
  workflow_states: Record<WorkflowState, number>;
  /** Samples refused at the boundary, by reason. */
  telemetry_rejected: Record<string, number>;
  telematics_poll_failures: number;
}

export interface StateHistoryEntry {
  from_state: WorkflowState;
  to_state: WorkflowState;
  timestamp: string;
  reason: string;
}

export interface WorkflowStatus {
  vin: string;
  state: WorkflowState;
  urgency_level: Urgency | null;
  correlation_id: string;
  last_update: string;
  retry_count: number;
  error_count: number;
  /** The latest transitions (200 unless asked otherwise), oldest first. */
  state_history: StateHistoryEntry[];
  /** How many transitions the workflow has in all; more than `state_history` holds when it was cut. */
  state_history_total: number;
  analysis_result: AnalysisResult | null;
  customer_response: CustomerResponse | null;
  appointment: Appointment | null;
  feedback: Feedback | null;
  outcome: Outcome | null;
  service_report: ServiceCompleted | null;
  last_error: string | null;
}

export async function buildStatistics(store: Store): Promise<Statistics> {
  const [counters, byState, vehicles] = await Promise.all([
    store.getCounters(),
    store.countWorkflowsByState(),
    store.countVehicles(),
  ]);
  const rejected: Record<string, number> = {};
  for (const [k, v] of Object.entries(counters)) {
    if (k.startsWith('telemetry_rejected:')) rejected[k.slice('telemetry_rejected:'.length)] = v;
  }
  const c = (name: string): number => counters[name] ?? 0;
  const completed = byState.completed;
  const total = Object.values(byState).reduce((a, b) => a + b, 0);
  const stats = {
    total_vehicles_processed: vehicles,
    active_workflows: total - completed,
    completed_workflows: completed,
  } as Statistics;
  for (const name of COUNTERS) stats[name] = c(name);
  stats.workflow_states = byState;
  stats.telemetry_rejected = rejected;
  stats.telematics_poll_failures = c('telematics_poll_failures');
  return stats;
}

/** `history` may be the latest part of the workflow's transitions; `total` counts them all. */
export function buildStatus(
  wf: Workflow,
  history: { fromState: WorkflowState; toState: WorkflowState; timestamp: number; reason: string }[],
  total: number = history.length,
): WorkflowStatus {
  return {
    vin: wf.vin,
    state: wf.state,
    urgency_level: wf.urgency,
    correlation_id: wf.correlationId,
    last_update: isoTime(wf.updatedAt),
    retry_count: wf.retryCount,
    error_count: wf.errorCount,
    state_history: history.map((t) => ({
      from_state: t.fromState,
      to_state: t.toState,
      timestamp: isoTime(t.timestamp),
      reason: t.reason,
    })),
    state_history_total: total,
    analysis_result: wf.analysis,
    customer_response: wf.customerResponse,
    appointment: wf.appointment,
    feedback: wf.feedback,
    outcome: wf.outcome,
    service_report: wf.service,
    last_error: wf.lastError,
  };
}
