/**
 * Every SQL statement of the PostgreSQL adapter (STYLE 1, after pg-boss `plans.ts`), with the names
 * and meanings of `StorePlans` (dialect.ts), returning `{ text, values }` with `$n` parameters.
 *
 * A batch's rows travel as one array per column and are unpacked with unnest(), so a write of any
 * number of rows is one statement of one fixed text: one round trip, and one server-side prepared
 * statement (the database names each text). Tables are not schema-qualified: the store's connections
 * set search_path to its schema.
 *
 * Claims lock what they take with FOR UPDATE SKIP LOCKED: two instances claiming at once each get
 * other rows instead of waiting for each other, and a row is re-checked against the claim's
 * conditions if another transaction changed it meanwhile.
 */
import type { TimerName, Workflow, WorkflowState } from '../../core/workflow.js';
import type {
  AnalysisMemoryRecord,
  InboxEntry,
  LabelListQuery,
  OutboxRecord,
  LabelRecord,
  TimerKey,
  TransitionRecord,
  WorkflowListQuery,
  WorkflowUpdate,
} from '../dialect.js';
import { CLOSED_STATE } from '../dialect.js';
import { byReturnedKey, type GuardedWrite, type Plan } from '../plan.js';
import { partitionOf } from '../partition.js';
import type { ParkedEvent, QuarantinedSample, TimerRow } from '../port.js';
import * as rows from '../rows.js';

// ---- migrations bookkeeping -----------------------------------------------------------------

