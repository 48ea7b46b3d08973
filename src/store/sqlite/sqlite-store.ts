/**
 * The embedded Store adapter on better-sqlite3 (DESIGN §2). better-sqlite3 is synchronous; the port
 * is async so a PostgreSQL adapter fits behind the same callers. Every statement is prepared once,
 * on first use after `migrate()`, and each multi-statement write runs as one IMMEDIATE transaction: it takes the
 * write lock up front, so a second process waits on busy_timeout instead of failing a lock upgrade.
 */
import Database from 'better-sqlite3';
import type { RejectionReason } from '../../core/telemetry.js';
import { WORKFLOW_STATES, type Transition, type Workflow, type WorkflowState } from '../../core/workflow.js';
import { decodeCursor, decodeLabelCursor, encodeCursor, encodeLabelCursor, pageLimit } from '../cursor.js';
import type {
  CommitOutcome,
  DecisionCommit,
  LabelCounts,
  LabelPage,
  LabelQuery,
  OutboxRow,
  PurgeResult,
  QuarantineResult,
  QuarantinedSample,
  Store,
  TimerRow,
  TransitionQuery,
  WorkflowFilter,
  WorkflowPage,
} from '../port.js';
import { StoreArgumentError } from '../errors.js';
import { rejectedCounter } from '../port.js';
import { parseTimerInboundId } from '../timer-inbound.js';
import { migrate } from './migrations.js';
export { SQLITE_CACHE_KIB } from './plans.js';
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
/** Rows per multi-row INSERT: beyond a few dozen the statement's own cost stops shrinking (measured). */
const MAX_TRANSITIONS_PER_INSERT = 32;
const MAX_OUTBOX_PER_INSERT = 16;
const MAX_LABELS_PER_INSERT = 16;
/**
 * Rows deleted per purge transaction. A chunk of ~1 KB outbox rows takes a few ms; between chunks the
 * write lock is free and the event loop runs, so commits are delayed by one chunk at most.
 */
export const PURGE_CHUNK_ROWS = 1000;

