/**
 * The Store's ports (DESIGN §2, STYLE 2): one small, domain-shaped interface per capability, so a
 * caller names only what it uses and a new module (insights, the audit log) adds its own port instead
 * of growing one. `Store` is all of them with the lifecycle; each adapter implements it whole. The
 * writes that must agree (a workflow row, its transitions, its outbox rows, its timers and the inbound
 * message id) are one port call, `commitDecisions`, that commits together or not at all.
 */
import type { Counter, Effect, TimerName, Transition, Workflow, WorkflowEvent, WorkflowState } from '../core/workflow.js';
import type { Priority } from '../core/envelope.js';
import type { ServiceLabel } from '../core/payloads.js';
import type { Rejection, RejectionReason } from '../core/telemetry.js';
import type { Urgency } from '../core/urgency.js';

/** A decision to persist. `expectedVersion` is the version the decision was made from (0 for a new workflow). */
export interface DecisionCommit {
  workflow: Workflow;
  expectedVersion: number;
  transitions: Transition[];
  /** Effects already given message ids by the shell: outbox rows, timers and counters. */
  outbox: OutboxRow[];
  timers: TimerChange[];
  counters: { counter: Counter; by: number }[];
  /** The bus message (or timer / API call id) that caused the decision; a second commit with it is a duplicate. */
  inboundId?: string;
  /**
   * The timer whose firing caused the decision. It is deleted when the decision commits, in the same
   * transaction and before the decision's own timer changes (which may set it again), and only if it
   * still has `seq`: a timer set again since it fired has a newer seq and stays.
   */
  firedTimer?: FiredTimer;
  /**
   * Service findings kept as training labels. A label whose (correlation_id, component) is stored
   * already is not written again. Labels outlive every retention purge.
   */
  labels?: ServiceLabel[];
  /**
   * The analysis agent's memory of the workflow's vehicle after the analysis this decision takes in
   * (AnalysisResult.memory): kept per VIN, across its cases, for the next analysis request. null
   * forgets it. Written only when the decision commits.
   */
  analysisMemory?: string | null;
  /**
   * The epoch of the workflow's VIN partition (PartitionLease.epochs) the deciding instance held it
   * with. The decision commits only while the partition still has that epoch: once another instance
   * has taken the partition over (which raises it), the decision is `fenced` and writes nothing. The
   * check and the commit are atomic: a takeover waits for a commit under way, or the commit sees it.
   * Without it, no check.
   */
  partitionEpoch?: number;
}

/**
 * `conflict`: the workflow moved on since the decision was made (decide again); `fenced`: its VIN's
 * partition changed hands since (the decision is the new holder's to make).
 */
export type CommitOutcome = 'committed' | 'duplicate' | 'conflict' | 'fenced';

export interface FiredTimer {
  name: TimerName;
  seq: number;
}

export type TimerChange = { kind: 'set'; name: TimerName; dueAt: number; seq: number } | { kind: 'clear' };

export interface TimerRow {
  correlationId: string;
  vin: string;
  name: TimerName;
  dueAt: number;
  seq: number;
}

export interface OutboxRow {
  /** The envelope's message_id (UUIDv7), fixed when the row is written so a re-send keeps it. */
  messageId: string;
  correlationId: string;
  /** `{correlation_id}:{effect}`; a row whose key exists already is not written again. */
  key: string;
  /** A bus channel, or `internal.*` for work the orchestrator does itself (telemetry fetch). */
  channel: string;
  messageType: string;
  receiver: string;
  priority: Priority;
  payload: unknown;
  createdAt: number;
  /** The message that caused this one (causation_id). */
  causationId: string | null;
}

export interface WorkflowFilter {
  state?: WorkflowState;
  urgency?: Urgency;
  limit: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
}

export interface WorkflowPage {
  items: Workflow[];
  nextCursor: string | null;
}

export interface TransitionQuery {
  /** Only the most recent `limit` transitions (an integer >= 1). */
  limit?: number;
}

/** Rows deleted by `purge`. */
export interface PurgeResult {
  outbox: number;
  inbox: number;
}

export interface LabelQuery {
  /** Page size, an integer >= 1 (larger pages are cut to the adapter's maximum). */
  limit: number;
  /** Opaque cursor from a previous page. */
  cursor?: string;
  /** Only labels with serviced_at >= since (epoch ms). */
  since?: number;
}

export interface LabelPage {
  items: ServiceLabel[];
  nextCursor: string | null;
}

export interface LabelCounts {
  confirmed: number;
  not_found: number;
}

export interface VehicleRow {
  vin: string;
  firstSeenAt: number;
  lastSampleAt: number | null;
  nextCycleAt: number;
}

export interface QuarantinedSample {
  /**
   * The input's identity (a hash of its content, from the ingest module): a sample whose key is stored
   * already is neither stored nor counted again, whichever source brought it and however often. null
   * for input that is not a sample (a response body refused unread), and for rows quarantined before
   * samples had an identity (schema 4): each of those is stored and counted on its own.
   */
  key: string | null;
  receivedAt: number;
  vin: string | null;
  /** Where it came from (`telematics_api`, `telematics_history`, `mqtt`); the first source to bring it. */
  source: string;
  rejection: Rejection;
  /** The offending input, truncated to a few KB. */
  raw: string;
}

