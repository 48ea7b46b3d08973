/** Builders for the Store contract suite: workflows, decisions and outbox rows with readable defaults. */
import type { Priority } from '../core/envelope.js';
import { newWorkflow, type Transition, type Workflow, type WorkflowState } from '../core/workflow.js';
import type { Urgency } from '../core/urgency.js';
import type { DecisionCommit, OutboxRow, TimerChange } from './port.js';

export const T0 = Date.UTC(2025, 0, 6, 8, 0, 0);

/** A valid 17-character VIN numbered `n` (no I, O or Q). */
export function vinOf(n: number): string {
  return `1HGCM826${String(n).padStart(9, '0')}`;
}

export function cidOf(vin: string, at: number): string {
  return `workflow-${vin}-${at}`;
}

let messageSeq = 0;
/** Unique, time-ordered-enough ids for outbox rows; the store treats them as opaque. */
export function messageId(): string {
  messageSeq += 1;
  return `0190a000-0000-7000-8000-${String(messageSeq).padStart(12, '0')}`;
}

export function outboxRow(wf: Workflow, effect: string, over: Partial<OutboxRow> = {}): OutboxRow {
  return {
    messageId: messageId(),
    correlationId: wf.correlationId,
    key: `${wf.correlationId}:${effect}`,
    channel: 'channel.data_analysis.request',
    messageType: 'analysis_request',
    receiver: 'data_analysis',
    priority: 2 as Priority,
    payload: { vin: wf.vin, effect, nested: { list: [1, 2, 3], flag: true, none: null } },
    createdAt: wf.updatedAt,
    causationId: null,
    ...over,
  };
}

export interface Change {
  state?: WorkflowState;
  urgency?: Urgency | null;
  at?: number;
  reason?: string;
}

/** The workflow after one applied decision: version bumped, as the decider does. */
export function next(wf: Workflow, change: Change = {}): Workflow {
  const at = change.at ?? wf.updatedAt + 1000;
  return {
    ...wf,
    state: change.state ?? wf.state,
    urgency: change.urgency === undefined ? wf.urgency : change.urgency,
    version: wf.version + 1,
    updatedAt: at,
    stateEnteredAt: change.state !== undefined && change.state !== wf.state ? at : wf.stateEnteredAt,
    stateSeq: change.state !== undefined && change.state !== wf.state ? wf.stateSeq + 1 : wf.stateSeq,
    reason: change.reason ?? wf.reason,
  };
}

export interface DecisionParts {
  outbox?: OutboxRow[];
  timers?: TimerChange[];
  counters?: DecisionCommit['counters'];
  inboundId?: string;
  firedTimer?: DecisionCommit['firedTimer'];
  transitions?: Transition[];
  labels?: DecisionCommit['labels'];
}

/** A commit of `after`, made from `before` (null for a new workflow), with one transition row. */
export function decision(before: Workflow | null, after: Workflow, parts: DecisionParts = {}): DecisionCommit {
  const from = before?.state ?? 'idle';
  const commit: DecisionCommit = {
    workflow: after,
    expectedVersion: before?.version ?? 0,
    transitions: parts.transitions ?? [
      { fromState: from, toState: after.state, timestamp: after.updatedAt, reason: `${from} -> ${after.state}` },
    ],
    outbox: parts.outbox ?? [],
    timers: parts.timers ?? [],
    counters: parts.counters ?? [],
  };
  if (parts.inboundId !== undefined) commit.inboundId = parts.inboundId;
  if (parts.firedTimer !== undefined) commit.firedTimer = parts.firedTimer;
  if (parts.labels !== undefined) commit.labels = parts.labels;
  return commit;
}

/** A workflow as the first decision of a case leaves it: polling, version 1. */
export function opened(vin: string, at: number, change: Change = {}): Workflow {
  return next(newWorkflow(vin, cidOf(vin, at), at), { state: 'polling_telemetry', at, ...change });
}
