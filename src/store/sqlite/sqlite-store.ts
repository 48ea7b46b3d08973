/**
 * The embedded Store adapter on better-sqlite3 (DESIGN §2). better-sqlite3 is synchronous; the port
 * is async so a PostgreSQL adapter fits behind the same callers. Every statement is prepared once,
 * on first use after `migrate()`, and each write path runs as one IMMEDIATE transaction: it takes the
 * write lock up front, so a second process waits on busy_timeout instead of failing a lock upgrade.
 */
import Database from 'better-sqlite3';
import { WORKFLOW_STATES, type Transition, type Workflow, type WorkflowState } from '../../core/workflow.js';
import { decodeCursor, encodeCursor, pageLimit } from '../cursor.js';
import type { CommitOutcome, DecisionCommit, OutboxRow, QuarantinedSample, Store, TimerRow, WorkflowFilter, WorkflowPage } from '../port.js';
import { parseTimerInboundId } from '../timer-inbound.js';
import { migrate } from './migrations.js';
import * as plans from './plans.js';
import * as rows from './rows.js';

export interface SqliteStoreOptions {
  /** Database file, or `':memory:'` for a private in-process database. */
  path: string;
  /** How long a writer waits for another process's lock before failing. @default 5000 */
  busyTimeoutMs?: number;
}

export const DEFAULT_BUSY_TIMEOUT_MS = 5000;
/** Quarantined input is kept for diagnosis, not replay; a few KB show what was wrong. */
export const QUARANTINE_RAW_MAX_CHARS = 4096;
/** IN lists are padded up to one of these sizes, so a handful of prepared statements serves any count. */
const IN_LIST_SIZES = [1, 8, 64, 500] as const;
const MAX_IN_LIST = IN_LIST_SIZES[IN_LIST_SIZES.length - 1] ?? 500;

type Stmt<R = unknown> = Database.Statement<unknown[], R>;

/** Thrown inside a decision's savepoint to roll back just that decision; preallocated, as it is control flow. */
class ConflictSignal extends Error {
  constructor() {
    super('version conflict');
    this.name = 'ConflictSignal';
  }
}
const CONFLICT = new ConflictSignal();

