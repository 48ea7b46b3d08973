/**
 * The embedded Store adapter on better-sqlite3 (DESIGN §2): the shared store (sql-store.ts) over this
 * adapter's plans, run synchronously. The port is async so a PostgreSQL adapter fits behind the same
 * callers; underneath, each piece of store work runs to its end without yielding (plan.ts), and each
 * multi-statement write is one IMMEDIATE transaction: it takes the write lock up front, so a second
 * process waits on busy_timeout instead of failing a lock upgrade.
 */
import Database from 'better-sqlite3';
import type { StorePlans } from '../dialect.js';
import { driveSync, type Outcome, type Plan, type SqlDatabase, type Work } from '../plan.js';
import type { Store } from '../port.js';
import { createSqlStore } from '../sql-store.js';
import { migrate } from './migrations.js';
import * as plans from './plans.js';

export { SQLITE_CACHE_KIB } from './plans.js';
export { PURGE_CHUNK_ROWS, QUARANTINE_RAW_MAX_CHARS } from '../sql-store.js';

export interface SqliteStoreOptions {
  /** Database file, or `':memory:'` for a private in-process database. */
  path: string;
  /** How long a writer waits for another process's lock before failing. @default 5000 */
  busyTimeoutMs?: number;
}

export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

const sqlitePlans: StorePlans = plans;
const NO_ROWS: never[] = [];

export function createSqliteStore(options: SqliteStoreOptions): Store {
  const db = new Database(options.path);
  for (const pragma of plans.pragmas(options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS)) db.pragma(pragma);
  return createSqlStore({
    plans: sqlitePlans,
    db: sqliteDatabase(db),
    async migrate() {
      migrate(db);
    },
    async close() {
      if (db.open) db.close();
    },
  });
}

/**
 * Runs plans on one connection. Each distinct text is prepared once, on first use (the tables exist
 * only after migrate(), which may run in another process), and kept: the plans module builds its
 * texts from a small fixed set, and the lookup by text is a hash of a string V8 has hashed before.
 */
function sqliteDatabase(db: Database.Database): SqlDatabase {
  const statements = new Map<string, Database.Statement<unknown[], unknown>>();
  function execute(plan: Plan): Outcome {
    let stmt = statements.get(plan.text);
    if (stmt === undefined) {
      stmt = db.prepare<unknown[], unknown>(plan.text);
      statements.set(plan.text, stmt);
    }
    const values = plan.values as unknown[];
    if (stmt.reader) {
      const rows = stmt.all(values);
      return { rows, changes: rows.length };
    }
    return { rows: NO_ROWS, changes: stmt.run(values).changes };
  }
  const inTransaction = db.transaction((work: Work<unknown>) => driveSync(work, execute));
  return {
    get open() {
      return db.open;
    },
    async transaction<T>(work: () => Work<T>): Promise<T> {
      return inTransaction.immediate(work()) as T;
    },
    async query<T>(work: () => Work<T>): Promise<T> {
      return driveSync(work(), execute);
    },
  };
}
