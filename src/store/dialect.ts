/**
 * What a SQL adapter supplies to the shared store (sql-store.ts): its plans module, with these names
 * and meanings (STYLE 1: one module for SQLite, one for PostgreSQL, the same names), and a database
 * that drives store work (plan.ts). A plan function takes the operation's arguments as the store has
 * them and returns the statement(s) in its dialect: one where the dialect can do it in one (arrays in
 * PostgreSQL), several where it cannot (SQLite splits long multi-row inserts). Rows come back in the
 * shapes of rows.ts, epoch milliseconds and counts as numbers.
 */
import type { ServiceLabel } from '../core/payloads.js';
import type { TimerName, Transition, Workflow, WorkflowState } from '../core/workflow.js';
import type { Urgency } from '../core/urgency.js';
import type { CursorPosition, LabelCursorPosition } from './cursor.js';
import type { GuardedWrite, Plan, SqlDatabase } from './plan.js';
import type { OutboxRow, ParkedEvent, QuarantinedSample, TimerRow } from './port.js';
import type {
  AnalysisMemoryRow,
  CounterRow,
  CountRow,
  DataRow,
  FindingCountRow,
  LabelDbRow,
  ListRow,
  MetaRow,
  OutboxDbRow,
  OwnerRow,
  ParkedDbRow,
  PartitionEpochRow,
  PartitionLeaseRow,
  QuarantineDbRow,
  StateCountRow,
  TimerDbRow,
  TransitionDbRow,
  VinRow,
} from './rows.js';

/** The state that closes a workflow; the partial unique index on open VINs leaves it out. */
export const CLOSED_STATE: WorkflowState = 'completed';

/** A schema change: never edited once released; a change is a new entry with the next version. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export interface InboxEntry {
  messageId: string;
  processedAt: number;
}

export interface WorkflowUpdate {
  workflow: Workflow;
  expectedVersion: number;
}

export interface TransitionRecord {
  correlationId: string;
  vin: string;
  transition: Transition;
}

/** An outbox row with the VIN of its workflow, which gives its partition. */
export interface OutboxRecord {
  row: OutboxRow;
  vin: string;
}

export interface LabelRecord {
  label: ServiceLabel;
  recordedAt: number;
}

export interface AnalysisMemoryRecord {
  vin: string;
  memory: string | null;
  updatedAt: number;
}

export interface TimerKey {
  correlationId: string;
  name: TimerName;
  seq: number;
}

/**
 * The statements of the commit algorithm (commit.ts). The arguments of a guarded write, of
 * `upsertTimers` and of `addCounters` never hold two items with the same key.
 */
export interface CommitPlans {
  /**
   * The epochs of these partitions (ascending, distinct), locked until the transaction ends against a
   * lease change where the dialect can (a lease transaction waits for the commit).
   */
  lockPartitionEpochs(partitions: readonly number[]): Plan<PartitionEpochRow>[];
  /** Records inbound message ids; written: the ids that were new (an id seen before is left as it is). */
  insertInbox(entries: readonly InboxEntry[]): GuardedWrite;
  deleteInbox(messageIds: readonly string[]): Plan[];
  /**
   * New workflows. A workflow whose id exists is not written, nor an open one whose VIN has an open
   * workflow already.
   */
  insertWorkflows(workflows: readonly Workflow[]): GuardedWrite;
  /**
   * Only workflows still at their expected version are written, and never one that would become a
   * VIN's second open workflow.
   */
  updateWorkflows(updates: readonly WorkflowUpdate[]): GuardedWrite;
  /** In the given order, which getTransitions keeps. */
  insertTransitions(records: readonly TransitionRecord[]): Plan[];
  /** A row whose key exists already is skipped, alone. */
  insertOutbox(records: readonly OutboxRecord[]): Plan[];
  /** A label of a (correlation_id, component) stored already is skipped, alone. */
  insertLabels(labels: readonly LabelRecord[]): Plan[];
  /** Deletes each timer only if it still has that seq. */
  deleteTimers(keys: readonly TimerKey[]): Plan[];
  /** Deletes every timer of these workflows. */
  clearTimers(correlationIds: readonly string[]): Plan[];
  /** Sets each timer, replacing one of the same (correlation_id, name) and its lease. */
  upsertTimers(timers: readonly TimerRow[]): Plan[];
  /** Sets (or, with null, clears) each VIN's analysis memory; no VIN twice. */
  setAnalysisMemory(records: readonly AnalysisMemoryRecord[]): Plan[];
  /** Adds to each named counter, creating it at 0 first. */
  addCounters(deltas: readonly (readonly [name: string, by: number])[]): Plan[];
}