function isUniqueViolation(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

function prepareAll(db: Database.Database) {
  const p = <R>(sql: string): Stmt<R> => db.prepare<unknown[], R>(sql);
  return {
    insertWorkflow: p(plans.insertWorkflow),
    updateWorkflow: p(plans.updateWorkflow),
    selectWorkflow: p<rows.DataRow>(plans.selectWorkflow),
    selectCurrentWorkflow: p<rows.DataRow>(plans.selectCurrentWorkflow),
    countWorkflowsByState: p<{ state: string; n: number }>(plans.countWorkflowsByState),
    insertTransition: p(plans.insertTransition),
    selectTransitions: p<rows.TransitionDbRow>(plans.selectTransitions),
    insertOutbox: p(plans.insertOutbox),
    claimOutbox: p<rows.OutboxDbRow>(plans.claimOutbox),
    markSent: p(plans.markSent),
    upsertTimer: p(plans.upsertTimer),
    clearTimers: p(plans.clearTimers),
    deleteTimer: p(plans.deleteTimer),
    deleteFiredTimer: p(plans.deleteFiredTimer),
    claimDueTimers: p<rows.TimerDbRow>(plans.claimDueTimers),
    insertInbox: p(plans.insertInbox),
    addCounter: p(plans.addCounter),
    selectCounters: p<{ name: string; value: number }>(plans.selectCounters),
    upsertVehicle: p(plans.upsertVehicle),
    selectDueVehicles: p<{ vin: string }>(plans.selectDueVehicles),
    setNextCycle: p(plans.setNextCycle),
    countVehicles: p<{ n: number }>(plans.countVehicles),
    insertQuarantine: p(plans.insertQuarantine),
    selectQuarantine: p<rows.QuarantineDbRow>(plans.selectQuarantine),
    selectMeta: p<{ value: string }>(plans.selectMeta),
    upsertMeta: p(plans.upsertMeta),
  };
}
type Statements = ReturnType<typeof prepareAll>;

export function createSqliteStore(options: SqliteStoreOptions): Store {
  const db = new Database(options.path);
  for (const pragma of plans.pragmas(options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS)) db.pragma(pragma);

  // Prepared on first use: the tables exist only after migrate(), which may run in another process.
  let prepared: Statements | undefined;
  const st = (): Statements => (prepared ??= prepareAll(db));
  const shaped = new Map<string, Stmt<never>>();
  function byShape<R>(sql: string): Stmt<R> {
    let s = shaped.get(sql);
    if (s === undefined) {
      s = db.prepare<unknown[], never>(sql);
      shaped.set(sql, s);
    }
    return s as unknown as Stmt<R>;
  }

  function commitOne(d: DecisionCommit): CommitOutcome {
    const s = st();
    const wf = d.workflow;
    const cid = wf.correlationId;
    // The inbox row goes first: a duplicate is detected by one write and leaves nothing behind.
    if (d.inboundId !== undefined && s.insertInbox.run(d.inboundId, wf.updatedAt).changes === 0) return 'duplicate';
    const data = JSON.stringify(wf);
    if (d.expectedVersion === 0) {
      // DO NOTHING covers both the primary key and the one-open-workflow-per-VIN index.
      const r = s.insertWorkflow.run(cid, wf.vin, wf.state, wf.urgency, wf.version, wf.createdAt, wf.updatedAt, data);
      if (r.changes === 0) throw CONFLICT;
    } else {
      let changes: number;
      try {
        changes = s.updateWorkflow.run(wf.state, wf.urgency, wf.version, wf.updatedAt, data, cid, d.expectedVersion).changes;
      } catch (err) {
        if (isUniqueViolation(err)) throw CONFLICT;
        throw err;
      }
      if (changes === 0) throw CONFLICT;
    }
    for (const t of d.transitions) s.insertTransition.run(cid, wf.vin, t.fromState, t.toState, t.timestamp, t.reason);
    for (const o of d.outbox) {
      s.insertOutbox.run(
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
      );
    }
    // A timer-caused decision deletes its timer before applying the decision's own timer changes:
    // a reminder may re-set the same timer name with the same seq, and that new timer must stay.
    const fired = parseTimerInboundId(d.inboundId);
    if (fired !== null) s.deleteFiredTimer.run(fired.correlationId, fired.name, fired.seq);
    for (const change of d.timers) {
      if (change.kind === 'clear') s.clearTimers.run(cid);
      else s.upsertTimer.run(cid, change.name, wf.vin, change.dueAt, change.seq);
    }
    for (const c of d.counters) s.addCounter.run(c.counter, c.by);
    return 'committed';
  }

  // Nested better-sqlite3 transactions are savepoints: a conflict rolls back only its decision.
  const commitInSavepoint = db.transaction(commitOne);
  const commitBatch = db.transaction((batch: DecisionCommit[]): CommitOutcome[] =>
    batch.map((d) => {
      try {
        return commitInSavepoint(d);
      } catch (err) {
        if (err === CONFLICT) return 'conflict';
        throw err;
      }
    }),
  );

  const markSentTx = db.transaction((ids: string[], now: number) => {
    const s = st().markSent;
    for (const id of ids) s.run(now, id);
  });

  const upsertVehiclesTx = db.transaction((vehicles: { vin: string; lastSampleAt: number | null }[], now: number) => {
    const s = st().upsertVehicle;
    for (const v of vehicles) s.run(v.vin, now, v.lastSampleAt ?? null, now);
  });

  const claimVehiclesTx = db.transaction((now: number, limit: number, nextCycleAt: number): string[] => {
    const s = st();
    const vins = s.selectDueVehicles.all(now, limit).map((r) => r.vin);
    for (const vin of vins) s.setNextCycle.run(nextCycleAt, vin);
    return vins;
  });

  const quarantineTx = db.transaction((samples: QuarantinedSample[]) => {
    const s = st().insertQuarantine;
    for (const q of samples) {
      const raw = q.raw.length > QUARANTINE_RAW_MAX_CHARS ? q.raw.slice(0, QUARANTINE_RAW_MAX_CHARS) : q.raw;
      s.run(q.receivedAt, q.vin ?? null, q.source, q.rejection.reason, q.rejection.field, q.rejection.message, raw);
    }
  });

  const countersTx = db.transaction((deltas: Record<string, number>) => {
    const s = st().addCounter;
    for (const [name, by] of Object.entries(deltas)) s.run(name, by);
  });

  function openWorkflows(vins: string[]): Map<string, Workflow> {
    const out = new Map<string, Workflow>();
    const unique = [...new Set(vins)];
    for (let i = 0; i < unique.length; i += MAX_IN_LIST) {
      const chunk = unique.slice(i, i + MAX_IN_LIST);
      const size = IN_LIST_SIZES.find((n) => n >= chunk.length) ?? MAX_IN_LIST;
      // Padding repeats a VIN already in the list, which IN ignores.
      const args = chunk.concat(new Array<string>(size - chunk.length).fill(chunk[0] ?? ''));
      for (const row of byShape<rows.DataRow>(plans.selectOpenWorkflows(size)).all(...args)) {
        const wf = rows.toWorkflow(row);
        out.set(wf.vin, wf);
      }
    }
    return out;
  }

  function list(filter: WorkflowFilter): WorkflowPage {
    const limit = pageLimit(filter.limit);
    const args: unknown[] = [];
    if (filter.state !== undefined) args.push(filter.state);
    if (filter.urgency !== undefined) args.push(filter.urgency);
    if (filter.cursor !== undefined) {
      const pos = decodeCursor(filter.cursor);
      args.push(pos.createdAt, pos.createdAt, pos.correlationId);
    }
    args.push(limit + 1);
    const sql = plans.listWorkflows({
      state: filter.state !== undefined,
      urgency: filter.urgency !== undefined,
      cursor: filter.cursor !== undefined,
    });
    const found = byShape<rows.ListRow>(sql).all(...args);
    const page = found.slice(0, limit);
    const last = page[page.length - 1];
    const nextCursor =
      found.length > limit && last !== undefined
        ? encodeCursor({ createdAt: last.created_at, correlationId: last.correlation_id })
        : null;
    return { items: page.map(rows.toWorkflow), nextCursor };
  }

  function countByState(): Record<WorkflowState, number> {
    const counts = Object.fromEntries(WORKFLOW_STATES.map((s) => [s, 0])) as Record<WorkflowState, number>;
    for (const r of st().countWorkflowsByState.all()) {
      if (r.state in counts) counts[r.state as WorkflowState] = r.n;
    }
    return counts;
  }

  return {
    async migrate(): Promise<void> {
      migrate(db);
    },
    async close(): Promise<void> {
      if (db.open) db.close();
    },
    async commitDecisions(batch: DecisionCommit[]): Promise<CommitOutcome[]> {
      if (batch.length === 0) return [];
      return commitBatch.immediate(batch);
    },
    async getWorkflow(correlationId: string): Promise<Workflow | null> {
      const row = st().selectWorkflow.get(correlationId);
      return row === undefined ? null : rows.toWorkflow(row);
    },
    async getCurrentWorkflow(vin: string): Promise<Workflow | null> {
      const row = st().selectCurrentWorkflow.get(vin);
      return row === undefined ? null : rows.toWorkflow(row);
    },
    async getOpenWorkflows(vins: string[]): Promise<Map<string, Workflow>> {
      return openWorkflows(vins);
    },
    async listWorkflows(filter: WorkflowFilter): Promise<WorkflowPage> {
      return list(filter);
    },
    async getTransitions(correlationId: string): Promise<Transition[]> {
      return st().selectTransitions.all(correlationId).map(rows.toTransition);
    },
    async claimOutbox(now: number, limit: number, leaseMs: number): Promise<OutboxRow[]> {
      if (limit < 1) return [];
      return st().claimOutbox.all(now + leaseMs, now, limit).sort(rows.byOutboxOrder).map(rows.toOutboxRow);
    },
    async markSent(messageIds: string[], now: number): Promise<void> {
      if (messageIds.length > 0) markSentTx.immediate(messageIds, now);
    },
    async claimDueTimers(now: number, limit: number, leaseMs: number): Promise<TimerRow[]> {
      if (limit < 1) return [];
      return st().claimDueTimers.all(now + leaseMs, now, now, limit).sort(rows.byTimerOrder).map(rows.toTimerRow);
    },
    async deleteTimer(correlationId, name): Promise<void> {
      st().deleteTimer.run(correlationId, name);
    },
    async upsertVehicles(vehicles, now): Promise<void> {
      if (vehicles.length > 0) upsertVehiclesTx.immediate(vehicles, now);
    },
    async claimDueVehicles(now: number, limit: number, nextCycleAt: number): Promise<string[]> {
      if (limit < 1) return [];
      return claimVehiclesTx.immediate(now, limit, nextCycleAt);
    },
    async countVehicles(): Promise<number> {
      return st().countVehicles.get()?.n ?? 0;
    },
    async quarantine(samples: QuarantinedSample[]): Promise<void> {
      if (samples.length > 0) quarantineTx.immediate(samples);
    },
    async listQuarantine(limit: number): Promise<QuarantinedSample[]> {
      return st().selectQuarantine.all(pageLimit(limit)).map(rows.toQuarantinedSample);
    },
    async incrementCounters(deltas: Record<string, number>): Promise<void> {
      countersTx.immediate(deltas);
    },
    async getCounters(): Promise<Record<string, number>> {
      const out: Record<string, number> = {};
      for (const r of st().selectCounters.all()) out[r.name] = r.value;
      return out;
    },
    async countWorkflowsByState(): Promise<Record<WorkflowState, number>> {
      return countByState();
    },
    async getMeta(key: string): Promise<string | null> {
      return st().selectMeta.get(key)?.value ?? null;
    },
    async setMeta(key: string, value: string): Promise<void> {
      st().upsertMeta.run(key, value);
    },
  };
}