/** What one `quarantine` call stored: only the samples not stored before, by reason. */
export interface QuarantineResult {
  stored: number;
  byReason: Partial<Record<RejectionReason, number>>;
}

/** The counter of quarantined samples rejected for `reason` (`telemetry_rejected:<reason>` in statistics). */
export function rejectedCounter(reason: RejectionReason): string {
  return `telemetry_rejected:${reason}`;
}

export interface StoreLifecycle {
  /** Creates or upgrades the schema; idempotent, and safe for several processes at once. */
  migrate(): Promise<void>;
  close(): Promise<void>;
}

/** Workflows: their decisions, committed with everything they cause, and what the API and status read. */
export interface WorkflowStore {
  /**
   * Persists decisions in one transaction and returns an outcome per decision. A refused decision
   * (duplicate inbound id, version conflict) writes nothing and does not roll back the others.
   */
  commitDecisions(batch: DecisionCommit[]): Promise<CommitOutcome[]>;

  getWorkflow(correlationId: string): Promise<Workflow | null>;
  /** The open workflow of a VIN, else its most recent one. */
  getCurrentWorkflow(vin: string): Promise<Workflow | null>;
  getOpenWorkflows(vins: string[]): Promise<Map<string, Workflow>>;
  listWorkflows(filter: WorkflowFilter): Promise<WorkflowPage>;
  /**
   * A workflow's transitions, oldest first. With `limit`, only the most recent `limit` of them (still
   * oldest first): a long-lived idle workflow gains a few transitions every analysis cycle, forever.
   */
  getTransitions(correlationId: string, opts?: TransitionQuery): Promise<Transition[]>;
  countTransitions(correlationId: string): Promise<number>;
  countWorkflowsByState(): Promise<Record<WorkflowState, number>>;
}

/** The effects of committed decisions, waiting to be published. */
export interface OutboxStore {
  /**
   * Unsent outbox rows, most urgent first, leased for `leaseMs` so a second dispatcher skips them.
   * With `partitions`, only rows of workflows whose VIN is in one of them (`partitionOf`).
   */
  claimOutbox(now: number, limit: number, leaseMs: number, partitions?: readonly number[]): Promise<OutboxRow[]>;
  markSent(messageIds: string[], now: number): Promise<void>;
}

/** Durable timers, set and cleared by decisions (`DecisionCommit.timers`). */
export interface TimerStore {
  /**
   * Due timers, leased for `leaseMs`. A timer is deleted by the commit of the decision it caused.
   * With `partitions`, only timers of VINs in one of them.
   */
  claimDueTimers(now: number, limit: number, leaseMs: number, partitions?: readonly number[]): Promise<TimerRow[]>;
  /**
   * Deletes a timer that fired without effect (stale or ignored), only if it still has `seq`: between
   * the claim and this call a decision may have set the same timer name again, and that newer timer
   * must survive the old one's delete.
   */
  deleteTimer(correlationId: string, name: TimerName, seq: number): Promise<void>;
  /**
   * Moves every timer named `name`, of a workflow now in one of `states`, that is due before `until` to
   * `until` (its seq unchanged), and returns how many moved. The shell uses it when waiting was not the
   * case's fault: work taken back after a restart, or a telematics outage, gets its full time again.
   */
  postponeTimers(name: TimerName, states: readonly WorkflowState[], until: number): Promise<number>;
}

export interface RetentionStore {
  /**
   * Retention: deletes outbox rows sent before `before` and inbox ids processed before it (both clock
   * time), in short transactions of a bounded number of rows each, so a large purge never holds the
   * write lock for long and decisions keep committing in between. Unsent outbox rows are never deleted,
   * nor are labels: they are the fleet's confirmed history the learned model is retrained from.
   *
   * Forgetting an inbox id is safe once no copy of its message can still arrive: redelivery (a bus
   * redelivering an unacknowledged message, a retried API call, a timer claimed again after its lease)
   * happens within minutes or hours of the first delivery, and the retention is days (7 by default).
   * A copy arriving later still meets the workflow's version check and state, which ignore an event
   * the workflow has moved past. On a fast virtual clock, keep the retention long in real time too.
   */
  purge(before: number): Promise<PurgeResult>;
}

/** Service findings kept as training labels (written by `commitDecisions`). */
export interface LabelStore {
  /**
   * Training labels, oldest serviced_at first (then correlation_id, component), so a retrain can read
   * them in pages and resume from `since` the time of the last label it saw.
   */
  listLabels(query: LabelQuery): Promise<LabelPage>;
  countLabels(): Promise<LabelCounts>;
}