export interface WorkflowListQuery {
  state?: WorkflowState;
  urgency?: Urgency;
  /** Only workflows after this position, newest first. */
  after?: CursorPosition;
  limit: number;
}

export interface LabelListQuery {
  since?: number;
  after?: LabelCursorPosition;
  limit: number;
}

export interface StorePlans extends CommitPlans {
  selectWorkflow(correlationId: string): Plan<DataRow>;
  /** The open workflow first, else the most recent one. */
  selectCurrentWorkflow(vin: string): Plan<DataRow>;
  /** The open workflows of these (distinct) VINs. */
  selectOpenWorkflows(vins: readonly string[]): Plan<DataRow>[];
  /** Newest first by (created_at, correlation_id): both never change, so a page boundary stays put. */
  listWorkflows(query: WorkflowListQuery): Plan<ListRow>;
  countWorkflowsByState(): Plan<StateCountRow>;

  /** Oldest first; with `latest`, only the most recent `latest` of them. */
  selectTransitions(correlationId: string, latest?: number): Plan<TransitionDbRow>;
  countTransitions(correlationId: string): Plan<CountRow>;

  /** Leases up to `limit` unsent rows not leased at `now`, most urgent then oldest first (rows in no order). */
  claimOutbox(now: number, lockedUntil: number, limit: number, partitions?: readonly number[]): Plan<OutboxDbRow>;
  markSent(messageIds: readonly string[], now: number): Plan[];
  /** Deletes up to `limit` rows sent before `before`. */
  purgeSentOutbox(before: number, limit: number): Plan;
  /** Deletes up to `limit` inbox ids processed before `before`. */
  purgeInbox(before: number, limit: number): Plan;

  /** Leases up to `limit` timers due and not leased at `now`, earliest first (rows in no order). */
  claimDueTimers(now: number, lockedUntil: number, limit: number, partitions?: readonly number[]): Plan<TimerDbRow>;
  postponeTimers(name: TimerName, states: readonly WorkflowState[], until: number): Plan;

  /** Oldest serviced_at first, then correlation_id, component. */
  listLabels(query: LabelListQuery): Plan<LabelDbRow>;
  countLabelsByFinding(): Plan<FindingCountRow>;

  /** A known vehicle keeps its schedule; its last sample only moves forward. */
  upsertVehicles(vehicles: readonly { vin: string; lastSampleAt: number | null }[], now: number): Plan[];
  /** Due vehicles, oldest due first, locked for the rest of the transaction where the dialect can. */
  selectDueVehicles(now: number, limit: number, partitions?: readonly number[]): Plan<VinRow>;
  setNextCycle(vins: readonly string[], nextCycleAt: number): Plan[];
  countVehicles(): Plan<CountRow>;
  selectAnalysisMemory(vin: string): Plan<AnalysisMemoryRow>;

  /** Changes no row when the sample's key is stored already. */
  insertQuarantine(sample: QuarantinedSample): Plan;
  /** Most recently stored first. */
  selectQuarantine(limit: number): Plan<QuarantineDbRow>;

  /** Every partition's lease, ascending, locked for the rest of the transaction where the dialect can. */
  lockPartitionLeases(): Plan<PartitionLeaseRow>;
  /** Forgets members whose membership expired before `now`. */
  deleteExpiredLeaseMembers(now: number): Plan;
  upsertLeaseMember(owner: string, expiresAt: number): Plan;
  deleteLeaseMember(owner: string): Plan;
  /** Live members, ascending by owner. */
  selectLeaseMembers(now: number): Plan<OwnerRow>;
  /** Extends the owner's leases on these partitions. */
  renewLeases(owner: string, partitions: readonly number[], expiresAt: number): Plan[];
  /** Gives these partitions to the owner, raising each one's epoch. */
  takeLeases(owner: string, partitions: readonly number[], expiresAt: number): Plan[];
  /** Frees the owner's leases on these partitions, or on all of them. */
  releaseLeases(owner: string, partitions: readonly number[] | 'all'): Plan[];

  /** Parks each event with its VIN's partition; an inbound id parked already changes no row. */
  insertParked(events: readonly ParkedEvent[]): Plan[];
  /** Leases up to `limit` parked events of these partitions not leased at `now`, oldest first (rows in no order). */
  claimParked(partitions: readonly number[], now: number, lockedUntil: number, limit: number): Plan<ParkedDbRow>;
  deleteParked(inboundIds: readonly string[]): Plan[];

  selectCounters(): Plan<CounterRow>;
  selectMeta(key: string): Plan<MetaRow>;
  upsertMeta(key: string, value: string): Plan;
}

/** An adapter as the shared store needs it. */
export interface Dialect {
  plans: StorePlans;
  db: SqlDatabase;
  migrate(): Promise<void>;
  close(): Promise<void>;
}
