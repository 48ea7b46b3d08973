/**
 * Every SQL statement of the SQLite adapter (STYLE 1, after pg-boss `plans.ts`). Statements with a
 * fixed shape are constants, prepared once by the store; the few whose shape depends on the call
 * (IN lists, optional filters) are functions returning the text, cached by the store per shape.
 * Parameters are positional `?`, bound in the order the comment on each statement gives.
 */
import type { WorkflowState } from '../../core/workflow.js';

/** The state that closes a workflow; the partial unique index on open VINs leaves it out. */
export const CLOSED_STATE: WorkflowState = 'completed';

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

/** correlation_id, vin, state, urgency, version, created_at, updated_at, data */
export const insertWorkflow = `INSERT INTO workflows
  (correlation_id, vin, state, urgency, version, created_at, updated_at, data)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT DO NOTHING`;

/** state, urgency, version, updated_at, data, correlation_id, expected version */
export const updateWorkflow = `UPDATE workflows
  SET state = ?, urgency = ?, version = ?, updated_at = ?, data = ?
  WHERE correlation_id = ? AND version = ?`;

/** correlation_id */
export const selectWorkflow = 'SELECT data FROM workflows WHERE correlation_id = ?';

/** vin — the open workflow first, else the most recent one. */
export const selectCurrentWorkflow = `SELECT data FROM workflows WHERE vin = ?
  ORDER BY (state <> '${CLOSED_STATE}') DESC, created_at DESC, correlation_id DESC LIMIT 1`;

/** `count` vins; written so the partial index on open VINs serves it. */
export function selectOpenWorkflows(count: number): string {
  return `SELECT data FROM workflows WHERE state <> '${CLOSED_STATE}' AND vin IN (${placeholders(count)})`;
}

export interface ListShape {
  state: boolean;
  urgency: boolean;
  cursor: boolean;
}

/**
 * Newest first by (created_at, correlation_id): both never change, so a page boundary stays put
 * while workflows keep moving between states, and paging sees each workflow exactly once.
 * Binds, in order: [state], [urgency], [created_at, correlation_id], limit.
 */
export function listWorkflows(shape: ListShape): string {
  const where: string[] = [];
  if (shape.state) where.push('state = ?');
  if (shape.urgency) where.push('urgency = ?');
  // A row-value comparison, so the index is entered at the cursor instead of scanned up to it.
  if (shape.cursor) where.push('(created_at, correlation_id) < (?, ?)');
  const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
  return `SELECT data, created_at, correlation_id FROM workflows ${clause}
  ORDER BY created_at DESC, correlation_id DESC LIMIT ?`;
}

export const countWorkflowsByState = 'SELECT state, COUNT(*) AS n FROM workflows GROUP BY state';

// ---- transitions ----------------------------------------------------------------------------

export const TRANSITION_COLUMNS = 6;

/**
 * `count` rows of correlation_id, vin, from_state, to_state, timestamp, reason. A decision writes
 * its rows in one statement: per-statement overhead, not SQLite's work, dominates at this size.
 */
export function insertTransitions(count: number): string {
  return `INSERT INTO transitions (correlation_id, vin, from_state, to_state, timestamp, reason)
  VALUES ${rowsOf(TRANSITION_COLUMNS, count)}`;
}

/** correlation_id — insertion order (the rowid id). */
export const selectTransitions = `SELECT from_state, to_state, timestamp, reason
  FROM transitions WHERE correlation_id = ? ORDER BY id`;

/**
 * correlation_id, limit — the latest `limit`, returned oldest first. The index on correlation_id
 * holds the rowid too, so the inner query walks it backwards and stops after `limit` entries.
 */
export const selectLatestTransitions = `SELECT from_state, to_state, timestamp, reason FROM (
    SELECT id, from_state, to_state, timestamp, reason FROM transitions
    WHERE correlation_id = ? ORDER BY id DESC LIMIT ?)
  ORDER BY id`;

/** correlation_id — counted on the index alone. */
export const countTransitions = 'SELECT COUNT(*) AS n FROM transitions WHERE correlation_id = ?';

// ---- outbox ---------------------------------------------------------------------------------

