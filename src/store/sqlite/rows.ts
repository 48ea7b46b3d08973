/** Row shapes as SQLite returns them, and their mapping onto the port's types. */
import type { Priority } from '../../core/envelope.js';
import type { RejectionReason } from '../../core/telemetry.js';
import type { TimerName, Transition, Workflow, WorkflowState } from '../../core/workflow.js';
import type { OutboxRow, QuarantinedSample, TimerRow } from '../port.js';

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
  received_at: number;
  vin: string | null;
  source: string;
  reason: string;
  field: string;
  message: string;
  raw: string;
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
    receivedAt: row.received_at,
    vin: row.vin,
    source: row.source,
    rejection: { reason: row.reason as RejectionReason, field: row.field, message: row.message },
    raw: row.raw,
  };
}