type Stmt<R = unknown> = Database.Statement<unknown[], R>;

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
    selectTransitions: p<rows.TransitionDbRow>(plans.selectTransitions),
    selectLatestTransitions: p<rows.TransitionDbRow>(plans.selectLatestTransitions),
    countTransitions: p<{ n: number }>(plans.countTransitions),
    claimOutbox: p<rows.OutboxDbRow>(plans.claimOutbox),
    markSent: p(plans.markSent),
    purgeSentOutbox: p(plans.purgeSentOutbox),
    upsertTimer: p(plans.upsertTimer),
    clearTimers: p(plans.clearTimers),
    deleteTimer: p(plans.deleteTimer),
    postponeTimers: p(plans.postponeTimers),
    claimDueTimers: p<rows.TimerDbRow>(plans.claimDueTimers),
    insertInbox: p(plans.insertInbox),
    deleteInbox: p(plans.deleteInbox),
    purgeInbox: p(plans.purgeInbox),
    addCounter: p(plans.addCounter),
    selectCounters: p<{ name: string; value: number }>(plans.selectCounters),
    upsertVehicle: p(plans.upsertVehicle),
    selectDueVehicles: p<{ vin: string }>(plans.selectDueVehicles),
    setNextCycle: p(plans.setNextCycle),
    countVehicles: p<{ n: number }>(plans.countVehicles),
    insertQuarantine: p(plans.insertQuarantine),
    selectQuarantine: p<rows.QuarantineDbRow>(plans.selectQuarantine),
    countLabelsByFinding: p<{ finding: string; n: number }>(plans.countLabelsByFinding),
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

  // Per-statement overhead dominates small inserts, so a batch's rows go in few multi-row statements.
  const multiRow = (plan: (count: number) => string) => {
    const cache: Stmt[] = [];
    return (count: number): Stmt => (cache[count] ??= db.prepare(plan(count)));
  };
  const transitionsStmt = multiRow(plans.insertTransitions);
  const outboxStmt = multiRow(plans.insertOutbox);
  const labelsStmt = multiRow(plans.insertLabels);

  /** Writes `rows` flattened `width` values a row, `perStatement` rows per multi-row INSERT. */
  function insertRows(stmt: (count: number) => Stmt, values: unknown[], width: number, perStatement: number): void {
    const total = values.length / width;
    for (let row = 0; row < total; row += perStatement) {
      const count = Math.min(perStatement, total - row);
      stmt(count).run(values.slice(row * width, (row + count) * width));
    }
  }

  function pushTransitions(into: unknown[], wf: Workflow, transitions: Transition[]): void {
    for (const t of transitions) into.push(wf.correlationId, wf.vin, t.fromState, t.toState, t.timestamp, t.reason);
  }

  function pushOutbox(into: unknown[], outbox: OutboxRow[]): void {
    for (const o of outbox) {
      into.push(
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
  }

  /**
   * One decision's refusable writes, inside the batch's transaction. It takes no SAVEPOINT of its own
   * (they cost a fifth of commit time, measured): the only writes that can refuse a decision, the
   * inbox row and the version-checked workflow row, come first, and a refusal undoes the inbox row by
   * hand, so a duplicate or a conflict leaves nothing behind and the batch's other decisions stand.
   * The rest of a committed decision (transitions, outbox, timers) is written by `writeAccepted` once
   * every decision of the batch is settled. Any other error fails the whole batch, as it would with
   * savepoints.
   */
  function acceptOne(d: DecisionCommit): CommitOutcome {
    const s = st();
    const inbound = d.inboundId;
    if (inbound !== undefined && s.insertInbox.run(inbound, d.workflow.updatedAt).changes === 0) return 'duplicate';
    if (!writeWorkflow(s, d)) {
      if (inbound !== undefined) s.deleteInbox.run(inbound);
      return 'conflict';
    }
    return 'committed';
  }

  /**
   * The dependent rows of the batch's committed decisions, in batch order, so one workflow's
   * transitions keep their order and a later decision's timers replace an earlier one's.
   */
  function writeAccepted(accepted: DecisionCommit[]): void {
    const s = st();
    const transitions: unknown[] = [];
    const outbox: unknown[] = [];
    const labels: unknown[] = [];
    for (const d of accepted) {
      pushTransitions(transitions, d.workflow, d.transitions);
      pushOutbox(outbox, d.outbox);
      for (const label of d.labels ?? []) labels.push(...rows.labelValues(label, d.workflow.updatedAt));
    }
    insertRows(transitionsStmt, transitions, plans.TRANSITION_COLUMNS, MAX_TRANSITIONS_PER_INSERT);
    insertRows(outboxStmt, outbox, plans.OUTBOX_COLUMNS, MAX_OUTBOX_PER_INSERT);
    insertRows(labelsStmt, labels, plans.LABEL_COLUMNS, MAX_LABELS_PER_INSERT);
    for (const d of accepted) {
      const wf = d.workflow;
      const cid = wf.correlationId;
      // A timer-caused decision deletes its timer before applying the decision's own timer changes,
      // which may set a timer of the same name again: that new timer must stay.
      const fired = parseTimerInboundId(d.inboundId);
      if (fired !== null) s.deleteTimer.run(fired.correlationId, fired.name, fired.seq);
      let cleared = false;
      for (const change of d.timers) {
        if (change.kind === 'clear') {
          // A second clear with no set between finds nothing left to delete.
          if (!cleared) s.clearTimers.run(cid);
          cleared = true;
        } else {
          s.upsertTimer.run(cid, change.name, wf.vin, change.dueAt, change.seq);
          cleared = false;
        }
      }
    }
  }

  /** False when the decision was made from a version that is no longer current. */
  function writeWorkflow(s: Statements, d: DecisionCommit): boolean {
    const wf = d.workflow;
    const data = JSON.stringify(wf);
    // DO NOTHING covers both the primary key and the one-open-workflow-per-VIN index.
    if (d.expectedVersion === 0) {
      return (
        s.insertWorkflow.run(
          wf.correlationId,
          wf.vin,
          wf.state,
          wf.urgency,
          wf.version,
          wf.createdAt,
          wf.updatedAt,
          data,
        ).changes > 0
      );
    }
    try {
      return (
        s.updateWorkflow.run(wf.state, wf.urgency, wf.version, wf.updatedAt, data, wf.correlationId, d.expectedVersion)
          .changes > 0
      );
    } catch (err) {
      // SQLite undoes the failed statement itself; nothing else of the decision is written yet.
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  const commitBatch = db.transaction((batch: DecisionCommit[]): CommitOutcome[] => {
    // Counters are summed over the batch and written once per name: every committed decision of a
    // batch bumps the same few rows, and the one transaction keeps them atomic with the decisions.
    const counters = new Map<string, number>();
    const accepted: DecisionCommit[] = [];
    const outcomes = batch.map((d): CommitOutcome => {
      const outcome = acceptOne(d);
      if (outcome === 'committed') {
        accepted.push(d);
        for (const c of d.counters) counters.set(c.counter, (counters.get(c.counter) ?? 0) + c.by);
      }
      return outcome;
    });
    writeAccepted(accepted);
    const add = st().addCounter;
    for (const [name, by] of counters) add.run(name, by);
    return outcomes;
  });

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

  // Counted in the insert's transaction, new rows only: stored and counted together, each key once.
  const quarantineTx = db.transaction((samples: QuarantinedSample[]): QuarantineResult => {
    const s = st();
    const result: QuarantineResult = { stored: 0, byReason: {} };
    for (const q of samples) {
      const raw = q.raw.length > QUARANTINE_RAW_MAX_CHARS ? q.raw.slice(0, QUARANTINE_RAW_MAX_CHARS) : q.raw;
      const r = q.rejection;
      if (s.insertQuarantine.run(q.key, q.receivedAt, q.vin ?? null, q.source, r.reason, r.field, r.message, raw).changes === 0)
        continue;
      result.stored += 1;
      result.byReason[r.reason] = (result.byReason[r.reason] ?? 0) + 1;
    }
    for (const [reason, n] of Object.entries(result.byReason)) s.addCounter.run(rejectedCounter(reason as RejectionReason), n);
    return result;
  });

  const countersTx = db.transaction((deltas: Record<string, number>) => {
    const s = st().addCounter;
    for (const [name, by] of Object.entries(deltas)) s.run(name, by);
  });

  /**
   * Deletes in chunks of PURGE_CHUNK_ROWS, each its own IMMEDIATE transaction, yielding to the event
   * loop between them: better-sqlite3 is synchronous, so one big DELETE would stall this process's
   * commits as well as hold the lock against other processes.
   */
  async function purgeInChunks(stmt: () => Stmt, before: number): Promise<number> {
    const chunk = db.transaction((): number => stmt().run(before, PURGE_CHUNK_ROWS).changes);
    let total = 0;
    for (;;) {
      if (!db.open) return total;
      const deleted = chunk.immediate();
      total += deleted;
      if (deleted < PURGE_CHUNK_ROWS) return total;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

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
      args.push(pos.createdAt, pos.correlationId);
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

  function listLabelPage(query: LabelQuery): LabelPage {
    const limit = pageLimit(query.limit);
    const args: unknown[] = [];
    if (query.since !== undefined) {
      if (!Number.isFinite(query.since)) throw new StoreArgumentError(`since must be a finite epoch ms, got ${query.since}`);
      args.push(query.since);
    }
    if (query.cursor !== undefined) {
      const pos = decodeLabelCursor(query.cursor);
      args.push(pos.servicedAt, pos.correlationId, pos.component);
    }
    args.push(limit + 1);
    const sql = plans.listLabels({ since: query.since !== undefined, cursor: query.cursor !== undefined });
    const found = byShape<rows.LabelDbRow>(sql).all(...args);
    const page = found.slice(0, limit);
    const last = page[page.length - 1];
    const nextCursor =
      found.length > limit && last !== undefined
        ? encodeLabelCursor({ servicedAt: last.serviced_at, correlationId: last.correlation_id, component: last.component })
        : null;
    return { items: page.map(rows.toServiceLabel), nextCursor };
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
    async getTransitions(correlationId: string, opts: TransitionQuery = {}): Promise<Transition[]> {
      const s = st();
      const found =
        opts.limit === undefined
          ? s.selectTransitions.all(correlationId)
          : s.selectLatestTransitions.all(correlationId, pageLimit(opts.limit, Number.MAX_SAFE_INTEGER));
      return found.map(rows.toTransition);
    },
    async countTransitions(correlationId: string): Promise<number> {
      return st().countTransitions.get(correlationId)?.n ?? 0;
    },
    async claimOutbox(now: number, limit: number, leaseMs: number): Promise<OutboxRow[]> {
      if (limit < 1) return [];
      return st()
        .claimOutbox.all(now + leaseMs, now, limit)
        .sort(rows.byOutboxOrder)
        .map(rows.toOutboxRow);
    },
    async markSent(messageIds: string[], now: number): Promise<void> {
      if (messageIds.length > 0) markSentTx.immediate(messageIds, now);
    },
    async claimDueTimers(now: number, limit: number, leaseMs: number): Promise<TimerRow[]> {
      if (limit < 1) return [];
      return st()
        .claimDueTimers.all(now + leaseMs, now, now, limit)
        .sort(rows.byTimerOrder)
        .map(rows.toTimerRow);
    },
    async deleteTimer(correlationId, name, seq): Promise<void> {
      st().deleteTimer.run(correlationId, name, seq);
    },
    async postponeTimers(name, states, until): Promise<number> {
      if (states.length === 0) return 0;
      return st().postponeTimers.run(until, name, until, JSON.stringify(states)).changes;
    },
    async purge(before: number): Promise<PurgeResult> {
      return {
        outbox: await purgeInChunks(() => st().purgeSentOutbox, before),
        inbox: await purgeInChunks(() => st().purgeInbox, before),
      };
    },
    async listLabels(query: LabelQuery): Promise<LabelPage> {
      return listLabelPage(query);
    },
    async countLabels(): Promise<LabelCounts> {
      const counts: LabelCounts = { confirmed: 0, not_found: 0 };
      for (const r of st().countLabelsByFinding.all()) {
        if (r.finding === 'confirmed' || r.finding === 'not_found') counts[r.finding] = r.n;
      }
      return counts;
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
    async quarantine(samples: QuarantinedSample[]): Promise<QuarantineResult> {
      if (samples.length === 0) return { stored: 0, byReason: {} };
      return quarantineTx.immediate(samples);
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
