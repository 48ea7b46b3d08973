/**
 * Ordered, versioned schema migrations of the PostgreSQL store, in the store's own schema. A migration
 * is never edited once released: a change is a new entry with the next version. `migrate` holds a
 * session advisory lock on the schema while it applies the missing ones, each in its own transaction
 * with its `schema_migrations` row, so any number of processes may start at once: they migrate one
 * after another, and each re-reads what the others applied once it has the lock.
 *
 * The schema is the SQLite store's (sqlite/migrations.ts, as of its version 4) in PostgreSQL types:
 * epoch milliseconds in bigint, documents (workflow data, outbox payloads) as text, which the store
 * treats as opaque, and identifiers in the "C" collation, so they sort by byte as in SQLite and as
 * the store sorts claimed rows.
 */
import type { PoolClient } from 'pg';
import { CLOSED_STATE, type Migration } from '../dialect.js';
import { VIN_PARTITIONS } from '../partition.js';
import * as plans from './plans.js';

const CLOSED = CLOSED_STATE;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
CREATE TABLE workflows (
  correlation_id text COLLATE "C" PRIMARY KEY,
  vin text COLLATE "C" NOT NULL,
  state text NOT NULL,
  urgency text,
  version integer NOT NULL,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  data text NOT NULL
);
-- A VIN never has two open workflows; new telemetry updates the open one instead.
CREATE UNIQUE INDEX workflows_open_vin ON workflows (vin) WHERE state <> '${CLOSED}';
CREATE INDEX workflows_vin_created ON workflows (vin, created_at);
CREATE INDEX workflows_created ON workflows (created_at, correlation_id);
CREATE INDEX workflows_state_created ON workflows (state, created_at, correlation_id);
CREATE INDEX workflows_urgency_created ON workflows (urgency, created_at, correlation_id);

CREATE TABLE transitions (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  correlation_id text COLLATE "C" NOT NULL,
  vin text COLLATE "C" NOT NULL,
  from_state text NOT NULL,
  to_state text NOT NULL,
  timestamp bigint NOT NULL,
  reason text NOT NULL
);
CREATE INDEX transitions_correlation ON transitions (correlation_id, id);

CREATE TABLE outbox (
  message_id text COLLATE "C" PRIMARY KEY,
  correlation_id text COLLATE "C" NOT NULL,
  key text COLLATE "C" NOT NULL UNIQUE,
  channel text NOT NULL,
  message_type text NOT NULL,
  receiver text NOT NULL,
  priority integer NOT NULL,
  payload text NOT NULL,
  created_at bigint NOT NULL,
  causation_id text,
  sent_at bigint,
  locked_until bigint NOT NULL DEFAULT 0,
  part integer NOT NULL
);
-- Only unsent rows are claimed, in the claim's order; the partial index stays small however long
-- the sent history grows. The other serves purge: sent rows by age.
CREATE INDEX outbox_unsent ON outbox (priority DESC, created_at ASC, message_id ASC) WHERE sent_at IS NULL;
CREATE INDEX outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;

CREATE TABLE timers (
  correlation_id text COLLATE "C" NOT NULL,
  name text COLLATE "C" NOT NULL,
  vin text COLLATE "C" NOT NULL,
  due_at bigint NOT NULL,
  seq integer NOT NULL,
  locked_until bigint NOT NULL DEFAULT 0,
  part integer NOT NULL,
  PRIMARY KEY (correlation_id, name)
);
CREATE INDEX timers_due ON timers (due_at, correlation_id, name);

CREATE TABLE inbox (
  message_id text COLLATE "C" PRIMARY KEY,
  processed_at bigint NOT NULL
);
CREATE INDEX inbox_processed ON inbox (processed_at);

CREATE TABLE counters (
  name text COLLATE "C" PRIMARY KEY,
  value bigint NOT NULL
);

