/**
 * Every Store port written once over a SQL adapter's plans and database (dialect.ts, plan.ts): the
 * adapters differ only in their SQL, how they run it, and their migrations. Multi-statement writes
 * run in one transaction; reads and single-statement writes (the claims are one UPDATE each) run on
 * their own.
 */
import type { RejectionReason } from '../core/telemetry.js';
import { WORKFLOW_STATES, type Workflow, type WorkflowState } from '../core/workflow.js';
import { commitBatch } from './commit.js';
import { checkLease, leaseWork } from './leases.js';
import { decodeCursor, decodeLabelCursor, encodeCursor, encodeLabelCursor, pageLimit } from './cursor.js';
import type { Dialect, StorePlans } from './dialect.js';
import { StoreArgumentError } from './errors.js';
import { run, runAll, type Plan, type Work } from './plan.js';
import {
  rejectedCounter,
  type LabelCounts,
  type QuarantineResult,
  type QuarantinedSample,
  type Store,
} from './port.js';
import * as rows from './rows.js';

/** Quarantined input is kept for diagnosis, not replay; a few KB show what was wrong. */
export const QUARANTINE_RAW_MAX_CHARS = 4096;
/**
 * Rows deleted per purge transaction. A chunk of ~1 KB outbox rows takes a few ms; between chunks the
 * write lock is free and the event loop runs, so commits are delayed by one chunk at most.
 */
export const PURGE_CHUNK_ROWS = 1000;

