/**
 * Ordered, versioned schema migrations of the SQLite store. A migration is never edited once
 * released: a change is a new entry with the next version. `migrate` applies the missing ones,
 * each in its own IMMEDIATE transaction together with its `schema_migrations` row, so two
 * processes opening one file cannot both apply the same version.
 */
import type { Database } from 'better-sqlite3';
import { CLOSED_STATE, type Migration } from '../dialect.js';
import { partitionOf, VIN_PARTITIONS } from '../partition.js';
import * as plans from './plans.js';

const CLOSED = CLOSED_STATE;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
CREATE TABLE workflows (
  correlation_id TEXT PRIMARY KEY,
  vin TEXT NOT NULL,
  state TEXT NOT NULL,
  urgency TEXT,
  version INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  data TEXT NOT NULL
);
-- A VIN never has two open workflows; new telemetry updates the open one instead.
CREATE UNIQUE INDEX workflows_open_vin ON workflows (vin) WHERE state <> '${CLOSED}';
CREATE INDEX workflows_vin_created ON workflows (vin, created_at);
CREATE INDEX workflows_created ON workflows (created_at, correlation_id);
CREATE INDEX workflows_state_created ON workflows (state, created_at, correlation_id);
CREATE INDEX workflows_urgency_created ON workflows (urgency, created_at, correlation_id);

CREATE TABLE transitions (
  id INTEGER PRIMARY KEY,
  correlation_id TEXT NOT NULL,
  vin TEXT NOT NULL,
  from_state TEXT NOT NULL,
  to_state TEXT NOT NULL,
  timestamp INTEGER NOT NULL,
  reason TEXT NOT NULL
);
CREATE INDEX transitions_correlation ON transitions (correlation_id);