export const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version integer PRIMARY KEY,
  name text NOT NULL,
  applied_at bigint NOT NULL
)`;
export const selectAppliedVersions = 'SELECT version FROM schema_migrations ORDER BY version';
/** version, name, applied_at */
export const insertMigration = 'INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)';
/**
 * A session lock per schema, held while migrating: processes starting together migrate one after
 * another, and each re-reads what the others applied once it has the lock.
 */
export const lockMigrations = "SELECT pg_advisory_lock(hashtextextended('pitwall.migrate:' || $1, 0))";
export const unlockMigrations = "SELECT pg_advisory_unlock(hashtextextended('pitwall.migrate:' || $1, 0))";

// ---- workflows ------------------------------------------------------------------------------

/** DO NOTHING without a target covers both the primary key and the one-open-workflow-per-VIN index. */
const insertWorkflowsText = `INSERT INTO workflows (correlation_id, vin, state, urgency, version, created_at, updated_at, data)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int8[], $7::int8[], $8::text[])
  ON CONFLICT DO NOTHING
  RETURNING correlation_id`;

export function insertWorkflows(workflows: readonly Workflow[]): GuardedWrite {
  const plans = unnest<Workflow, rows.CorrelationIdRow>(insertWorkflowsText, workflows, (wf) => [
    wf.correlationId,
    wf.vin,
    wf.state,
    wf.urgency,
    wf.version,
    wf.createdAt,
    wf.updatedAt,
    JSON.stringify(wf),
  ]);
  return byReturnedKey(
    plans,
    workflows,
    (wf) => wf.correlationId,
    (r) => r.correlation_id,
  );
}

/**
 * Only from the expected version: under READ COMMITTED a row another transaction changed meanwhile is
 * re-checked on its new version, and so refused. The last condition keeps the one-open-workflow-per-VIN
 * index from failing the statement (an error aborts the whole transaction in PostgreSQL): a closed
 * workflow is not reopened while its VIN has another open one.
 */
const updateWorkflowsText = `UPDATE workflows AS w
  SET state = u.state, urgency = u.urgency, version = u.version, updated_at = u.updated_at, data = u.data
  FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int8[], $6::text[], $7::int[])
    AS u(correlation_id, state, urgency, version, updated_at, data, expected)
  WHERE w.correlation_id = u.correlation_id AND w.version = u.expected
    AND (w.state <> '${CLOSED_STATE}' OR u.state = '${CLOSED_STATE}'
      OR NOT EXISTS (SELECT 1 FROM workflows AS other WHERE other.vin = w.vin AND other.state <> '${CLOSED_STATE}'))
  RETURNING w.correlation_id`;

export function updateWorkflows(updates: readonly WorkflowUpdate[]): GuardedWrite {
  const plans = unnest<WorkflowUpdate, rows.CorrelationIdRow>(
    updateWorkflowsText,
    updates,
    ({ workflow: wf, expectedVersion }) => [
      wf.correlationId,
      wf.state,
      wf.urgency,
      wf.version,
      wf.updatedAt,
      JSON.stringify(wf),
      expectedVersion,
    ],
  );
  return byReturnedKey(
    plans,
    updates,
    (u) => u.workflow.correlationId,
    (r) => r.correlation_id,
  );
}

const selectWorkflowText = 'SELECT data FROM workflows WHERE correlation_id = $1';
export function selectWorkflow(correlationId: string): Plan<rows.DataRow> {
  return { text: selectWorkflowText, values: [correlationId] };
}

const selectCurrentWorkflowText = `SELECT data FROM workflows WHERE vin = $1
  ORDER BY (state <> '${CLOSED_STATE}') DESC, created_at DESC, correlation_id DESC LIMIT 1`;
export function selectCurrentWorkflow(vin: string): Plan<rows.DataRow> {
  return { text: selectCurrentWorkflowText, values: [vin] };
}

/** Written so the partial index on open VINs serves it. */
const selectOpenWorkflowsText = `SELECT data FROM workflows WHERE state <> '${CLOSED_STATE}' AND vin = ANY($1::text[])`;
export function selectOpenWorkflows(vins: readonly string[]): Plan<rows.DataRow>[] {
  return [{ text: selectOpenWorkflowsText, values: [vins] }];
}

/**
 * Newest first by (created_at, correlation_id): both never change, so a page boundary stays put
 * while workflows keep moving between states, and paging sees each workflow exactly once.
 */
export function listWorkflows(q: WorkflowListQuery): Plan<rows.ListRow> {
  const where = new Where();
  if (q.state !== undefined) where.add('state = $', q.state);
  if (q.urgency !== undefined) where.add('urgency = $', q.urgency);
  // A row-value comparison, so the index is entered at the cursor instead of scanned up to it.
  if (q.after !== undefined)
    where.add('(created_at, correlation_id) < ($, $)', q.after.createdAt, q.after.correlationId);
  const limit = where.param(q.limit);
  return {
    text: `SELECT data, created_at, correlation_id FROM workflows ${where.clause()}
  ORDER BY created_at DESC, correlation_id DESC LIMIT ${limit}`,
    values: where.values,
  };
}

const countWorkflowsByStateText = 'SELECT state, COUNT(*) AS n FROM workflows GROUP BY state';
export function countWorkflowsByState(): Plan<rows.StateCountRow> {
  return { text: countWorkflowsByStateText, values: [] };
}

// ---- transitions ----------------------------------------------------------------------------

/** In array order: the identity column keeps it, and getTransitions orders by it. */
const insertTransitionsText = `INSERT INTO transitions (correlation_id, vin, from_state, to_state, timestamp, reason)
  SELECT correlation_id, vin, from_state, to_state, timestamp, reason
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::text[])
    WITH ORDINALITY AS t(correlation_id, vin, from_state, to_state, timestamp, reason, n)
  ORDER BY n`;

export function insertTransitions(records: readonly TransitionRecord[]): Plan[] {
  return unnest(insertTransitionsText, records, ({ correlationId, vin, transition: t }) => [
    correlationId,
    vin,
    t.fromState,
    t.toState,
    t.timestamp,
    t.reason,
  ]);
}

const selectTransitionsText = `SELECT from_state, to_state, timestamp, reason
  FROM transitions WHERE correlation_id = $1 ORDER BY id`;
/** The latest `limit`, returned oldest first; the index on (correlation_id, id) is walked backwards. */
const selectLatestTransitionsText = `SELECT from_state, to_state, timestamp, reason FROM (
    SELECT id, from_state, to_state, timestamp, reason FROM transitions
    WHERE correlation_id = $1 ORDER BY id DESC LIMIT $2) AS latest
  ORDER BY id`;

export function selectTransitions(correlationId: string, latest?: number): Plan<rows.TransitionDbRow> {
  return latest === undefined
    ? { text: selectTransitionsText, values: [correlationId] }
    : { text: selectLatestTransitionsText, values: [correlationId, latest] };
}

const countTransitionsText = 'SELECT COUNT(*) AS n FROM transitions WHERE correlation_id = $1';
export function countTransitions(correlationId: string): Plan<rows.CountRow> {
  return { text: countTransitionsText, values: [correlationId] };
}

// ---- outbox ---------------------------------------------------------------------------------

const insertOutboxText = `INSERT INTO outbox
  (message_id, correlation_id, key, channel, message_type, receiver, priority, payload, created_at, causation_id, part)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[],
    $8::text[], $9::int8[], $10::text[], $11::int[])
  ON CONFLICT (key) DO NOTHING`;

export function insertOutbox(records: readonly OutboxRecord[]): Plan[] {
  return unnest(insertOutboxText, records, ({ row: o, vin }) => [
    o.messageId,
    o.correlationId,
    o.key,
    o.channel,
    o.messageType,
    o.receiver,
    o.priority,
    JSON.stringify(o.payload) ?? 'null',
    o.createdAt,
    o.causationId ?? null,
    partitionOf(vin),
  ]);
}

/** Critical first in every queue, then oldest first; RETURNING has no order, so the store sorts again. */
const claimOutboxTexts = partitioned(
  4,
  (filter) => `WITH claimed AS (
    SELECT message_id FROM outbox
    WHERE sent_at IS NULL AND locked_until <= $2${filter}
    ORDER BY priority DESC, created_at ASC, message_id ASC
    LIMIT $3
    FOR UPDATE SKIP LOCKED)
  UPDATE outbox AS o SET locked_until = $1
  FROM claimed WHERE o.message_id = claimed.message_id
  RETURNING o.message_id, o.correlation_id, o.key, o.channel, o.message_type, o.receiver,
    o.priority, o.payload, o.created_at, o.causation_id`,
);

export function claimOutbox(
  now: number,
  lockedUntil: number,
  limit: number,
  partitions?: readonly number[],
): Plan<rows.OutboxDbRow> {
  return partitions === undefined
    ? { text: claimOutboxTexts.all, values: [lockedUntil, now, limit] }
    : { text: claimOutboxTexts.some, values: [lockedUntil, now, limit, partitions] };
}

const markSentText = 'UPDATE outbox SET sent_at = $1 WHERE message_id = ANY($2::text[]) AND sent_at IS NULL';
export function markSent(messageIds: readonly string[], now: number): Plan[] {
  return [{ text: markSentText, values: [now, messageIds] }];
}

/** One chunk of sent rows older than `before`, found on the partial index outbox_sent. */
const purgeSentOutboxText = `DELETE FROM outbox WHERE message_id IN (
  SELECT message_id FROM outbox WHERE sent_at < $1 LIMIT $2)`;
export function purgeSentOutbox(before: number, limit: number): Plan {
  return { text: purgeSentOutboxText, values: [before, limit] };
}

// ---- timers ---------------------------------------------------------------------------------

/** A new set replaces the old timer and its lease. */
const upsertTimersText = `INSERT INTO timers (correlation_id, name, vin, due_at, seq, part)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int8[], $5::int[], $6::int[])
  ON CONFLICT (correlation_id, name) DO UPDATE
  SET vin = EXCLUDED.vin, due_at = EXCLUDED.due_at, seq = EXCLUDED.seq, part = EXCLUDED.part, locked_until = 0`;
export function upsertTimers(timers: readonly TimerRow[]): Plan[] {
  return unnest(upsertTimersText, timers, (t) => [t.correlationId, t.name, t.vin, t.dueAt, t.seq, partitionOf(t.vin)]);
}

const clearTimersText = 'DELETE FROM timers WHERE correlation_id = ANY($1::text[])';
export function clearTimers(correlationIds: readonly string[]): Plan[] {
  return [{ text: clearTimersText, values: [correlationIds] }];
}

/** A timer set again since it fired has a newer seq and stays. */
const deleteTimersText = `DELETE FROM timers AS t
  USING unnest($1::text[], $2::text[], $3::int[]) AS k(correlation_id, name, seq)
  WHERE t.correlation_id = k.correlation_id AND t.name = k.name AND t.seq = k.seq`;
export function deleteTimers(keys: readonly TimerKey[]): Plan[] {
  return unnest(deleteTimersText, keys, (k) => [k.correlationId, k.name, k.seq]);
}

/** The workflow's state is read in the same statement. */
const postponeTimersText = `UPDATE timers SET due_at = $1
  WHERE name = $2 AND due_at < $1
    AND correlation_id IN (SELECT correlation_id FROM workflows WHERE state = ANY($3::text[]))`;
export function postponeTimers(name: TimerName, states: readonly WorkflowState[], until: number): Plan {
  return { text: postponeTimersText, values: [until, name, states] };
}

/** Earliest first; RETURNING has no order, so the store sorts the claimed rows again. */
const claimDueTimersTexts = partitioned(
  4,
  (filter) => `WITH claimed AS (
    SELECT correlation_id, name FROM timers
    WHERE due_at <= $2 AND locked_until <= $2${filter}
    ORDER BY due_at ASC, correlation_id ASC, name ASC
    LIMIT $3
    FOR UPDATE SKIP LOCKED)
  UPDATE timers AS t SET locked_until = $1
  FROM claimed WHERE t.correlation_id = claimed.correlation_id AND t.name = claimed.name
  RETURNING t.correlation_id, t.vin, t.name, t.due_at, t.seq`,
);
export function claimDueTimers(
  now: number,
  lockedUntil: number,
  limit: number,
  partitions?: readonly number[],
): Plan<rows.TimerDbRow> {
  return partitions === undefined
    ? { text: claimDueTimersTexts.all, values: [lockedUntil, now, limit] }
    : { text: claimDueTimersTexts.some, values: [lockedUntil, now, limit, partitions] };
}

// ---- inbox ----------------------------------------------------------------------------------

/** An id seen before inserts nothing and so returns nothing. */
const insertInboxText = `INSERT INTO inbox (message_id, processed_at)
  SELECT * FROM unnest($1::text[], $2::int8[])
  ON CONFLICT DO NOTHING
  RETURNING message_id`;
export function insertInbox(entries: readonly InboxEntry[]): GuardedWrite {
  const plans = unnest<InboxEntry, rows.MessageIdRow>(insertInboxText, entries, (e) => [e.messageId, e.processedAt]);
  return byReturnedKey(
    plans,
    entries,
    (e) => e.messageId,
    (r) => r.message_id,
  );
}

/** Undoes the inbox rows of decisions refused for a version conflict. */
const deleteInboxText = 'DELETE FROM inbox WHERE message_id = ANY($1::text[])';
export function deleteInbox(messageIds: readonly string[]): Plan[] {
  return [{ text: deleteInboxText, values: [messageIds] }];
}

const purgeInboxText = `DELETE FROM inbox WHERE message_id IN (
  SELECT message_id FROM inbox WHERE processed_at < $1 LIMIT $2)`;
export function purgeInbox(before: number, limit: number): Plan {
  return { text: purgeInboxText, values: [before, limit] };
}

// ---- counters -------------------------------------------------------------------------------

const addCountersText = `INSERT INTO counters (name, value)
  SELECT * FROM unnest($1::text[], $2::int8[])
  ON CONFLICT (name) DO UPDATE SET value = counters.value + EXCLUDED.value`;
/**
 * Sorted by name: every committing transaction bumps the same few counter rows, and two that lock
 * them in different orders would deadlock.
 */
export function addCounters(deltas: readonly (readonly [string, number])[]): Plan[] {
  const sorted = [...deltas].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return unnest(addCountersText, sorted, ([name, by]) => [name, by]);
}

const selectCountersText = 'SELECT name, value FROM counters ORDER BY name';
export function selectCounters(): Plan<rows.CounterRow> {
  return { text: selectCountersText, values: [] };
}

// ---- labels ---------------------------------------------------------------------------------

const insertLabelsText = `INSERT INTO labels
  (correlation_id, component, vin, finding, serviced_at, predicted_mode, predicted_probability,
   predicted_days_to_failure, predicted_analysed_at, notes, recorded_at)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::text[], $7::float8[],
    $8::float8[], $9::int8[], $10::text[], $11::int8[])
  ON CONFLICT (correlation_id, component) DO NOTHING`;
export function insertLabels(labels: readonly LabelRecord[]): Plan[] {
  return unnest(insertLabelsText, labels, (l) => rows.labelValues(l.label, l.recordedAt));
}

/** On the index labels_serviced, which gives the order and serves the since filter and the cursor. */
export function listLabels(q: LabelListQuery): Plan<rows.LabelDbRow> {
  const where = new Where();
  if (q.since !== undefined) where.add('serviced_at >= $', q.since);
  if (q.after !== undefined) {
    where.add(
      '(serviced_at, correlation_id, component) > ($, $, $)',
      q.after.servicedAt,
      q.after.correlationId,
      q.after.component,
    );
  }
  const limit = where.param(q.limit);
  return {
    text: `SELECT correlation_id, component, vin, finding, serviced_at, predicted_mode, predicted_probability,
    predicted_days_to_failure, predicted_analysed_at, notes
  FROM labels ${where.clause()}
  ORDER BY serviced_at ASC, correlation_id ASC, component ASC LIMIT ${limit}`,
    values: where.values,
  };
}

const countLabelsByFindingText = 'SELECT finding, COUNT(*) AS n FROM labels GROUP BY finding';
export function countLabelsByFinding(): Plan<rows.FindingCountRow> {
  return { text: countLabelsByFindingText, values: [] };
}

// ---- vehicles -------------------------------------------------------------------------------

/** GREATEST ignores NULLs: the last sample only moves forward, and a NULL never erases it. */
const upsertVehiclesText = `INSERT INTO vehicles (vin, first_seen_at, last_sample_at, next_cycle_at, part)
  SELECT v.vin, $2, v.last_sample_at, $2, v.part FROM unnest($1::text[], $3::int8[], $4::int[]) AS v(vin, last_sample_at, part)
  ON CONFLICT (vin) DO UPDATE SET last_sample_at = GREATEST(vehicles.last_sample_at, EXCLUDED.last_sample_at)`;

/**
 * One row per VIN (an upsert may not touch a row twice), its latest sample kept, and in VIN order, so
 * two polls upserting the same vehicles lock them in one order.
 */
export function upsertVehicles(vehicles: readonly { vin: string; lastSampleAt: number | null }[], now: number): Plan[] {
  const latest = new Map<string, number | null>();
  for (const v of vehicles) {
    const before = latest.get(v.vin) ?? null;
    const at = v.lastSampleAt ?? null;
    latest.set(v.vin, before === null ? at : at === null ? before : Math.max(before, at));
  }
  const vins = [...latest.keys()].sort();
  return [
    {
      text: upsertVehiclesText,
      values: [vins, now, vins.map((vin) => latest.get(vin) ?? null), vins.map(partitionOf)],
    },
  ];
}

/** Locked until the claim commits; vehicles another instance is claiming are skipped, not waited for. */
const selectDueVehiclesTexts = partitioned(
  3,
  (filter) => `SELECT vin FROM vehicles WHERE next_cycle_at <= $1${filter}
  ORDER BY next_cycle_at ASC, vin ASC LIMIT $2
  FOR UPDATE SKIP LOCKED`,
);
export function selectDueVehicles(now: number, limit: number, partitions?: readonly number[]): Plan<rows.VinRow> {
  return partitions === undefined
    ? { text: selectDueVehiclesTexts.all, values: [now, limit] }
    : { text: selectDueVehiclesTexts.some, values: [now, limit, partitions] };
}

const setNextCycleText = 'UPDATE vehicles SET next_cycle_at = $1 WHERE vin = ANY($2::text[])';
export function setNextCycle(vins: readonly string[], nextCycleAt: number): Plan[] {
  return [{ text: setNextCycleText, values: [nextCycleAt, vins] }];
}

const countVehiclesText = 'SELECT COUNT(*) AS n FROM vehicles';
export function countVehicles(): Plan<rows.CountRow> {
  return { text: countVehiclesText, values: [] };
}

// ---- analysis memory --------------------------------------------------------------------------

/** One statement for the round: memories to keep upserted, nulls deleted. */
const setAnalysisMemoryText = `WITH input AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::int8[]) AS i(vin, memory, updated_at)
  ), cleared AS (
    DELETE FROM analysis_memory AS m USING input WHERE m.vin = input.vin AND input.memory IS NULL
  )
  INSERT INTO analysis_memory (vin, memory, updated_at)
  SELECT vin, memory, updated_at FROM input WHERE memory IS NOT NULL
  ON CONFLICT (vin) DO UPDATE SET memory = EXCLUDED.memory, updated_at = EXCLUDED.updated_at`;
export function setAnalysisMemory(records: readonly AnalysisMemoryRecord[]): Plan[] {
  return [
    {
      text: setAnalysisMemoryText,
      values: [records.map((r) => r.vin), records.map((r) => r.memory), records.map((r) => r.updatedAt)],
    },
  ];
}

const selectAnalysisMemoryText = 'SELECT memory FROM analysis_memory WHERE vin = $1';
export function selectAnalysisMemory(vin: string): Plan<rows.AnalysisMemoryRow> {
  return { text: selectAnalysisMemoryText, values: [vin] };
}

// ---- quarantine -----------------------------------------------------------------------------

/** A key stored already writes nothing (changes 0); a NULL key never conflicts. */
const insertQuarantineText = `INSERT INTO quarantine (sample_key, received_at, vin, source, reason, field, message, raw)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
  ON CONFLICT (sample_key) DO NOTHING`;

/**
 * Rejected input is whatever arrived, and PostgreSQL text cannot hold a NUL character (SQLite's can):
 * each is stored as U+FFFD, as an undecodable byte would be.
 */
export function insertQuarantine(q: QuarantinedSample): Plan {
  const r = q.rejection;
  return {
    text: insertQuarantineText,
    values: [
      q.key,
      q.receivedAt,
      q.vin === null ? null : noNul(q.vin),
      noNul(q.source),
      r.reason,
      noNul(r.field),
      noNul(r.message),
      noNul(q.raw),
    ],
  };
}

const selectQuarantineText = `SELECT sample_key, received_at, vin, source, reason, field, message, raw
  FROM quarantine ORDER BY id DESC LIMIT $1`;
export function selectQuarantine(limit: number): Plan<rows.QuarantineDbRow> {
  return { text: selectQuarantineText, values: [limit] };
}

// ---- partition leases ----------------------------------------------------------------------

/**
 * FOR SHARE: commits share the rows, and a lease transaction, which locks every partition FOR UPDATE
 * in ascending order, waits for the commits under way (and they for it). Locked in ascending order
 * too, and first in a commit, so the two never wait on each other in a cycle.
 */
const lockPartitionEpochsText =
  'SELECT part, epoch FROM partition_leases WHERE part = ANY($1::int[]) ORDER BY part FOR SHARE';
export function lockPartitionEpochs(partitions: readonly number[]): Plan<rows.PartitionEpochRow>[] {
  return [{ text: lockPartitionEpochsText, values: [partitions] }];
}

/** Every lease row locked: instances renewing at the same moment take turns. */
const lockPartitionLeasesText = 'SELECT part, owner, expires_at, epoch FROM partition_leases ORDER BY part FOR UPDATE';
export function lockPartitionLeases(): Plan<rows.PartitionLeaseRow> {
  return { text: lockPartitionLeasesText, values: [] };
}

const deleteExpiredLeaseMembersText = 'DELETE FROM lease_members WHERE expires_at <= $1';
export function deleteExpiredLeaseMembers(now: number): Plan {
  return { text: deleteExpiredLeaseMembersText, values: [now] };
}

const upsertLeaseMemberText = `INSERT INTO lease_members (owner, expires_at) VALUES ($1, $2)
  ON CONFLICT (owner) DO UPDATE SET expires_at = EXCLUDED.expires_at`;
export function upsertLeaseMember(owner: string, expiresAt: number): Plan {
  return { text: upsertLeaseMemberText, values: [owner, expiresAt] };
}

const deleteLeaseMemberText = 'DELETE FROM lease_members WHERE owner = $1';
export function deleteLeaseMember(owner: string): Plan {
  return { text: deleteLeaseMemberText, values: [owner] };
}

const selectLeaseMembersText = 'SELECT owner FROM lease_members WHERE expires_at > $1 ORDER BY owner';
export function selectLeaseMembers(now: number): Plan<rows.OwnerRow> {
  return { text: selectLeaseMembersText, values: [now] };
}

const renewLeasesText = 'UPDATE partition_leases SET expires_at = $1 WHERE owner = $2 AND part = ANY($3::int[])';
export function renewLeases(owner: string, partitions: readonly number[], expiresAt: number): Plan[] {
  return [{ text: renewLeasesText, values: [expiresAt, owner, partitions] }];
}

const takeLeasesText =
  'UPDATE partition_leases SET owner = $1, expires_at = $2, epoch = epoch + 1 WHERE part = ANY($3::int[])';
export function takeLeases(owner: string, partitions: readonly number[], expiresAt: number): Plan[] {
  return [{ text: takeLeasesText, values: [owner, expiresAt, partitions] }];
}

const releaseLeasesText =
  'UPDATE partition_leases SET owner = NULL, expires_at = 0 WHERE owner = $1 AND part = ANY($2::int[])';
const releaseAllLeasesText = 'UPDATE partition_leases SET owner = NULL, expires_at = 0 WHERE owner = $1';
export function releaseLeases(owner: string, partitions: readonly number[] | 'all'): Plan[] {
  return partitions === 'all'
    ? [{ text: releaseAllLeasesText, values: [owner] }]
    : [{ text: releaseLeasesText, values: [owner, partitions] }];
}

// ---- parked events --------------------------------------------------------------------------

/** An inbound id parked already inserts nothing; the batch is one statement. */
const insertParkedText = `INSERT INTO parked_events (inbound_id, vin, part, parked_at, data)
  SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::int8[], $5::text[])
  ON CONFLICT (inbound_id) DO NOTHING`;
export function insertParked(events: readonly ParkedEvent[]): Plan[] {
  return unnest(insertParkedText, events, (e) => [
    e.inboundId,
    e.vin,
    partitionOf(e.vin),
    e.parkedAt,
    rows.parkedData(e),
  ]);
}

/** Oldest parked first; RETURNING has no order, so the store sorts the claimed rows again. */
const claimParkedText = `WITH claimed AS (
    SELECT id FROM parked_events
    WHERE part = ANY($2::int[]) AND locked_until <= $3
    ORDER BY id ASC
    LIMIT $4
    FOR UPDATE SKIP LOCKED)
  UPDATE parked_events AS p SET locked_until = $1
  FROM claimed WHERE p.id = claimed.id
  RETURNING p.id, p.inbound_id, p.vin, p.parked_at, p.data`;
export function claimParked(
  partitions: readonly number[],
  now: number,
  lockedUntil: number,
  limit: number,
): Plan<rows.ParkedDbRow> {
  return { text: claimParkedText, values: [lockedUntil, partitions, now, limit] };
}

const deleteParkedText = 'DELETE FROM parked_events WHERE inbound_id = ANY($1::text[])';
export function deleteParked(inboundIds: readonly string[]): Plan[] {
  return [{ text: deleteParkedText, values: [inboundIds] }];
}

// ---- meta -----------------------------------------------------------------------------------

const selectMetaText = 'SELECT value FROM meta WHERE key = $1';
export function selectMeta(key: string): Plan<rows.MetaRow> {
  return { text: selectMetaText, values: [key] };
}

const upsertMetaText =
  'INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value';
export function upsertMeta(key: string, value: string): Plan {
  return { text: upsertMetaText, values: [key, value] };
}

// ---- helpers --------------------------------------------------------------------------------

/**
 * A statement binding `items` as one array per column, for unnest(); `row` gives one item's values in
 * column order. No items, no statement.
 */
function unnest<T, R = never>(text: string, items: readonly T[], row: (item: T) => unknown[]): Plan<R>[] {
  if (items.length === 0) return [];
  const columns: unknown[][] = [];
  for (const item of items) {
    for (const [i, v] of row(item).entries()) (columns[i] ??= []).push(v ?? null);
  }
  return [{ text, values: columns }];
}

function noNul(text: string): string {
  return text.includes('\0') ? text.replaceAll('\0', '\uFFFD') : text;
}

/** A claim's text for all partitions and for some (bound as an int array, parameter `$n`). */
function partitioned(n: number, build: (filter: string) => string): { all: string; some: string } {
  return { all: build(''), some: build(` AND part = ANY($${n}::int[])`) };
}

/** A WHERE clause whose `$` marks are numbered as its values are added. */
class Where {
  readonly values: unknown[] = [];
  private readonly terms: string[] = [];

  add(term: string, ...values: unknown[]): void {
    let next = 0;
    this.terms.push(term.replace(/\$/g, () => this.param(values[next++])));
  }

  /** Adds one value and returns its placeholder. */
  param(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }

  clause(): string {
    return this.terms.length > 0 ? `WHERE ${this.terms.join(' AND ')}` : '';
  }
}
