/**
 * How the store's behaviour is written once for every adapter (DESIGN §2).
 *
 * SQL lives in each adapter's plans module as functions returning a `Plan` ({ text, values }, after
 * pg-boss `plans.ts`). What the store does with those statements (the commit algorithm, claims,
 * paging) is written once, as a generator: it yields each plan it wants run and receives the
 * plan's outcome back. Each adapter supplies a `SqlDatabase` that drives such a generator:
 *
 * - SQLite (better-sqlite3) drives it synchronously, inside one `db.transaction`. Nothing awaits
 *   between two statements, so no other caller's statements can interleave with the transaction
 *   on the shared connection, and a batch costs no promise or microtask per statement: the
 *   embedded store stays as fast as when its commit was one hand-written synchronous closure.
 * - PostgreSQL (pg) drives it asynchronously, awaiting each statement on one pooled connection
 *   between BEGIN and COMMIT.
 *
 * The alternatives were worse for one side: an async algorithm over an async transaction would
 * cost SQLite a microtask per statement and, worse, let other calls on its single connection run
 * inside an open transaction between awaits; a synchronous one cannot talk to PostgreSQL at all.
 * A generator is the one form both can drive, and it keeps the algorithm free of I/O: it only
 * says which statement comes next given what the previous ones returned.
 */

declare const rowType: unique symbol;

/** One SQL statement and its bind values, in the adapter's own placeholder style (`?` or `$n`). */
export interface Plan<R = unknown> {
  readonly text: string;
  readonly values: readonly unknown[];
  /** Type only: the shape of the rows the statement returns. */
  readonly [rowType]?: R;
}

/** What running a plan gave: its rows (SELECT, RETURNING) and how many rows it changed. */
export interface Outcome<R = unknown> {
  rows: R[];
  changes: number;
}

/** Store work: yields the plans to run, one at a time, and returns `T` once done. */
export type Work<T> = Generator<Plan, T, Outcome>;

/** Runs one plan: `const { rows } = yield* run(plans.selectX(...))`. */
export function* run<R>(plan: Plan<R>): Generator<Plan, Outcome<R>, Outcome> {
  return (yield plan) as Outcome<R>;
}

/** Runs plans in order and gathers their rows and changes (a dialect may split one operation into several statements). */
export function* runAll<R>(plans: readonly Plan<R>[]): Generator<Plan, Outcome<R>, Outcome> {
  // Yields each plan itself rather than through run(): every generator a yield passes through costs,
  // and the commit's statements already pass through three.
  if (plans.length === 1) return (yield plans[0]!) as Outcome<R>;
  const rows: R[] = [];
  let changes = 0;
  for (const plan of plans) {
    const outcome = (yield plan) as Outcome<R>;
    for (const row of outcome.rows) rows.push(row);
    changes += outcome.changes;
  }
  return { rows, changes };
}

/**
 * A write that may refuse some of its items (an inbound id seen before, a workflow no longer at the
 * expected version): its statements, and how their outcomes tell which items were written. SQLite
 * runs a statement per item and reads each one's change count (`perItem`): asking for RETURNING rows
 * instead cost about 8% of commit time, measured. PostgreSQL writes all items in one statement and
 * reads the keys it returns (`byReturnedKey`).
 */
export interface GuardedWrite {
  readonly plans: readonly Plan[];
  /** From the plans' outcomes, in order: whether each item was written, in the items' order. */
  written(outcomes: readonly Outcome[]): boolean[];
}

/** One statement per item, in the items' order, each changing a row only when its item is written. */
export function perItem(plans: readonly Plan[]): GuardedWrite {
  return { plans, written: (outcomes) => outcomes.map((o) => o.changes > 0) };
}

/** Statements whose rows name the written items by `key` (INSERT/UPDATE … RETURNING). */
export function byReturnedKey<T, R>(
  plans: readonly Plan<R>[],
  items: readonly T[],
  key: (item: T) => string,
  rowKey: (row: R) => string,
): GuardedWrite {
  return {
    plans,
    written(outcomes) {
      const keys = new Set<string>();
      for (const o of outcomes) for (const row of o.rows as R[]) keys.add(rowKey(row));
      return items.map((item) => keys.has(key(item)));
    },
  };
}

/** Runs a guarded write; returns whether each item was written. */
export function* runGuarded(write: GuardedWrite): Generator<Plan, boolean[], Outcome> {
  const outcomes: Outcome[] = [];
  for (const plan of write.plans) outcomes.push(yield plan);
  return write.written(outcomes);
}

/** Drives `work` with a synchronous executor; a failed statement is thrown into the work. */
export function driveSync<T>(work: Work<T>, execute: (plan: Plan) => Outcome): T {
  let step = work.next();
  while (!step.done) {
    let outcome: Outcome;
    try {
      outcome = execute(step.value);
    } catch (err) {
      step = work.throw(err);
      continue;
    }
    step = work.next(outcome);
  }
  return step.value;
}

/** Drives `work` with an asynchronous executor, one statement at a time. */
export async function driveAsync<T>(work: Work<T>, execute: (plan: Plan) => Promise<Outcome>): Promise<T> {
  let step = work.next();
  while (!step.done) {
    let outcome: Outcome;
    try {
      outcome = await execute(step.value);
    } catch (err) {
      step = work.throw(err);
      continue;
    }
    step = work.next(outcome);
  }
  return step.value;
}

/**
 * A database as the shared store code sees it. Work is passed as a function that makes the
 * generator, so an adapter may run it again from the start (PostgreSQL retries a transaction that
 * lost a deadlock).
 */
export interface SqlDatabase {
  /** Runs `work` in one write transaction: all of its statements commit, or none. */
  transaction<T>(work: () => Work<T>): Promise<T>;
  /** Runs `work` statement by statement, each committing on its own: reads, and single-statement writes. */
  query<T>(work: () => Work<T>): Promise<T>;
  /** False once closed: long chunked work (a purge) stops between chunks. */
  readonly open: boolean;
}