-- Tables looked up only by their key are WITHOUT ROWID: one B-tree per table instead of two, which
-- is most of the cost of the several rows every decision writes.
CREATE TABLE outbox (
  message_id TEXT PRIMARY KEY,
  correlation_id TEXT NOT NULL,
  key TEXT NOT NULL UNIQUE,
  channel TEXT NOT NULL,
  message_type TEXT NOT NULL,
  receiver TEXT NOT NULL,
  priority INTEGER NOT NULL,
  payload TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  causation_id TEXT,
  sent_at INTEGER,
  locked_until INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
-- Only unsent rows are claimed; the partial index stays small however long the sent history grows.
CREATE INDEX outbox_unsent ON outbox (priority DESC, created_at ASC) WHERE sent_at IS NULL;

CREATE TABLE timers (
  correlation_id TEXT NOT NULL,
  name TEXT NOT NULL,
  vin TEXT NOT NULL,
  due_at INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  locked_until INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (correlation_id, name)
) WITHOUT ROWID;
CREATE INDEX timers_due ON timers (due_at);

CREATE TABLE inbox (
  message_id TEXT PRIMARY KEY,
  processed_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE counters (
  name TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE vehicles (
  vin TEXT PRIMARY KEY,
  first_seen_at INTEGER NOT NULL,
  last_sample_at INTEGER,
  next_cycle_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX vehicles_next_cycle ON vehicles (next_cycle_at);

CREATE TABLE quarantine (
  id INTEGER PRIMARY KEY,
  received_at INTEGER NOT NULL,
  vin TEXT,
  source TEXT NOT NULL,
  reason TEXT NOT NULL,
  field TEXT NOT NULL,
  message TEXT NOT NULL,
  raw TEXT NOT NULL
);

CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
`,
  },
  {
    version: 2,
    name: 'outbox as a rowid table; indexes for retention',
    // A WITHOUT ROWID table keeps each row whole in its primary-key B-tree, and SQLite advises against
    // it for rows over ~1/20 of a page: outbox payloads are about 1 KB, so every insert split and
    // rewrote pages of that tree (26% of ingest time in a profile). A rowid table appends the row and
    // puts only the short keys in the unique indexes. The table is rebuilt under the same name with the
    // same columns and constraints, and its rows are copied in claim order.
    sql: `
CREATE TABLE outbox_rowid (
  message_id TEXT NOT NULL PRIMARY KEY,
  correlation_id TEXT NOT NULL,
  key TEXT NOT NULL UNIQUE,
  channel TEXT NOT NULL,
  message_type TEXT NOT NULL,
  receiver TEXT NOT NULL,
  priority INTEGER NOT NULL,
  payload TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  causation_id TEXT,
  sent_at INTEGER,
  locked_until INTEGER NOT NULL DEFAULT 0
);
INSERT INTO outbox_rowid
  (message_id, correlation_id, key, channel, message_type, receiver, priority, payload, created_at,
   causation_id, sent_at, locked_until)
  SELECT message_id, correlation_id, key, channel, message_type, receiver, priority, payload, created_at,
    causation_id, sent_at, locked_until
  FROM outbox ORDER BY created_at, message_id;
DROP TABLE outbox;
ALTER TABLE outbox_rowid RENAME TO outbox;
-- Only unsent rows are claimed, in claimOutbox's order; the partial index stays small however long
-- the sent history grows.
CREATE INDEX outbox_unsent ON outbox (priority DESC, created_at ASC, message_id ASC) WHERE sent_at IS NULL;
-- For purge: sent rows by age. Partial, so an insert (sent_at NULL) does not touch it.
CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;
CREATE INDEX inbox_processed ON inbox (processed_at);
`,
  },
  {
    version: 3,
    name: 'service findings kept as training labels',
    // One row per serviced component of a case. Its own table, outside everything purge() touches:
    // labels are the fleet's confirmed history the learned model is retrained from. The prediction
    // is kept in columns (predicted_mode NULL: nothing was predicted for the component) so the
    // labels can be queried in SQL as well as read through the port. A rowid table: notes may be long.
    sql: `
CREATE TABLE labels (
  correlation_id TEXT NOT NULL,
  component TEXT NOT NULL,
  vin TEXT NOT NULL,
  finding TEXT NOT NULL,
  serviced_at INTEGER NOT NULL,
  predicted_mode TEXT,
  predicted_probability REAL,
  predicted_days_to_failure REAL,
  predicted_analysed_at INTEGER,
  notes TEXT,
  recorded_at INTEGER NOT NULL,
  PRIMARY KEY (correlation_id, component)
);
-- listLabels' order; also serves its since filter and its cursor.
CREATE INDEX labels_serviced ON labels (serviced_at, correlation_id, component);
`,
  },
  {
    version: 4,
    name: 'a quarantined sample is stored once',
    // The fleet poll and the history fetch both met the same bad samples, and each stored and counted
    // them: a sample now carries its identity (a hash of its content) and is stored once. Rows written
    // before have no key and are kept as they are (NULLs never conflict in a unique index): their raw
    // text was cut at 4 KB and is not the hashed form, so their keys cannot be recomputed, and dropping
    // duplicates among them would leave the counters, which counted them, disagreeing with the rows.
    sql: `
ALTER TABLE quarantine ADD COLUMN sample_key TEXT;
CREATE UNIQUE INDEX quarantine_sample_key ON quarantine (sample_key);
`,
  },
  {
    version: 5,
    name: 'VIN partitions, leased to instances',
    // Each claimable row records its VIN's partition (partition.ts), so an instance claims only the
    // rows of the partitions it leases. Rows written before get theirs here: pw_partition() is
    // partitionOf(), registered by migrate(). Sent outbox rows are never claimed again and keep NULL.
    sql: `
ALTER TABLE outbox ADD COLUMN part INTEGER;
ALTER TABLE timers ADD COLUMN part INTEGER;
ALTER TABLE vehicles ADD COLUMN part INTEGER;
UPDATE timers SET part = pw_partition(vin);
UPDATE vehicles SET part = pw_partition(vin);
UPDATE outbox SET part = (SELECT pw_partition(w.vin) FROM workflows AS w WHERE w.correlation_id = outbox.correlation_id)
  WHERE sent_at IS NULL;

-- One row per partition; owner NULL: free. The epoch rises whenever the partition changes owner.
CREATE TABLE partition_leases (
  part INTEGER PRIMARY KEY,
  owner TEXT,
  expires_at INTEGER NOT NULL DEFAULT 0,
  epoch INTEGER NOT NULL DEFAULT 0
);
WITH RECURSIVE n(part) AS (SELECT 0 UNION ALL SELECT part + 1 FROM n WHERE part < ${VIN_PARTITIONS - 1})
INSERT INTO partition_leases (part) SELECT part FROM n;
-- The instances sharing the partitions; a member whose membership expired is gone.
CREATE TABLE lease_members (
  owner TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
`,
  },
  {
    version: 6,
    name: 'the analysis memory of each vehicle',
    // What the analysis agent remembers of a vehicle (a month of daily levels, its learned normal),
    // kept here and sent with each request, so any agent instance predicts alike and the memory
    // survives restarts. Its own table: the fleet poll's claims scan vehicles, which stays narrow.
    sql: `
CREATE TABLE analysis_memory (
  vin TEXT PRIMARY KEY,
  memory TEXT NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
`,
  },
  {
    version: 7,
    name: 'inputs parked for the instance holding their VIN',
    // A bus message taken by an instance that does not hold its VIN's partition waits here for the one
    // that does. The rowid id gives the order they are applied in; the index serves the holder's claim
    // (its partitions, oldest first).
    sql: `
CREATE TABLE parked_events (
  id INTEGER PRIMARY KEY,
  inbound_id TEXT NOT NULL UNIQUE,
  vin TEXT NOT NULL,
  part INTEGER NOT NULL,
  parked_at INTEGER NOT NULL,
  locked_until INTEGER NOT NULL DEFAULT 0,
  data TEXT NOT NULL
);
CREATE INDEX parked_events_part ON parked_events (part, id);
`,
  },
];

/** Applies every migration not yet recorded; returns the versions it applied. */
export function migrate(db: Database, now: number = Date.now()): number[] {
  db.function('pw_partition', { deterministic: true }, (vin: unknown) =>
    typeof vin === 'string' ? partitionOf(vin) : null,
  );
  db.exec(plans.createMigrationsTable);
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    const apply = db.transaction(() => {
      // Re-read inside the write lock: another process may have applied it since we looked.
      const done = db.prepare(plans.selectAppliedVersions).pluck().all() as number[];
      if (done.includes(m.version)) return false;
      db.exec(m.sql);
      db.prepare(plans.insertMigration).run(m.version, m.name, now);
      return true;
    });
    if (apply.immediate()) applied.push(m.version);
  }
  return applied;
}