CREATE TABLE vehicles (
  vin text COLLATE "C" PRIMARY KEY,
  first_seen_at bigint NOT NULL,
  last_sample_at bigint,
  next_cycle_at bigint NOT NULL,
  part integer NOT NULL
);
CREATE INDEX vehicles_next_cycle ON vehicles (next_cycle_at, vin);

-- A sample is stored once by its key; input that is not a sample has none (NULLs never conflict).
CREATE TABLE quarantine (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  sample_key text COLLATE "C" UNIQUE,
  received_at bigint NOT NULL,
  vin text,
  source text NOT NULL,
  reason text NOT NULL,
  field text NOT NULL,
  message text NOT NULL,
  raw text NOT NULL
);

-- Service findings kept as training labels; outside everything purge() touches.
CREATE TABLE labels (
  correlation_id text COLLATE "C" NOT NULL,
  component text COLLATE "C" NOT NULL,
  vin text COLLATE "C" NOT NULL,
  finding text NOT NULL,
  serviced_at bigint NOT NULL,
  predicted_mode text,
  predicted_probability double precision,
  predicted_days_to_failure double precision,
  predicted_analysed_at bigint,
  notes text,
  recorded_at bigint NOT NULL,
  PRIMARY KEY (correlation_id, component)
);
CREATE INDEX labels_serviced ON labels (serviced_at, correlation_id, component);

CREATE TABLE meta (
  key text COLLATE "C" PRIMARY KEY,
  value text NOT NULL
);

-- VIN partitions (partition.ts) leased to instances: one row per partition, owner NULL when free;
-- the epoch rises whenever a partition changes owner. The claimable rows above record their part.
CREATE TABLE partition_leases (
  part integer PRIMARY KEY,
  owner text COLLATE "C",
  expires_at bigint NOT NULL DEFAULT 0,
  epoch bigint NOT NULL DEFAULT 0
);
INSERT INTO partition_leases (part) SELECT generate_series(0, ${VIN_PARTITIONS - 1});
-- The instances sharing the partitions; a member whose membership expired is gone.
CREATE TABLE lease_members (
  owner text COLLATE "C" PRIMARY KEY,
  expires_at bigint NOT NULL
);
`,
  },
  {
    version: 2,
    name: 'the analysis memory of each vehicle',
    // As SQLite's version 6: what the analysis agent remembers of a vehicle, sent with each request.
    sql: `
CREATE TABLE analysis_memory (
  vin text COLLATE "C" PRIMARY KEY,
  memory text NOT NULL,
  updated_at bigint NOT NULL
);
`,
  },
  {
    version: 3,
    name: 'inputs parked for the instance holding their VIN',
    // As SQLite's version 7: a bus message taken by an instance that does not hold its VIN's partition
    // waits here for the one that does, applied in id order.
    sql: `
CREATE TABLE parked_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  inbound_id text COLLATE "C" NOT NULL UNIQUE,
  vin text COLLATE "C" NOT NULL,
  part integer NOT NULL,
  parked_at bigint NOT NULL,
  locked_until bigint NOT NULL DEFAULT 0,
  data text NOT NULL
);
CREATE INDEX parked_events_part ON parked_events (part, id);
`,
  },
];

/**
 * Creates the schema if needed and applies every migration not yet recorded, under the schema's
 * advisory lock; returns the versions it applied. `client` must have search_path set to `schema`.
 */
export async function migrate(client: PoolClient, schema: string, now: number = Date.now()): Promise<number[]> {
  await client.query(plans.lockMigrations, [schema]);
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await client.query(plans.createMigrationsTable);
    const done = new Set(
      (await client.query<{ version: number }>(plans.selectAppliedVersions)).rows.map((r) => r.version),
    );
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query(plans.insertMigration, [m.version, m.name, now]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
      applied.push(m.version);
    }
    return applied;
  } finally {
    await client.query(plans.unlockMigrations, [schema]);
  }
}