export const OUTBOX_COLUMNS = 10;

/**
 * `count` rows of message_id, correlation_id, key, channel, message_type, receiver, priority,
 * payload, created_at, causation_id. A row whose key exists already is skipped, alone.
 */
export function insertOutbox(count: number): string {
  return `INSERT INTO outbox
  (message_id, correlation_id, key, channel, message_type, receiver, priority, payload, created_at, causation_id)
  VALUES ${rowsOf(OUTBOX_COLUMNS, count)}
  ON CONFLICT(key) DO NOTHING`;
}

/**
 * locked_until (now + lease), now, limit. Critical first in every queue, then oldest first; the
 * message id (UUIDv7, time-ordered) breaks ties. RETURNING has no order, so the store sorts the
 * claimed rows again by (priority, created_at, message_id).
 */
export const claimOutbox = `UPDATE outbox SET locked_until = ?
  WHERE message_id IN (
    SELECT message_id FROM outbox
    WHERE sent_at IS NULL AND locked_until <= ?
    ORDER BY priority DESC, created_at ASC, message_id ASC
    LIMIT ?)
  RETURNING message_id, correlation_id, key, channel, message_type, receiver,
    priority, payload, created_at, causation_id`;

/** sent_at, message_id */
export const markSent = 'UPDATE outbox SET sent_at = ? WHERE message_id = ? AND sent_at IS NULL';

/** before, limit — one chunk of sent rows older than `before`, found on the partial index outbox_sent. */
export const purgeSentOutbox = `DELETE FROM outbox WHERE rowid IN (
  SELECT rowid FROM outbox WHERE sent_at < ? LIMIT ?)`;

// ---- timers ---------------------------------------------------------------------------------

/** correlation_id, name, vin, due_at, seq — a new set replaces the old timer and its lease. */
export const upsertTimer = `INSERT INTO timers (correlation_id, name, vin, due_at, seq, locked_until)
  VALUES (?, ?, ?, ?, ?, 0)
  ON CONFLICT(correlation_id, name) DO UPDATE
  SET vin = excluded.vin, due_at = excluded.due_at, seq = excluded.seq, locked_until = 0`;

/** correlation_id */
export const clearTimers = 'DELETE FROM timers WHERE correlation_id = ?';

/** correlation_id, name, seq — a timer set again since it fired has a newer seq and stays. */
export const deleteTimer = 'DELETE FROM timers WHERE correlation_id = ? AND name = ? AND seq = ?';

/** until, name, until, states (a JSON array): the workflow's state is read in the same statement. */
export const postponeTimers = `UPDATE timers SET due_at = ?
  WHERE name = ? AND due_at < ?
    AND correlation_id IN (SELECT correlation_id FROM workflows WHERE state IN (SELECT value FROM json_each(?)))`;

/** locked_until (now + lease), now, now, limit — sorted again by the store by (due_at, correlation_id, name). */
export const claimDueTimers = `UPDATE timers SET locked_until = ?
  WHERE (correlation_id, name) IN (
    SELECT correlation_id, name FROM timers
    WHERE due_at <= ? AND locked_until <= ?
    ORDER BY due_at ASC, correlation_id ASC, name ASC
    LIMIT ?)
  RETURNING correlation_id, vin, name, due_at, seq`;

// ---- inbox ----------------------------------------------------------------------------------

/** message_id, processed_at — no row changed means the message was seen before. */
export const insertInbox = 'INSERT INTO inbox (message_id, processed_at) VALUES (?, ?) ON CONFLICT DO NOTHING';
/** message_id — undoes the inbox row of a decision refused for a version conflict. */
export const deleteInbox = 'DELETE FROM inbox WHERE message_id = ?';
/** before, limit — one chunk of ids processed before `before`, found on the index inbox_processed. */
export const purgeInbox = `DELETE FROM inbox WHERE message_id IN (
  SELECT message_id FROM inbox WHERE processed_at < ? LIMIT ?)`;

// ---- counters -------------------------------------------------------------------------------

/** name, by */
export const addCounter = `INSERT INTO counters (name, value) VALUES (?, ?)
  ON CONFLICT(name) DO UPDATE SET value = value + excluded.value`;
