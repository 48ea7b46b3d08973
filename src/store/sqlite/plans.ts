/**
 * Every SQL statement of the SQLite adapter (STYLE 1, after pg-boss `plans.ts`), as functions with the
 * names and meanings of `StorePlans` (dialect.ts) returning `{ text, values }`. The database prepares
 * each distinct text once and keeps it (sqlite-store.ts), so every text here comes from a small,
 * fixed set: constants, or one text per row count or shape, built once. Parameters are positional `?`.
 *
 * Per-statement overhead, not SQLite's own work, dominates small writes, so rows of a batch go in
 * few multi-row statements; a statement for a single row is still cheap (prepared, in-process).
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
import { perItem, type GuardedWrite, type Plan } from '../plan.js';
import { partitionOf } from '../partition.js';
import type { ParkedEvent, QuarantinedSample, TimerRow } from '../port.js';
import * as rows from '../rows.js';

// ---- pragmas -------------------------------------------------------------------------------

/**
 * SQLite's page cache per connection, KiB. It is a bound, not a reservation: pages fill it as they
 * are read or written, and every cached page counts against the process's resident memory. 4 MiB
 * keeps the hot index pages; a miss is a read from the OS page cache, not from disk. 64 MiB
 * persisted no faster on `npm run bench` (within noise) and added up to 60 MB of RSS on a grown
 * database.
 */
export const SQLITE_CACHE_KIB = 4096;

/**
 * WAL pages between automatic checkpoints (SQLite's default is 1000). A checkpoint costs two fsyncs
 * and copies pages back into the database; at 4000 (a WAL of about 16 MB) a page rewritten by many
 * decisions is copied once, and persisted transitions/s rose by about a third on `npm run bench`.
 */
export const WAL_AUTOCHECKPOINT_PAGES = 4000;

export function pragmas(busyTimeoutMs: number): string[] {
  return [
    'journal_mode = WAL',
    // NORMAL in WAL mode can lose the last commits on power loss but never corrupts; the outbox
    // and inbox make a lost tail re-runnable, and FULL would cost an fsync per batch.
    'synchronous = NORMAL',
    `busy_timeout = ${Math.max(0, Math.floor(busyTimeoutMs))}`,
    'temp_store = MEMORY',
    `cache_size = -${SQLITE_CACHE_KIB}`,
    `wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`,
    'foreign_keys = OFF',
  ];
}

// ---- migrations bookkeeping -----------------------------------------------------------------

