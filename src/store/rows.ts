/** Row shapes as the SQL adapters return them (the same in SQLite and PostgreSQL), and their mapping onto the port's types. */
import type { Priority } from '../core/envelope.js';
import type { ServiceFinding, ServiceLabel } from '../core/payloads.js';
import type { Component } from '../core/telemetry.js';
import type { RejectionReason } from '../core/telemetry.js';
import type { TimerName, Transition, Workflow, WorkflowEvent, WorkflowState } from '../core/workflow.js';
import type { OutboxRow, ParkedEvent, QuarantinedSample, TimerRow } from './port.js';

export interface CountRow {
  n: number;
}

export interface StateCountRow extends CountRow {
  state: string;
}

export interface FindingCountRow extends CountRow {
  finding: string;
}

export interface VinRow {
  vin: string;
}

export interface AnalysisMemoryRow {
  memory: string | null;
}

export interface MessageIdRow {
  message_id: string;
}

export interface CorrelationIdRow {
  correlation_id: string;
}

export interface CounterRow {
  name: string;
  value: number;
}

export interface MetaRow {
  value: string;
}

export interface OwnerRow {
  owner: string;
}

export interface PartitionEpochRow {
  part: number;
  epoch: number;
}

export interface PartitionLeaseRow {
  part: number;
  owner: string | null;
  expires_at: number;
  epoch: number;
}

export interface ParkedDbRow {
  /** Insertion order. */
  id: number;
  inbound_id: string;
  vin: string;
  parked_at: number;
  /** ParkedData as JSON. */
  data: string;
}

export interface DataRow {
  data: string;
}

export interface ListRow extends DataRow {
  created_at: number;
  correlation_id: string;
}

export interface TransitionDbRow {
  from_state: string;
  to_state: string;
  timestamp: number;
  reason: string;
}

export interface OutboxDbRow {
  message_id: string;
  correlation_id: string;
  key: string;
  channel: string;
  message_type: string;
  receiver: string;
  priority: number;
  payload: string;
  created_at: number;
  causation_id: string | null;
}

export interface TimerDbRow {
  correlation_id: string;
  vin: string;
  name: string;
  due_at: number;
  seq: number;
}

export interface QuarantineDbRow {
  sample_key: string | null;
  received_at: number;
  vin: string | null;
  source: string;
  reason: string;
  field: string;
  message: string;
  raw: string;
}

export interface LabelDbRow {
  correlation_id: string;
  component: string;
  vin: string;
  finding: string;
  serviced_at: number;
  predicted_mode: string | null;
  predicted_probability: number | null;
  predicted_days_to_failure: number | null;
  predicted_analysed_at: number | null;
  notes: string | null;
}

export function toWorkflow(row: DataRow): Workflow {
  return JSON.parse(row.data) as Workflow;
}

export function toTransition(row: TransitionDbRow): Transition {
  return {
    fromState: row.from_state as WorkflowState,
    toState: row.to_state as WorkflowState,
    timestamp: row.timestamp,
    reason: row.reason,
  };
}

/** Critical first, then oldest, then by message id (RETURNING gives no order of its own). */
export function byOutboxOrder(a: OutboxDbRow, b: OutboxDbRow): number {
  return b.priority - a.priority || a.created_at - b.created_at || compare(a.message_id, b.message_id);
}

export function toOutboxRow(row: OutboxDbRow): OutboxRow {
  return {
    messageId: row.message_id,
    correlationId: row.correlation_id,
    key: row.key,
    channel: row.channel,
    messageType: row.message_type,
    receiver: row.receiver,
    priority: row.priority as Priority,
    payload: JSON.parse(row.payload) as unknown,
    createdAt: row.created_at,
    causationId: row.causation_id,
  };
}

export function byTimerOrder(a: TimerDbRow, b: TimerDbRow): number {
  return a.due_at - b.due_at || compare(a.correlation_id, b.correlation_id) || compare(a.name, b.name);
}

/** Byte order, as SQLite's default BINARY collation sorts these ASCII ids. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function toTimerRow(row: TimerDbRow): TimerRow {
  return {
    correlationId: row.correlation_id,
    vin: row.vin,
    name: row.name as TimerName,
    dueAt: row.due_at,
    seq: row.seq,
  };
}

export function toQuarantinedSample(row: QuarantineDbRow): QuarantinedSample {
  return {
    key: row.sample_key,
    receivedAt: row.received_at,
    vin: row.vin,
    source: row.source,
    rejection: { reason: row.reason as RejectionReason, field: row.field, message: row.message },
    raw: row.raw,
  };
}

/**
 * The bind values of one label in column order: correlation_id, component, vin, finding, serviced_at,
 * predicted_mode, predicted_probability, predicted_days_to_failure, predicted_analysed_at, notes, recorded_at.
 */
export function labelValues(label: ServiceLabel, recordedAt: number): unknown[] {
  const p = label.predicted;
  return [
    label.correlation_id,
    label.component,
    label.vin,
    label.finding,
    label.serviced_at,
    p?.mode ?? null,
    p?.probability ?? null,
    p?.days_to_failure ?? null,
    p?.analysed_at ?? null,
    label.notes ?? null,
    recordedAt,
  ];
}

export function toServiceLabel(row: LabelDbRow): ServiceLabel {
  const label: ServiceLabel = {
    correlation_id: row.correlation_id,
    vin: row.vin,
    component: row.component as Component,
    finding: row.finding as ServiceFinding,
    serviced_at: row.serviced_at,
    predicted:
      row.predicted_mode === null
        ? null
        : {
            mode: row.predicted_mode,
            probability: row.predicted_probability ?? 0,
            days_to_failure: row.predicted_days_to_failure ?? 0,
            analysed_at: row.predicted_analysed_at,
          },
  };
  if (row.notes !== null) label.notes = row.notes;
  return label;
}

/** What a parked event keeps beside its keyed columns, as JSON in `data`. */
interface ParkedData {
  correlationId: string;
  event: WorkflowEvent;
  causationId: string | null;
  /** Absent when the event brought no analysis memory; null when it forgot it. */
  analysisMemory?: string | null;
}

export function parkedData(e: ParkedEvent): string {
  const data: ParkedData = {
    correlationId: e.correlationId,
    event: e.event,
    causationId: e.causationId,
    ...(e.analysisMemory !== undefined ? { analysisMemory: e.analysisMemory } : {}),
  };
  return JSON.stringify(data);
}

export function byParkedOrder(a: ParkedDbRow, b: ParkedDbRow): number {
  return a.id - b.id;
}

export function toParkedEvent(row: ParkedDbRow): ParkedEvent {
  const data = JSON.parse(row.data) as ParkedData;
  return {
    inboundId: row.inbound_id,
    vin: row.vin,
    correlationId: data.correlationId,
    event: data.event,
    causationId: data.causationId,
    ...(data.analysisMemory !== undefined ? { analysisMemory: data.analysisMemory } : {}),
    parkedAt: row.parked_at,
  };
}