export const selectCounters = 'SELECT name, value FROM counters ORDER BY name';

// ---- labels ---------------------------------------------------------------------------------

export const LABEL_COLUMNS = 11;

/**
 * `count` rows of correlation_id, component, vin, finding, serviced_at, predicted_mode,
 * predicted_probability, predicted_days_to_failure, predicted_analysed_at, notes, recorded_at.
 * A label of a (correlation_id, component) stored already is skipped, alone.
 */
export function insertLabels(count: number): string {
  return `INSERT INTO labels
  (correlation_id, component, vin, finding, serviced_at, predicted_mode, predicted_probability,
   predicted_days_to_failure, predicted_analysed_at, notes, recorded_at)
  VALUES ${rowsOf(LABEL_COLUMNS, count)}
  ON CONFLICT(correlation_id, component) DO NOTHING`;
}

export interface LabelListShape {
  since: boolean;
  cursor: boolean;
}

/**
 * Oldest serviced_at first, then correlation_id, component (the primary key breaks ties), on the
 * index labels_serviced. Binds, in order: [since], [serviced_at, correlation_id, component], limit.
 */
export function listLabels(shape: LabelListShape): string {
  const where: string[] = [];
  if (shape.since) where.push('serviced_at >= ?');
  if (shape.cursor) where.push('(serviced_at, correlation_id, component) > (?, ?, ?)');
  const clause = where.length > 0 ? `WHERE ${where.join(' AND ')}` : '';
  return `SELECT correlation_id, component, vin, finding, serviced_at, predicted_mode, predicted_probability,
    predicted_days_to_failure, predicted_analysed_at, notes
  FROM labels ${clause}
  ORDER BY serviced_at ASC, correlation_id ASC, component ASC LIMIT ?`;
}

export const countLabelsByFinding = 'SELECT finding, COUNT(*) AS n FROM labels GROUP BY finding';

// ---- vehicles -------------------------------------------------------------------------------

/**
 * vin, first_seen_at, last_sample_at, next_cycle_at. A known vehicle keeps its schedule; its
 * last sample only moves forward (scalar max() is NULL if either side is, hence the COALESCE).
 */
export const upsertVehicle = `INSERT INTO vehicles (vin, first_seen_at, last_sample_at, next_cycle_at)
  VALUES (?, ?, ?, ?)
  ON CONFLICT(vin) DO UPDATE SET last_sample_at = COALESCE(
    max(excluded.last_sample_at, vehicles.last_sample_at), excluded.last_sample_at, vehicles.last_sample_at)`;

/** now, limit */
export const selectDueVehicles = `SELECT vin FROM vehicles WHERE next_cycle_at <= ?
  ORDER BY next_cycle_at ASC, vin ASC LIMIT ?`;

/** next_cycle_at, vin */
export const setNextCycle = 'UPDATE vehicles SET next_cycle_at = ? WHERE vin = ?';

export const countVehicles = 'SELECT COUNT(*) AS n FROM vehicles';

// ---- quarantine -----------------------------------------------------------------------------

/**
 * sample_key, received_at, vin, source, reason, field, message, raw — a key stored already writes
 * nothing (changes 0); a NULL key never conflicts. Only the key's conflict is ignored, unlike
 * INSERT OR IGNORE, which would also swallow a NOT NULL violation.
 */
export const insertQuarantine = `INSERT INTO quarantine (sample_key, received_at, vin, source, reason, field, message, raw)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (sample_key) DO NOTHING`;

/** limit — most recent first. */
export const selectQuarantine = `SELECT sample_key, received_at, vin, source, reason, field, message, raw
  FROM quarantine ORDER BY id DESC LIMIT ?`;

// ---- meta -----------------------------------------------------------------------------------

/** key */
export const selectMeta = 'SELECT value FROM meta WHERE key = ?';
/** key, value */
export const upsertMeta =
  'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value';

function placeholders(count: number): string {
  return new Array<string>(count).fill('?').join(', ');
}

function rowsOf(columns: number, count: number): string {
  return new Array<string>(count).fill(`(${placeholders(columns)})`).join(', ');
}
