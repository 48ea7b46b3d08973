/**
 * The distributed Store adapter on PostgreSQL via `pg` 8 (DESIGN §2): the shared store (sql-store.ts)
 * over this adapter's plans, each piece of store work run statement by statement on a pooled
 * connection, writes between BEGIN and COMMIT on one connection. Any number of processes may share
 * one database and schema: migrations take an advisory lock, claims skip what another instance holds,
 * and a decision commits only from the workflow version it was made on.
 */
import pg from 'pg';
import type { StorePlans } from '../dialect.js';
import { StoreArgumentError } from '../errors.js';
import { driveAsync, type Outcome, type Plan, type SqlDatabase, type Work } from '../plan.js';
import type { Store } from '../port.js';
import { createSqlStore } from '../sql-store.js';
import { migrate } from './migrations.js';
import * as plans from './plans.js';

export interface PostgresStoreOptions {
  /** A connection URL, `postgres://user:password@host:port/database`. */
  url: string;
  /**
   * The schema holding the store's tables, created by `migrate()`: lower-case letters, digits and
   * underscores, starting with a letter or underscore. Several stores can share a database under
   * different schemas (each test run uses its own).
   * @default 'pitwall'
   */
  schema?: string;
  /** Connections in the pool. @default 10 */
  poolSize?: number;
}

export const DEFAULT_SCHEMA = 'pitwall';
export const DEFAULT_POOL_SIZE = 10;
/** A transaction that lost a deadlock or a serialization check is run again from the start, this many times in all. */
const MAX_TRANSACTION_ATTEMPTS = 5;
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const INT8_OID = 20;
/** SQLSTATEs of a transaction PostgreSQL gave up on to let another one through; running it again is safe. */
const RETRYABLE = new Set(['40P01', '40001']);

const postgresPlans: StorePlans = plans;

export function createPostgresStore(options: PostgresStoreOptions): Store {
  const schema = options.schema ?? DEFAULT_SCHEMA;
  if (!SCHEMA_NAME.test(schema)) {
    throw new StoreArgumentError(
      `schema must be lower-case letters, digits and underscores (at most 63), got ${JSON.stringify(schema)}`,
    );
  }
  const poolSize = options.poolSize ?? DEFAULT_POOL_SIZE;
  if (!Number.isInteger(poolSize) || poolSize < 1)
    throw new StoreArgumentError(`poolSize must be an integer >= 1, got ${poolSize}`);
  const pool = new pg.Pool({
    connectionString: options.url,
    max: poolSize,
    application_name: 'pitwall',
    options: `-c search_path=${schema}`,
    types: { getTypeParser: typeParser as pg.CustomTypesConfig['getTypeParser'] },
  });
  // An idle connection the server drops (restart, admin) is an error on the pool; the next query
  // opens a new connection, so it is not fatal to the process.
  pool.on('error', () => {});
  const db = postgresDatabase(pool);
  return createSqlStore({
    plans: postgresPlans,
    db,
    async migrate() {
      const client = await pool.connect();
      try {
        await migrate(client, schema);
      } finally {
        client.release();
      }
    },
    close: () => db.close(),
  });
}

/**
 * bigint (epoch ms, counts) as a number rather than pg's default string, so rows have the shapes of
 * rows.ts in both adapters; every value the store keeps is far below 2^53. Per pool, not global.
 */
function typeParser(oid: number, format?: string): (value: string) => unknown {
  if (oid === INT8_OID && format !== 'binary') return Number;
  return (pg.types.getTypeParser as (oid: number, format?: string) => (value: string) => unknown)(oid, format);
}

interface PostgresDatabase extends SqlDatabase {
  close(): Promise<void>;
}

function postgresDatabase(pool: pg.Pool): PostgresDatabase {
  // Each distinct text becomes a named statement, parsed and planned once per connection.
  const names = new Map<string, string>();
  const nameOf = (text: string): string => {
    let name = names.get(text);
    if (name === undefined) {
      name = `pw_${names.size + 1}`;
      names.set(text, name);
    }
    return name;
  };
  const executor =
    (client: pg.Pool | pg.PoolClient) =>
    async (plan: Plan): Promise<Outcome> => {
      const result = await client.query({ name: nameOf(plan.text), text: plan.text, values: plan.values as unknown[] });
      return { rows: result.rows as unknown[], changes: result.rowCount ?? 0 };
    };
  const onPool = executor(pool);
  let ending: Promise<void> | null = null;

  return {
    get open() {
      return ending === null;
    },
    async query<T>(work: () => Work<T>): Promise<T> {
      return driveAsync(work(), onPool);
    },
    async transaction<T>(work: () => Work<T>): Promise<T> {
      for (let attempt = 1; ; attempt++) {
        const client = await pool.connect();
        let broken: Error | undefined;
        try {
          await client.query('BEGIN');
          const result = await driveAsync(work(), executor(client));
          await client.query('COMMIT');
          return result;
        } catch (err) {
          try {
            await client.query('ROLLBACK');
          } catch (rollbackFailed) {
            // The connection is unusable; the pool must not hand it out again.
            broken = rollbackFailed instanceof Error ? rollbackFailed : new Error(String(rollbackFailed));
          }
          const code = (err as { code?: unknown } | null)?.code;
          if (attempt < MAX_TRANSACTION_ATTEMPTS && typeof code === 'string' && RETRYABLE.has(code)) continue;
          throw err;
        } finally {
          client.release(broken);
        }
      }
    },
    close() {
      // pool.end() twice rejects; a second close waits for the first.
      ending ??= pool.end();
      return ending;
    },
  };
}