export function createSqlStore(dialect: Dialect): Store {
  const { plans: p, db } = dialect;

  /**
   * Deletes in chunks of PURGE_CHUNK_ROWS, each its own transaction, yielding to the event loop
   * between them: one big DELETE would hold the write lock for long (and, in SQLite, which is
   * synchronous, stall this process's commits too).
   */
  async function purgeInChunks(plan: (before: number, limit: number) => Plan, before: number): Promise<number> {
    let total = 0;
    for (;;) {
      if (!db.open) return total;
      const deleted = await db.transaction(() => changesOf(plan(before, PURGE_CHUNK_ROWS)));
      total += deleted;
      if (deleted < PURGE_CHUNK_ROWS) return total;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  return {
    migrate: () => dialect.migrate(),
    close: () => dialect.close(),

    async commitDecisions(batch) {
      if (batch.length === 0) return [];
      return db.transaction(() => commitBatch(p, batch));
    },
    async getWorkflow(correlationId) {
      return db.query(() => first(p.selectWorkflow(correlationId), rows.toWorkflow));
    },
    async getCurrentWorkflow(vin) {
      return db.query(() => first(p.selectCurrentWorkflow(vin), rows.toWorkflow));
    },
    async getOpenWorkflows(vins) {
      const unique = [...new Set(vins)];
      const found = unique.length === 0 ? [] : await db.query(() => all(p.selectOpenWorkflows(unique)));
      const out = new Map<string, Workflow>();
      for (const row of found) {
        const wf = rows.toWorkflow(row);
        out.set(wf.vin, wf);
      }
      return out;
    },
    async listWorkflows(filter) {
      const limit = pageLimit(filter.limit);
      const plan = p.listWorkflows({
        limit: limit + 1,
        ...(filter.state !== undefined ? { state: filter.state } : {}),
        ...(filter.urgency !== undefined ? { urgency: filter.urgency } : {}),
        ...(filter.cursor !== undefined ? { after: decodeCursor(filter.cursor) } : {}),
      });
      const found = await db.query(() => all([plan]));
      const page = pageOf(found, limit, (last) =>
        encodeCursor({ createdAt: last.created_at, correlationId: last.correlation_id }),
      );
      return { items: page.rows.map(rows.toWorkflow), nextCursor: page.nextCursor };
    },
    async getTransitions(correlationId, opts = {}) {
      const latest = opts.limit === undefined ? undefined : pageLimit(opts.limit, Number.MAX_SAFE_INTEGER);
      const found = await db.query(() => all([p.selectTransitions(correlationId, latest)]));
      return found.map(rows.toTransition);
    },
    async countTransitions(correlationId) {
      return db.query(() => count(p.countTransitions(correlationId)));
    },
    async countWorkflowsByState() {
      const counts = Object.fromEntries(WORKFLOW_STATES.map((s) => [s, 0])) as Record<WorkflowState, number>;
      for (const r of await db.query(() => all([p.countWorkflowsByState()]))) {
        if (r.state in counts) counts[r.state as WorkflowState] = r.n;
      }
      return counts;
    },

    async claimOutbox(now, limit, leaseMs, partitions) {
      if (limit < 1 || partitions?.length === 0) return [];
      const found = await db.query(() => all([p.claimOutbox(now, now + leaseMs, limit, partitions)]));
      // The claim's UPDATE … RETURNING gives no order of its own.
      return found.sort(rows.byOutboxOrder).map(rows.toOutboxRow);
    },
    async markSent(messageIds, now) {
      if (messageIds.length > 0) await db.transaction(() => changesOf(...p.markSent(messageIds, now)));
    },

    async claimDueTimers(now, limit, leaseMs, partitions) {
      if (limit < 1 || partitions?.length === 0) return [];
      const found = await db.query(() => all([p.claimDueTimers(now, now + leaseMs, limit, partitions)]));
      return found.sort(rows.byTimerOrder).map(rows.toTimerRow);
    },
    async deleteTimer(correlationId, name, seq) {
      await db.query(() => changesOf(...p.deleteTimers([{ correlationId, name, seq }])));
    },
    async postponeTimers(name, states, until) {
      if (states.length === 0) return 0;
      return db.query(() => changesOf(p.postponeTimers(name, states, until)));
    },

    async purge(before) {
      return {
        outbox: await purgeInChunks(p.purgeSentOutbox, before),
        inbox: await purgeInChunks(p.purgeInbox, before),
      };
    },

    async listLabels(query) {
      const limit = pageLimit(query.limit);
      if (query.since !== undefined && !Number.isFinite(query.since)) {
        throw new StoreArgumentError(`since must be a finite epoch ms, got ${query.since}`);
      }
      const plan = p.listLabels({
        limit: limit + 1,
        ...(query.since !== undefined ? { since: query.since } : {}),
        ...(query.cursor !== undefined ? { after: decodeLabelCursor(query.cursor) } : {}),
      });
      const found = await db.query(() => all([plan]));
      const page = pageOf(found, limit, (last) =>
        encodeLabelCursor({
          servicedAt: last.serviced_at,
          correlationId: last.correlation_id,
          component: last.component,
        }),
      );
      return { items: page.rows.map(rows.toServiceLabel), nextCursor: page.nextCursor };
    },
    async countLabels() {
      const counts: LabelCounts = { confirmed: 0, not_found: 0 };
      for (const r of await db.query(() => all([p.countLabelsByFinding()]))) {
        if (r.finding === 'confirmed' || r.finding === 'not_found') counts[r.finding] = r.n;
      }
      return counts;
    },

    async upsertVehicles(vehicles, now) {
      if (vehicles.length > 0) await db.transaction(() => changesOf(...p.upsertVehicles(vehicles, now)));
    },
    async claimDueVehicles(now, limit, nextCycleAt, partitions) {
      if (limit < 1 || partitions?.length === 0) return [];
      return db.transaction(function* claim(): Work<string[]> {
        const vins = (yield* run(p.selectDueVehicles(now, limit, partitions))).rows.map((r) => r.vin);
        if (vins.length > 0) yield* runAll(p.setNextCycle(vins, nextCycleAt));
        return vins;
      });
    },
    async countVehicles() {
      return db.query(() => count(p.countVehicles()));
    },
    async getAnalysisMemory(vin) {
      return db.query(() => first(p.selectAnalysisMemory(vin), (r) => r.memory)).then((m) => m ?? null);
    },

    async quarantine(samples) {
      if (samples.length === 0) return { stored: 0, byReason: {} };
      return db.transaction(() => quarantineWork(p, samples));
    },
    async listQuarantine(limit) {
      const found = await db.query(() => all([p.selectQuarantine(pageLimit(limit))]));
      return found.map(rows.toQuarantinedSample);
    },

    async incrementCounters(deltas) {
      const entries = Object.entries(deltas);
      if (entries.length > 0) await db.transaction(() => changesOf(...p.addCounters(entries)));
    },
    async getCounters() {
      const out: Record<string, number> = {};
      for (const r of await db.query(() => all([p.selectCounters()]))) out[r.name] = r.value;
      return out;
    },

    async leasePartitions(owner, now, ttlMs) {
      checkLease(owner, ttlMs);
      return db.transaction(() => leaseWork(p, owner, now, ttlMs));
    },
    async releasePartitions(owner) {
      await db.transaction(() => changesOf(...p.releaseLeases(owner, 'all'), p.deleteLeaseMember(owner)));
    },

    async park(events) {
      if (events.length === 0) return 0;
      return db.transaction(() => changesOf(...p.insertParked(events)));
    },
    async claimParked(partitions, now, limit, leaseMs) {
      if (limit < 1 || partitions.length === 0) return [];
      const found = await db.query(() => all([p.claimParked(partitions, now, now + leaseMs, limit)]));
      return found.sort(rows.byParkedOrder).map(rows.toParkedEvent);
    },
    async deleteParked(inboundIds) {
      if (inboundIds.length > 0) await db.transaction(() => changesOf(...p.deleteParked(inboundIds)));
    },

    async getMeta(key) {
      return db.query(() => first(p.selectMeta(key), (r) => r.value));
    },
    async setMeta(key, value) {
      await db.query(() => changesOf(p.upsertMeta(key, value)));
    },
  };
}

/** Stored and counted in one transaction, new keys only: each sample stored and counted once. */
function* quarantineWork(p: StorePlans, samples: readonly QuarantinedSample[]): Work<QuarantineResult> {
  const result: QuarantineResult = { stored: 0, byReason: {} };
  for (const q of samples) {
    const raw = q.raw.length > QUARANTINE_RAW_MAX_CHARS ? q.raw.slice(0, QUARANTINE_RAW_MAX_CHARS) : q.raw;
    if ((yield* run(p.insertQuarantine({ ...q, raw }))).changes === 0) continue;
    const reason = q.rejection.reason;
    result.stored += 1;
    result.byReason[reason] = (result.byReason[reason] ?? 0) + 1;
  }
  const counted = Object.entries(result.byReason).map(
    ([reason, n]) => [rejectedCounter(reason as RejectionReason), n] as const,
  );
  if (counted.length > 0) yield* runAll(p.addCounters(counted));
  return result;
}

/** A page of `limit` rows from `found` (read with limit + 1), and the cursor after it if there is more. */
function pageOf<R>(
  found: R[],
  limit: number,
  cursorAfter: (last: R) => string,
): { rows: R[]; nextCursor: string | null } {
  const page = found.slice(0, limit);
  const last = page[page.length - 1];
  return { rows: page, nextCursor: found.length > limit && last !== undefined ? cursorAfter(last) : null };
}

function* all<R>(plans: readonly Plan<R>[]): Work<R[]> {
  return (yield* runAll(plans)).rows;
}

function* first<R, T>(plan: Plan<R>, map: (row: R) => T): Work<T | null> {
  const row = (yield* run(plan)).rows[0];
  return row === undefined ? null : map(row);
}

function* count(plan: Plan<rows.CountRow>): Work<number> {
  return (yield* run(plan)).rows[0]?.n ?? 0;
}

function* changesOf(...plans: Plan[]): Work<number> {
  return (yield* runAll(plans)).changes;
}