/** The fleet as the poll sees it, and when each vehicle's next analysis cycle is due. */
export interface VehicleStore {
  /** Records vehicles seen by a fleet poll; new ones are due for a cycle at `now`. */
  upsertVehicles(vehicles: { vin: string; lastSampleAt: number | null }[], now: number): Promise<void>;
  /** Vehicles whose analysis cycle is due, oldest first; with `partitions`, only VINs in one of them. */
  claimDueVehicles(now: number, limit: number, nextCycleAt: number, partitions?: readonly number[]): Promise<string[]>;
  countVehicles(): Promise<number>;
  /** What the analysis remembers of the vehicle (DecisionCommit.analysisMemory), or null. */
  getAnalysisMemory(vin: string): Promise<string | null>;
}

/** Rejected telemetry, kept for inspection and counted once. */
export interface QuarantineStore {
  /**
   * Stores rejected input for inspection, each key once, and adds each newly stored sample to its
   * `rejectedCounter(reason)` in the same transaction: a sample is stored and counted exactly once, and
   * a crash between the two cannot leave it stored but never counted (a retry would find it stored).
   */
  quarantine(samples: QuarantinedSample[]): Promise<QuarantineResult>;
  /** Quarantined input, most recently stored first. */
  listQuarantine(limit: number): Promise<QuarantinedSample[]>;
}

/** Named counters (statistics) and small named values (the fleet cursor). */
export interface CounterStore {
  /** Adds to named counters outside a decision (telemetry rejections, poll failures). */
  incrementCounters(deltas: Record<string, number>): Promise<void>;
  getCounters(): Promise<Record<string, number>>;
}

export interface MetaStore {
  getMeta(key: string): Promise<string | null>;
  setMeta(key: string, value: string): Promise<void>;
}

/** The partitions an instance holds, from one `leasePartitions` call. */
export interface PartitionLease {
  owner: string;
  /** Held until `expiresAt`, ascending. */
  partitions: number[];
  /**
   * Each held partition's epoch, in the order of `partitions`: it rises whenever the partition changes
   * owner, so it can fence work started under an earlier lease.
   */
  epochs: number[];
  expiresAt: number;
  /** Live instances sharing the partitions, this one included. */
  members: number;
}

/**
 * Leases on the VIN partitions (partition.ts), shared fairly among the live instances: what keeps two
 * orchestrators from advancing one vehicle's workflow at the same time. The workflow's optimistic
 * version check stays the safety net for the moment a lease changes hands.
 *
 * Every instance calls `leasePartitions` well within `ttlMs` of its last call (a third of it, say):
 * the call is the instance's heartbeat. Each live instance gets VIN_PARTITIONS / members partitions
 * (the remainder going to the first instances by owner id); partitions of an instance that stopped
 * calling are free once its lease expires; an instance holding more than its share gives the extra
 * back, and the next call of an instance short of its share takes them. An instance must stop working
 * on a partition it no longer gets, and on all of them once `expiresAt` has passed without a renewal.
 * Times come from the callers' clocks, which must agree (the system clock, or one virtual clock).
 */
export interface PartitionStore {
  leasePartitions(owner: string, now: number, ttlMs: number): Promise<PartitionLease>;
  /** Gives up the owner's partitions and membership at once (a clean shutdown), so others take them on their next call. */
  releasePartitions(owner: string): Promise<void>;
}

/**
 * An input taken off the bus by an instance that does not hold its VIN's partition, kept for the one
 * that does (ParkedEventStore). It is applied as it arrived: with its inbound id (so dedupe stays
 * exact), the case it names, its cause and the analysis memory it brought.
 */
export interface ParkedEvent {
  /** The bus message's id: parked once, and applied with it as the decision's inbound id. */
  inboundId: string;
  vin: string;
  /** The case the message names (its correlation_id). */
  correlationId: string;
  event: WorkflowEvent;
  causationId: string | null;
  /** The vehicle's analysis memory an analysis result brought (undefined: it brought none). */
  analysisMemory?: string | null;
  parkedAt: number;
}

/**
 * Inputs waiting for the instance that holds their VIN's partition (PartitionStore). Any instance may
 * take any bus message (queue groups); one for a VIN it does not hold is parked here, durably, and the
 * holder claims and applies it, then deletes it: a VIN's decisions stay with one instance.
 */
export interface ParkedEventStore {
  /** Parks events; one whose inbound id is parked already is not parked again. Returns how many were new. */
  park(events: readonly ParkedEvent[]): Promise<number>;
  /**
   * Parked events of VINs in these partitions, oldest parked first, leased for `leaseMs` so another
   * claim skips them until then.
   */
  claimParked(partitions: readonly number[], now: number, limit: number, leaseMs: number): Promise<ParkedEvent[]>;
  /** Forgets applied (or refused) events by inbound id. */
  deleteParked(inboundIds: readonly string[]): Promise<void>;
}

/** Every capability with the lifecycle: what an adapter implements and the composition root hands out. */
export interface Store
  extends
    StoreLifecycle,
    WorkflowStore,
    OutboxStore,
    TimerStore,
    RetentionStore,
    LabelStore,
    VehicleStore,
    QuarantineStore,
    CounterStore,
    MetaStore,
    PartitionStore,
    ParkedEventStore {}

export type { Effect };