export const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at INTEGER NOT NULL
)`;
export const selectAppliedVersions = 'SELECT version FROM schema_migrations ORDER BY version';
/** version, name, applied_at */
export const insertMigration = 'INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)';

// ---- workflows ------------------------------------------------------------------------------

/** DO NOTHING covers both the primary key and the one-open-workflow-per-VIN index. */
const insertWorkflowText = `INSERT INTO workflows (correlation_id, vin, state, urgency, version, created_at, updated_at, data)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT DO NOTHING`;

export function insertWorkflows(workflows: readonly Workflow[]): GuardedWrite {
  return perItem(
    workflows.map((wf) => ({
      text: insertWorkflowText,
      values: [
        wf.correlationId,
        wf.vin,
        wf.state,
        wf.urgency,
        wf.version,
        wf.createdAt,
        wf.updatedAt,
        JSON.stringify(wf),
      ],
    })),
  );
}

/**
 * Only from the expected version. The last condition keeps the one-open-workflow-per-VIN index from
 * failing the statement (and with it the batch): a closed workflow is not reopened while its VIN has
 * another open one. It is read only for a closed row, so an ordinary update pays nothing for it.
 */
const updateWorkflowText = `UPDATE workflows
  SET state = ?, urgency = ?, version = ?, updated_at = ?, data = ?
  WHERE correlation_id = ? AND version = ?
    AND (state <> '${CLOSED_STATE}' OR ? = '${CLOSED_STATE}'
      OR NOT EXISTS (SELECT 1 FROM workflows AS other WHERE other.vin = workflows.vin AND other.state <> '${CLOSED_STATE}'))`;

export function updateWorkflows(updates: readonly WorkflowUpdate[]): GuardedWrite {
  return perItem(
    updates.map(({ workflow: wf, expectedVersion }) => ({
      text: updateWorkflowText,
      values: [
        wf.state,
        wf.urgency,
        wf.version,
        wf.updatedAt,
        JSON.stringify(wf),
        wf.correlationId,
        expectedVersion,
        wf.state,
      ],
    })),
  );
}

const selectWorkflowText = 'SELECT data FROM workflows WHERE correlation_id = ?';
export function selectWorkflow(correlationId: string): Plan<rows.DataRow> {
  return { text: selectWorkflowText, values: [correlationId] };
}

const selectCurrentWorkflowText = `SELECT data FROM workflows WHERE vin = ?
  ORDER BY (state <> '${CLOSED_STATE}') DESC, created_at DESC, correlation_id DESC LIMIT 1`;
export function selectCurrentWorkflow(vin: string): Plan<rows.DataRow> {
  return { text: selectCurrentWorkflowText, values: [vin] };
}

/** IN lists are padded up to one of these sizes, so a handful of prepared statements serves any count. */
const IN_LIST_SIZES = [1, 8, 64, 500] as const;
const MAX_IN_LIST = IN_LIST_SIZES[IN_LIST_SIZES.length - 1] ?? 500;
/** Written so the partial index on open VINs serves it. */
const selectOpenWorkflowsText = byCount(
  (count) => `SELECT data FROM workflows WHERE state <> '${CLOSED_STATE}' AND vin IN (${placeholders(count)})`,
);

export function selectOpenWorkflows(vins: readonly string[]): Plan<rows.DataRow>[] {
  return inLists(vins, selectOpenWorkflowsText);
}

const listWorkflowsTexts = new Map<string, string>();

/**
 * Newest first by (created_at, correlation_id): both never change, so a page boundary stays put
 * while workflows keep moving between states, and paging sees each workflow exactly once.
 */
export function listWorkflows(q: WorkflowListQuery): Plan<rows.ListRow> {
  const values: unknown[] = [];
  const where: string[] = [];
  if (q.state !== undefined) {
    where.push('state = ?');
    values.push(q.state);
  }
  if (q.urgency !== undefined) {
    where.push('urgency = ?');
    values.push(q.urgency);
  }
  if (q.after !== undefined) {
    // A row-value comparison, so the index is entered at the cursor instead of scanned up to it.
    where.push('(created_at, correlation_id) < (?, ?)');
    values.push(q.after.createdAt, q.after.correlationId);
  }
  values.push(q.limit);
  const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
  const text = memo(
    listWorkflowsTexts,
    clause,
    () => `SELECT data, created_at, correlation_id FROM workflows ${clause}
  ORDER BY created_at DESC, correlation_id DESC LIMIT ?`,
  );
  return { text, values };
}

const countWorkflowsByStateText = 'SELECT state, COUNT(*) AS n FROM workflows GROUP BY state';
export function countWorkflowsByState(): Plan<rows.StateCountRow> {
  return { text: countWorkflowsByStateText, values: [] };
}

// ---- transitions ----------------------------------------------------------------------------

const TRANSITION_COLUMNS = 6;
/** Beyond a few dozen rows the statement's own cost stops shrinking (measured). */
const TRANSITIONS_PER_INSERT = 32;
const insertTransitionsText = byCount(
  (count) => `INSERT INTO transitions (correlation_id, vin, from_state, to_state, timestamp, reason)
  VALUES ${rowsOf(TRANSITION_COLUMNS, count)}`,
);

export function insertTransitions(records: readonly TransitionRecord[]): Plan[] {
  return multiRow(records, TRANSITIONS_PER_INSERT, insertTransitionsText, (r, v) => {
    const t = r.transition;
    v.push(r.correlationId, r.vin, t.fromState, t.toState, t.timestamp, t.reason);
  });
}

/** Insertion order (the rowid id). */
const selectTransitionsText = `SELECT from_state, to_state, timestamp, reason
  FROM transitions WHERE correlation_id = ? ORDER BY id`;

/**
 * The latest `limit`, returned oldest first. The index on correlation_id holds the rowid too, so the
 * inner query walks it backwards and stops after `limit` entries.
 */
const selectLatestTransitionsText = `SELECT from_state, to_state, timestamp, reason FROM (
    SELECT id, from_state, to_state, timestamp, reason FROM transitions
    WHERE correlation_id = ? ORDER BY id DESC LIMIT ?)
  ORDER BY id`;

export function selectTransitions(correlationId: string, latest?: number): Plan<rows.TransitionDbRow> {
  return latest === undefined
    ? { text: selectTransitionsText, values: [correlationId] }
    : { text: selectLatestTransitionsText, values: [correlationId, latest] };
}

/** Counted on the index alone. */
const countTransitionsText = 'SELECT COUNT(*) AS n FROM transitions WHERE correlation_id = ?';
export function countTransitions(correlationId: string): Plan<rows.CountRow> {
  return { text: countTransitionsText, values: [correlationId] };
}

// ---- outbox ---------------------------------------------------------------------------------

const OUTBOX_COLUMNS = 11;
const OUTBOX_PER_INSERT = 16;
const insertOutboxText = byCount(
  (count) => `INSERT INTO outbox
  (message_id, correlation_id, key, channel, message_type, receiver, priority, payload, created_at, causation_id, part)
  VALUES ${rowsOf(OUTBOX_COLUMNS, count)}
  ON CONFLICT(key) DO NOTHING`,
);

export function insertOutbox(records: readonly OutboxRecord[]): Plan[] {
  return multiRow(records, OUTBOX_PER_INSERT, insertOutboxText, ({ row: o, vin }, v) =>
    v.push(
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
    ),
  );
}

/**
 * Critical first in every queue, then oldest first; the message id (UUIDv7, time-ordered) breaks
 * ties. RETURNING has no order, so the store sorts the claimed rows again.
 */
const claimOutboxTexts = partitioned(
  (filter) => `UPDATE outbox SET locked_until = ?
  WHERE message_id IN (
    SELECT message_id FROM outbox
    WHERE sent_at IS NULL AND locked_until <= ?${filter}
    ORDER BY priority DESC, created_at ASC, message_id ASC
    LIMIT ?)
  RETURNING message_id, correlation_id, key, channel, message_type, receiver,
    priority, payload, created_at, causation_id`,
);

export function claimOutbox(
  now: number,
  lockedUntil: number,
  limit: number,
  partitions?: readonly number[],
): Plan<rows.OutboxDbRow> {
  return partitions === undefined
    ? { text: claimOutboxTexts.all, values: [lockedUntil, now, limit] }
    : { text: claimOutboxTexts.some, values: [lockedUntil, now, JSON.stringify(partitions), limit] };
}

const markSentText = 'UPDATE outbox SET sent_at = ? WHERE message_id = ? AND sent_at IS NULL';
export function markSent(messageIds: readonly string[], now: number): Plan[] {
  return messageIds.map((id) => ({ text: markSentText, values: [now, id] }));
}

/** One chunk of sent rows older than `before`, found on the partial index outbox_sent. */
const purgeSentOutboxText = `DELETE FROM outbox WHERE rowid IN (
  SELECT rowid FROM outbox WHERE sent_at < ? LIMIT ?)`;
export function purgeSentOutbox(before: number, limit: number): Plan {
  return { text: purgeSentOutboxText, values: [before, limit] };
}

// ---- timers ---------------------------------------------------------------------------------

const TIMER_COLUMNS = 6;
const TIMERS_PER_INSERT = 32;
/** A new set replaces the old timer and its lease. */
const upsertTimersText = byCount(
  (count) => `INSERT INTO timers (correlation_id, name, vin, due_at, seq, part)
  VALUES ${rowsOf(TIMER_COLUMNS, count)}
  ON CONFLICT(correlation_id, name) DO UPDATE
  SET vin = excluded.vin, due_at = excluded.due_at, seq = excluded.seq, part = excluded.part, locked_until = 0`,
);
export function upsertTimers(timers: readonly TimerRow[]): Plan[] {
  return multiRow(timers, TIMERS_PER_INSERT, upsertTimersText, (t, v) =>
    v.push(t.correlationId, t.name, t.vin, t.dueAt, t.seq, partitionOf(t.vin)),
  );
}

const clearTimersText = byCount((count) => `DELETE FROM timers WHERE correlation_id IN (${placeholders(count)})`);
export function clearTimers(correlationIds: readonly string[]): Plan[] {
  return inLists(correlationIds, clearTimersText);
}

/** A timer set again since it fired has a newer seq and stays. */
const deleteTimerText = 'DELETE FROM timers WHERE correlation_id = ? AND name = ? AND seq = ?';
export function deleteTimers(keys: readonly TimerKey[]): Plan[] {
  return keys.map((k) => ({ text: deleteTimerText, values: [k.correlationId, k.name, k.seq] }));
}

/** The workflow's state is read in the same statement; the states are bound as one JSON array. */
const postponeTimersText = `UPDATE timers SET due_at = ?
  WHERE name = ? AND due_at < ?
    AND correlation_id IN (SELECT correlation_id FROM workflows WHERE state IN (SELECT value FROM json_each(?)))`;
export function postponeTimers(name: TimerName, states: readonly WorkflowState[], until: number): Plan {
  return { text: postponeTimersText, values: [until, name, until, JSON.stringify(states)] };
}

/** Earliest first; RETURNING has no order, so the store sorts the claimed rows again. */
const claimDueTimersTexts = partitioned(
  (filter) => `UPDATE timers SET locked_until = ?
  WHERE (correlation_id, name) IN (
    SELECT correlation_id, name FROM timers
    WHERE due_at <= ? AND locked_until <= ?${filter}
    ORDER BY due_at ASC, correlation_id ASC, name ASC
    LIMIT ?)
  RETURNING correlation_id, vin, name, due_at, seq`,
);
export function claimDueTimers(
  now: number,
  lockedUntil: number,
  limit: number,
  partitions?: readonly number[],
): Plan<rows.TimerDbRow> {
  return partitions === undefined
    ? { text: claimDueTimersTexts.all, values: [lockedUntil, now, now, limit] }
    : { text: claimDueTimersTexts.some, values: [lockedUntil, now, now, JSON.stringify(partitions), limit] };
}

// ---- inbox ----------------------------------------------------------------------------------

/** An id seen before changes nothing. */
const insertInboxText = 'INSERT INTO inbox (message_id, processed_at) VALUES (?, ?) ON CONFLICT DO NOTHING';
export function insertInbox(entries: readonly InboxEntry[]): GuardedWrite {
  return perItem(entries.map((e) => ({ text: insertInboxText, values: [e.messageId, e.processedAt] })));
}

/** Undoes the inbox row of a decision refused for a version conflict. */
const deleteInboxText = 'DELETE FROM inbox WHERE message_id = ?';
export function deleteInbox(messageIds: readonly string[]): Plan[] {
  return messageIds.map((id) => ({ text: deleteInboxText, values: [id] }));
}

/** One chunk of ids processed before `before`, found on the index inbox_processed. */
const purgeInboxText = `DELETE FROM inbox WHERE message_id IN (
  SELECT message_id FROM inbox WHERE processed_at < ? LIMIT ?)`;
export function purgeInbox(before: number, limit: number): Plan {
  return { text: purgeInboxText, values: [before, limit] };
}

// ---- counters -------------------------------------------------------------------------------

const addCounterText = `INSERT INTO counters (name, value) VALUES (?, ?)
  ON CONFLICT(name) DO UPDATE SET value = value + excluded.value`;
export function addCounters(deltas: readonly (readonly [string, number])[]): Plan[] {
  return deltas.map(([name, by]) => ({ text: addCounterText, values: [name, by] }));
}

const selectCountersText = 'SELECT name, value FROM counters ORDER BY name';
export function selectCounters(): Plan<rows.CounterRow> {
  return { text: selectCountersText, values: [] };
}

// ---- labels ---------------------------------------------------------------------------------

const LABEL_COLUMNS = 11;
const LABELS_PER_INSERT = 16;
const insertLabelsText = byCount(
  (count) => `INSERT INTO labels
  (correlation_id, component, vin, finding, serviced_at, predicted_mode, predicted_probability,
   predicted_days_to_failure, predicted_analysed_at, notes, recorded_at)
  VALUES ${rowsOf(LABEL_COLUMNS, count)}
  ON CONFLICT(correlation_id, component) DO NOTHING`,
);
export function insertLabels(labels: readonly LabelRecord[]): Plan[] {
  return multiRow(labels, LABELS_PER_INSERT, insertLabelsText, (l, v) =>
    v.push(...rows.labelValues(l.label, l.recordedAt)),
  );
}

const listLabelsTexts = new Map<string, string>();

/** On the index labels_serviced, which gives the order and serves the since filter and the cursor. */
export function listLabels(q: LabelListQuery): Plan<rows.LabelDbRow> {
  const values: unknown[] = [];
  const where: string[] = [];
  if (q.since !== undefined) {
    where.push('serviced_at >= ?');
    values.push(q.since);
  }
  if (q.after !== undefined) {
    where.push('(serviced_at, correlation_id, component) > (?, ?, ?)');
    values.push(q.after.servicedAt, q.after.correlationId, q.after.component);
  }
  values.push(q.limit);
  const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
  const text = memo(
    listLabelsTexts,
    clause,
    () => `SELECT correlation_id, component, vin, finding, serviced_at, predicted_mode, predicted_probability,
    predicted_days_to_failure, predicted_analysed_at, notes
  FROM labels ${clause}
  ORDER BY serviced_at ASC, correlation_id ASC, component ASC LIMIT ?`,
  );
  return { text, values };
}

const countLabelsByFindingText = 'SELECT finding, COUNT(*) AS n FROM labels GROUP BY finding';
export function countLabelsByFinding(): Plan<rows.FindingCountRow> {
  return { text: countLabelsByFindingText, values: [] };
}

// ---- vehicles -------------------------------------------------------------------------------

/** Scalar max() is NULL if either side is, hence the COALESCE. */
const upsertVehicleText = `INSERT INTO vehicles (vin, first_seen_at, last_sample_at, next_cycle_at, part)
  VALUES (?, ?, ?, ?, ?)
  ON CONFLICT(vin) DO UPDATE SET last_sample_at = COALESCE(
    max(excluded.last_sample_at, vehicles.last_sample_at), excluded.last_sample_at, vehicles.last_sample_at)`;
export function upsertVehicles(vehicles: readonly { vin: string; lastSampleAt: number | null }[], now: number): Plan[] {
  return vehicles.map((v) => ({
    text: upsertVehicleText,
    values: [v.vin, now, v.lastSampleAt ?? null, now, partitionOf(v.vin)],
  }));
}

/** SQLite has one writer at a time: the transaction alone keeps two claims apart. */
const selectDueVehiclesTexts = partitioned(
  (filter) => `SELECT vin FROM vehicles WHERE next_cycle_at <= ?${filter}
  ORDER BY next_cycle_at ASC, vin ASC LIMIT ?`,
);
export function selectDueVehicles(now: number, limit: number, partitions?: readonly number[]): Plan<rows.VinRow> {
  return partitions === undefined
    ? { text: selectDueVehiclesTexts.all, values: [now, limit] }
    : { text: selectDueVehiclesTexts.some, values: [now, JSON.stringify(partitions), limit] };
}

const setNextCycleText = 'UPDATE vehicles SET next_cycle_at = ? WHERE vin = ?';
export function setNextCycle(vins: readonly string[], nextCycleAt: number): Plan[] {
  return vins.map((vin) => ({ text: setNextCycleText, values: [nextCycleAt, vin] }));
}

const countVehiclesText = 'SELECT COUNT(*) AS n FROM vehicles';
export function countVehicles(): Plan<rows.CountRow> {
  return { text: countVehiclesText, values: [] };
}

// ---- analysis memory --------------------------------------------------------------------------

const setAnalysisMemoryText = `INSERT INTO analysis_memory (vin, memory, updated_at) VALUES (?, ?, ?)
  ON CONFLICT(vin) DO UPDATE SET memory = excluded.memory, updated_at = excluded.updated_at`;
const clearAnalysisMemoryText = 'DELETE FROM analysis_memory WHERE vin = ?';
export function setAnalysisMemory(records: readonly AnalysisMemoryRecord[]): Plan[] {
  return records.map((r) =>
    r.memory === null
      ? { text: clearAnalysisMemoryText, values: [r.vin] }
      : { text: setAnalysisMemoryText, values: [r.vin, r.memory, r.updatedAt] },
  );
}

const selectAnalysisMemoryText = 'SELECT memory FROM analysis_memory WHERE vin = ?';
export function selectAnalysisMemory(vin: string): Plan<rows.AnalysisMemoryRow> {
  return { text: selectAnalysisMemoryText, values: [vin] };
}

// ---- quarantine -----------------------------------------------------------------------------

/**
 * A key stored already writes nothing (changes 0); a NULL key never conflicts. Only the key's
 * conflict is ignored, unlike INSERT OR IGNORE, which would also swallow a NOT NULL violation.
 */
const insertQuarantineText = `INSERT INTO quarantine (sample_key, received_at, vin, source, reason, field, message, raw)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (sample_key) DO NOTHING`;
export function insertQuarantine(q: QuarantinedSample): Plan {
  const r = q.rejection;
  return {
    text: insertQuarantineText,
    values: [q.key, q.receivedAt, q.vin ?? null, q.source, r.reason, r.field, r.message, q.raw],
  };
}

const selectQuarantineText = `SELECT sample_key, received_at, vin, source, reason, field, message, raw
  FROM quarantine ORDER BY id DESC LIMIT ?`;
export function selectQuarantine(limit: number): Plan<rows.QuarantineDbRow> {
  return { text: selectQuarantineText, values: [limit] };
}

// ---- partition leases ----------------------------------------------------------------------

/** SQLite has one writer at a time: the commit's transaction alone keeps a lease change out. */
const lockPartitionEpochsText =
  'SELECT part, epoch FROM partition_leases WHERE part IN (SELECT value FROM json_each(?))';
export function lockPartitionEpochs(partitions: readonly number[]): Plan<rows.PartitionEpochRow>[] {
  return [{ text: lockPartitionEpochsText, values: [JSON.stringify(partitions)] }];
}

const lockPartitionLeasesText = 'SELECT part, owner, expires_at, epoch FROM partition_leases ORDER BY part';
export function lockPartitionLeases(): Plan<rows.PartitionLeaseRow> {
  return { text: lockPartitionLeasesText, values: [] };
}

const deleteExpiredLeaseMembersText = 'DELETE FROM lease_members WHERE expires_at <= ?';
export function deleteExpiredLeaseMembers(now: number): Plan {
  return { text: deleteExpiredLeaseMembersText, values: [now] };
}

const upsertLeaseMemberText = `INSERT INTO lease_members (owner, expires_at) VALUES (?, ?)
  ON CONFLICT(owner) DO UPDATE SET expires_at = excluded.expires_at`;
export function upsertLeaseMember(owner: string, expiresAt: number): Plan {
  return { text: upsertLeaseMemberText, values: [owner, expiresAt] };
}

const deleteLeaseMemberText = 'DELETE FROM lease_members WHERE owner = ?';
export function deleteLeaseMember(owner: string): Plan {
  return { text: deleteLeaseMemberText, values: [owner] };
}

const selectLeaseMembersText = 'SELECT owner FROM lease_members WHERE expires_at > ? ORDER BY owner';
export function selectLeaseMembers(now: number): Plan<rows.OwnerRow> {
  return { text: selectLeaseMembersText, values: [now] };
}

const renewLeasesText =
  'UPDATE partition_leases SET expires_at = ? WHERE owner = ? AND part IN (SELECT value FROM json_each(?))';
export function renewLeases(owner: string, partitions: readonly number[], expiresAt: number): Plan[] {
  return [{ text: renewLeasesText, values: [expiresAt, owner, JSON.stringify(partitions)] }];
}

const takeLeasesText = `UPDATE partition_leases SET owner = ?, expires_at = ?, epoch = epoch + 1
  WHERE part IN (SELECT value FROM json_each(?))`;
export function takeLeases(owner: string, partitions: readonly number[], expiresAt: number): Plan[] {
  return [{ text: takeLeasesText, values: [owner, expiresAt, JSON.stringify(partitions)] }];
}

const releaseLeasesText = `UPDATE partition_leases SET owner = NULL, expires_at = 0
  WHERE owner = ? AND part IN (SELECT value FROM json_each(?))`;
const releaseAllLeasesText = 'UPDATE partition_leases SET owner = NULL, expires_at = 0 WHERE owner = ?';
export function releaseLeases(owner: string, partitions: readonly number[] | 'all'): Plan[] {
  return partitions === 'all'
    ? [{ text: releaseAllLeasesText, values: [owner] }]
    : [{ text: releaseLeasesText, values: [owner, JSON.stringify(partitions)] }];
}

// ---- parked events --------------------------------------------------------------------------

/** An inbound id parked already changes nothing. */
const insertParkedText = `INSERT INTO parked_events (inbound_id, vin, part, parked_at, data) VALUES (?, ?, ?, ?, ?)
  ON CONFLICT(inbound_id) DO NOTHING`;
export function insertParked(events: readonly ParkedEvent[]): Plan[] {
  return events.map((e) => ({
    text: insertParkedText,
    values: [e.inboundId, e.vin, partitionOf(e.vin), e.parkedAt, rows.parkedData(e)],
  }));
}

/** Oldest parked first (the rowid id); RETURNING has no order, so the store sorts the claimed rows again. */
const claimParkedText = `UPDATE parked_events SET locked_until = ?
  WHERE id IN (
    SELECT id FROM parked_events
    WHERE part IN (SELECT value FROM json_each(?)) AND locked_until <= ?
    ORDER BY id ASC
    LIMIT ?)
  RETURNING id, inbound_id, vin, parked_at, data`;
export function claimParked(
  partitions: readonly number[],
  now: number,
  lockedUntil: number,
  limit: number,
): Plan<rows.ParkedDbRow> {
  return { text: claimParkedText, values: [lockedUntil, JSON.stringify(partitions), now, limit] };
}

const deleteParkedText = byCount((count) => `DELETE FROM parked_events WHERE inbound_id IN (${placeholders(count)})`);
export function deleteParked(inboundIds: readonly string[]): Plan[] {
  return inLists(inboundIds, deleteParkedText);
}

// ---- meta -----------------------------------------------------------------------------------

const selectMetaText = 'SELECT value FROM meta WHERE key = ?';
export function selectMeta(key: string): Plan<rows.MetaRow> {
  return { text: selectMetaText, values: [key] };
}

const upsertMetaText =
  'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value';
export function upsertMeta(key: string, value: string): Plan {
  return { text: upsertMetaText, values: [key, value] };
}

// ---- helpers --------------------------------------------------------------------------------

function placeholders(count: number): string {
  return new Array<string>(count).fill('?').join(', ');
}

function rowsOf(columns: number, count: number): string {
  return new Array<string>(count).fill(`(${placeholders(columns)})`).join(', ');
}

/** A statement text per row count, built once each. */
function byCount(build: (count: number) => string): (count: number) => string {
  const texts: string[] = [];
  return (count) => (texts[count] ??= build(count));
}

/** `values` in IN lists of a few fixed sizes (`text(size)`), each padded by repeating a value already in it, which IN ignores. */
function inLists<R>(values: readonly string[], text: (size: number) => string): Plan<R>[] {
  const out: Plan<R>[] = [];
  for (let i = 0; i < values.length; i += MAX_IN_LIST) {
    const chunk = values.slice(i, i + MAX_IN_LIST);
    const size = IN_LIST_SIZES.find((n) => n >= chunk.length) ?? MAX_IN_LIST;
    out.push({ text: text(size), values: chunk.concat(new Array<string>(size - chunk.length).fill(chunk[0] ?? '')) });
  }
  return out;
}

/** A claim's text for all partitions and for some (bound as one JSON array before the limit). */
function partitioned(build: (filter: string) => string): { all: string; some: string } {
  return { all: build(''), some: build(' AND part IN (SELECT value FROM json_each(?))') };
}

function memo(cache: Map<string, string>, key: string, build: () => string): string {
  let text = cache.get(key);
  if (text === undefined) {
    text = build();
    cache.set(key, text);
  }
  return text;
}

/** `items` in statements of at most `perStatement` rows each, `bind` appending one item's values. */
function multiRow<T, R = never>(
  items: readonly T[],
  perStatement: number,
  text: (count: number) => string,
  bind: (item: T, into: unknown[]) => void,
): Plan<R>[] {
  const out: Plan<R>[] = [];
  for (let i = 0; i < items.length; i += perStatement) {
    const count = Math.min(perStatement, items.length - i);
    const values: unknown[] = [];
    for (let k = i; k < i + count; k++) bind(items[k]!, values);
    out.push({ text: text(count), values });
  }
  return out;
}
