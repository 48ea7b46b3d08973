/**
 * Wire payloads carried on the bus (snake_case, as on every wire). One interface per message type.
 */
import type { Component, TelemetrySampleWire } from './telemetry.js';
import type { Urgency } from './urgency.js';

/**
 * The largest encoded envelope (JSON of header and payload, in bytes) any producer may publish: NATS
 * refuses payloads over 1 MB by default (`max_payload`), so Pitwall stays under that on every transport.
 */
export const MAX_MESSAGE_BYTES = 1_000_000;

/**
 * Bytes of encoded samples one analysis request carries at most: the most recent ones that fit (a bounded
 * window, not the whole history). Half the message limit leaves room for the header, `since` and growth;
 * a fortnight of hourly samples of a vehicle (about 320 KB) fits whole.
 */
export const MAX_ANALYSIS_SAMPLE_BYTES = 512 * 1024;

export interface PredictedFailure {
  component: Component;
  mode: string;
  probability: number;
  days_to_failure: number;
  days_to_failure_low?: number;
  days_to_failure_high?: number;
  evidence?: string[];
}

export interface Anomaly {
  signal: string;
  /** `drift`: the vehicle has moved away from its own learned normal, before any limit or trend says so. */
  kind: 'threshold' | 'trend' | 'dtc' | 'drift';
  value: number | string;
  message: string;
}

/** How good the data behind an analysis was (wire shape). */
export interface DataQuality {
  samples_received: number;
  /** samples that contributed at least one reading or trouble code */
  samples_used: number;
  /** samples rejected (validation reason) and readings excluded (`stuck_sensor`, `spike`, …), by reason */
  excluded: Record<string, number>;
  signals_stuck: string[];
  /** dropouts: intervals without a reading of a signal much longer than its usual sampling interval */
  gaps: number;
  /** distinct UTC days with used samples */
  coverage_days: number;
}

export interface AnalysisResult {
  vin: string;
  anomalies: Anomaly[];
  predicted_failures: PredictedFailure[];
  /** Smallest days_to_failure over predicted failures; null when nothing is predicted. */
  predicted_days_to_failure: number | null;
  failure_probability: number;
  confidence: number;
  samples_analyzed: number;
  model_version: string;
  data_quality?: DataQuality;
  /**
   * The vehicle's analysis memory after this analysis (see AnalysisRequest.memory), for the orchestrator
   * to keep; present when the request carried a `memory` field.
   */
  memory?: string | null;
}

export interface AnalysisRequest {
  vin: string;
  /**
   * Validated samples (ingest converted them to canonical units and quarantined the rest), oldest first:
   * the vehicle's most recent ones, at most `MAX_ANALYSIS_SAMPLE_BYTES` of them encoded.
   */
  samples: TelemetrySampleWire[];
  /**
   * Epoch ms of the vehicle's last service, when it had one: what the analysis remembers of the vehicle
   * from before it (daily levels, its learned normal) describes parts since replaced and is forgotten.
   */
  since?: number;
  /**
   * What the analysis remembers of the vehicle (its daily levels over a month and its learned normal, an
   * opaque snapshot of about 1.5 KB), kept by the orchestrator in its store and sent with each request:
   * null for a vehicle not yet remembered. With it, any analysis agent instance gives the same
   * prediction, and the memory survives restarts; without the field, the agent remembers the vehicle itself.
   */
  memory?: string | null;
}

export const ENGAGEMENT_KINDS = ['initial', 'reminder', 'escalation'] as const;
export type EngagementKind = (typeof ENGAGEMENT_KINDS)[number];

export interface EngagementRequest {
  vin: string;
  urgency: Urgency;
  kind: EngagementKind;
  attempt: number;
  predicted_failures: PredictedFailure[];
  predicted_days_to_failure: number | null;
  /** Latest moment the customer is asked to answer by (ISO-8601). */
  respond_by: string;
  idempotency_key: string;
}

export interface EngagementResult {
  vin: string;
  kind: EngagementKind;
  attempt: number;
  delivered: boolean;
  channels: string[];
  error?: string;
}

export const CUSTOMER_DECISIONS = ['accept', 'decline'] as const;
export type CustomerDecision = (typeof CUSTOMER_DECISIONS)[number];

export interface CustomerResponse {
  vin: string;
  correlation_id: string;
  decision: CustomerDecision;
  preferred_time?: string;
  center_id?: string;
  comment?: string;
  responded_at: string;
}

export interface SchedulingRequest {
  vin: string;
  urgency: Urgency;
  components: Component[];
  /** Earliest acceptable start (ISO); customers may ask for a later one. */
  earliest: string;
  /** Latest acceptable start (ISO), from days to failure. */
  latest: string;
  preferred_time?: string;
  center_id?: string;
  idempotency_key: string;
  /** Present when an existing booking should be moved (escalation). */
  reschedule_appointment_id?: string;
}

export interface Appointment {
  appointment_id: string;
  center_id: string;
  start: string;
  end: string;
  bay: number;
  components: Component[];
}

export type SchedulingResult =
  | { vin: string; ok: true; appointment: Appointment }
  | { vin: string; ok: false; error: string; retryable: boolean };

export const SERVICE_FINDINGS = ['confirmed', 'not_found'] as const;
export type ServiceFinding = (typeof SERVICE_FINDINGS)[number];

export interface ServiceCompleted {
  vin: string;
  appointment_id: string;
  completed_at: string;
  findings: { component: Component; finding: ServiceFinding; notes?: string }[];
  /**
   * The appointment as the scheduler knows it. Optional; when the booking's own confirmation was lost,
   * the case records its appointment from here.
   */
  appointment?: Appointment;
}

/**
 * A technician's finding for one component of one case, kept as a training label for the learned
 * model: `confirmed` (the predicted fault was really there) or `not_found` (a false alarm).
 */
export interface ServiceLabel {
  correlation_id: string;
  vin: string;
  component: Component;
  finding: ServiceFinding;
  /** epoch ms of the service (the report's completed_at) */
  serviced_at: number;
  /** what the analysis predicted for this component when the case was opened, or null when it predicted nothing for it */
  predicted: { mode: string; probability: number; days_to_failure: number; analysed_at: number | null } | null;
  notes?: string;
}

export interface FeedbackRequest {
  vin: string;
  appointment_id: string;
  respond_by: string;
  idempotency_key: string;
}

export interface Feedback {
  vin: string;
  correlation_id: string;
  rating: number;
  comment?: string;
  received_at: string;
}

/** Published to the quality module (manufacturing insights) for predicted and confirmed failures. */
export interface ManufacturingFailure {
  vin: string;
  source: 'predicted' | 'service';
  urgency: Urgency | null;
  failures: { component: Component; mode: string; finding?: ServiceFinding; days_to_failure?: number }[];
}
