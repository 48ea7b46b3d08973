/**
 * The imperative shell around `decide`: load, decide, and persist the decision with its effects in one
 * store transaction, shared with the other vehicles' decisions of the same tick (group commit).
 * Decisions for one vehicle are serialised in-process; across processes, each vehicle is decided by
 * the instance holding its VIN's partition, a decision commits only under the partition epoch it was
 * made with (`partitionEpoch` hook), and the workflow's optimistic version check catches any race left:
 * the decision is made again.
 */
import type { Clock } from '../core/clock.js';
import { decide } from '../core/decider.js';
import { correlationIdFor } from '../core/ids.js';
import {
  newWorkflow,
  type Decision,
  type Workflow,
  type WorkflowConfig,
  type WorkflowEvent,
} from '../core/workflow.js';
import type { ServiceLabel } from '../core/payloads.js';
import { newMessageId } from '../bus/signing.js';
import type { CommitOutcome, DecisionCommit, FiredTimer, OutboxRow, Store, TimerChange } from '../store/port.js';

export const INTERNAL_FETCH_CHANNEL = 'internal.telemetry.fetch';

export interface ApplyTarget {
  vin: string;
  /** Apply to this workflow only; without it, to the VIN's open workflow. */
  correlationId?: string;
  /** Open a new workflow when the VIN has none open (analysis cycles). */
  createIfMissing?: boolean;
}

export interface ApplyMeta {
  /** Id of the message (or timer, or API request) that caused the event: applied at most once. */
  inboundId?: string;
  /** The timer whose firing caused the event: deleted when the decision commits. */
  firedTimer?: FiredTimer;
  causationId?: string | null;
  /** The vehicle's analysis memory the event brought (an analysis result): kept when the decision commits. */
  analysisMemory?: string | null;
}

export type ApplyResult =
  | { status: 'applied'; decision: Decision; previous: Workflow }
  | { status: 'ignored'; reason: string; workflow: Workflow | null }
  /** The input contradicts the case it names (wrong VIN, appointment or date): nothing changed. */
  | { status: 'refused'; reason: string; workflow: Workflow }
  | { status: 'duplicate' }
  /** This instance does not hold (or no longer holds) the vehicle's partition: nothing decided, nothing changed. */
  | { status: 'fenced' };

export interface ApplierHooks {
  /** After a decision is committed. */
  onCommitted?(decision: Decision, previous: Workflow): void;
  /**
   * The epoch of the VIN's partition while this instance holds it, else undefined. When given, a
   * vehicle whose partition is not held is not decided at all, and a decision commits only while its
   * partition keeps that epoch (DecisionCommit.partitionEpoch); either way the apply is `fenced`.
   */
  partitionEpoch?(vin: string): number | undefined;
}

const MAX_CONFLICT_RETRIES = 5;

/** One apply() waiting for the next group commit. */
interface Pending {
  target: ApplyTarget;
  event: WorkflowEvent;
  meta: ApplyMeta;
  attempt: number;
  resolve(result: ApplyResult): void;
  reject(err: unknown): void;
}

/** A pending apply() with the decision made for it, ready to commit. */
interface Decided {
  job: Pending;
  loaded: Workflow;
  decision: Decision;
  commit: DecisionCommit;
}

export class DecisionApplier {
  private readonly locks = new Map<string, Promise<unknown>>();
  private queue: Pending[] = [];
  private flushing = false;
  private flushScheduled = false;

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly config: WorkflowConfig,
    private readonly hooks: ApplierHooks = {},
  ) {}

  /**
   * Group commit: apply() calls for different vehicles that arrive in the same tick are loaded,
   * decided and committed together, in one store transaction, instead of one transaction each.
   * Calls for one vehicle still run one after another (the per-VIN lock), so a batch never holds two
   * decisions for the same VIN.
   */
  apply(target: ApplyTarget, event: WorkflowEvent, meta: ApplyMeta = {}): Promise<ApplyResult> {
    return this.withLock(
      target.vin,
      () =>
        new Promise<ApplyResult>((resolve, reject) => {
          this.enqueue({ target, event, meta, attempt: 0, resolve, reject });
        }),
    );
  }

  private enqueue(job: Pending): void {
    this.queue.push(job);
    this.scheduleFlush();
  }

  /**
   * A microtask, so every apply() started in the current tick joins the batch. While a batch is
   * being written the next one only gathers; it is flushed when the write returns.
   */
  private scheduleFlush(): void {
    if (this.flushScheduled || this.flushing) return;
    this.flushScheduled = true;
    queueMicrotask(() => {
      this.flushScheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.flushing || this.queue.length === 0) return;
    this.flushing = true;
    const jobs = this.queue;
    this.queue = [];
    try {
      await this.runBatch(jobs);
    } catch (err) {
      for (const job of jobs) job.reject(err);
    } finally {
      this.flushing = false;
      if (this.queue.length > 0) this.scheduleFlush();
    }
  }

  private async runBatch(all: Pending[]): Promise<void> {
    const now = this.clock.now();
    const jobs: Pending[] = [];
    const epochs: (number | undefined)[] = [];
    for (const job of all) {
      const epoch = this.hooks.partitionEpoch?.(job.target.vin);
      if (this.hooks.partitionEpoch && epoch === undefined) job.resolve({ status: 'fenced' });
      else {
        jobs.push(job);
        epochs.push(epoch);
      }
    }
    if (jobs.length === 0) return;
    const loaded = await this.loadAll(jobs, now);
    const decided: Decided[] = [];
    for (const [i, job] of jobs.entries()) {
      const wf = loaded[i] ?? null;
      if (!wf) {
        job.resolve({
          status: 'ignored',
          reason: `no workflow for ${job.target.correlationId ?? job.target.vin}`,
          workflow: null,
        });
        continue;
      }
      let decision: Decision;
      try {
        decision = decide(wf, job.event, now, this.config);
      } catch (err) {
        job.reject(err);
        continue;
      }
      if (decision.refused !== undefined) {
        job.resolve({ status: 'refused', reason: decision.refused, workflow: wf });
        continue;
      }
      if (decision.ignored !== undefined || decision.workflow.version === wf.version) {
        job.resolve({ status: 'ignored', reason: decision.ignored ?? 'no change', workflow: wf });
        continue;
      }
      const commit = commitOf(wf, decision, now, job.meta, () => newMessageId(this.clock));
      const epoch = epochs[i];
      if (epoch !== undefined) commit.partitionEpoch = epoch;
      decided.push({ job, loaded: wf, decision, commit });
    }
    if (decided.length === 0) return;
    const outcomes = await this.commitAll(decided);
    for (const [i, d] of decided.entries()) {
      const outcome = outcomes[i];
      if (outcome instanceof Error) d.job.reject(outcome);
      else if (outcome === 'committed') this.settleCommitted(d);
      else if (outcome === 'duplicate') d.job.resolve({ status: 'duplicate' });
      else if (outcome === 'fenced') d.job.resolve({ status: 'fenced' });
      // conflict: another process moved the workflow on; decide again on what it wrote.
      else if (d.job.attempt + 1 < MAX_CONFLICT_RETRIES) this.enqueue({ ...d.job, attempt: d.job.attempt + 1 });
      else d.job.reject(new Error(`workflow of ${d.job.target.vin} kept changing under ${MAX_CONFLICT_RETRIES} attempts`));
    }
  }

  private settleCommitted(d: Decided): void {
    try {
      this.hooks.onCommitted?.(d.decision, d.loaded);
      d.job.resolve({ status: 'applied', decision: d.decision, previous: d.loaded });
    } catch (err) {
      d.job.reject(err);
    }
  }

  /**
   * Commits the batch in one transaction. If that throws, each decision is committed alone, so
   * one bad decision fails only its own apply() and not its neighbours'.
   */
  private async commitAll(decided: Decided[]): Promise<(CommitOutcome | Error)[]> {
    try {
      return await this.store.commitDecisions(decided.map((d) => d.commit));
    } catch (err) {
      if (decided.length === 1) return [err instanceof Error ? err : new Error(String(err))];
      const out: (CommitOutcome | Error)[] = [];
      for (const d of decided) {
        try {
          const [outcome] = await this.store.commitDecisions([d.commit]);
          out.push(outcome ?? new Error('store returned no outcome'));
        } catch (e) {
          out.push(e instanceof Error ? e : new Error(String(e)));
        }
      }
      return out;
    }
  }

  /**
   * The workflow each job applies to, in job order. One `getOpenWorkflows` query serves most of the
   * batch; a job for a closed workflow, or a VIN with none open, falls back to a single lookup.
   */
  private async loadAll(jobs: Pending[], now: number): Promise<(Workflow | null)[]> {
    const open = await this.store.getOpenWorkflows(jobs.map((j) => j.target.vin));
    return Promise.all(
      jobs.map(async ({ target }): Promise<Workflow | null> => {
        const wf = open.get(target.vin);
        if (target.correlationId) {
          if (wf && wf.correlationId === target.correlationId) return wf;
          return this.store.getWorkflow(target.correlationId);
        }
        if (wf) return wf;
        if (!target.createIfMissing) return null;
        const current = await this.store.getCurrentWorkflow(target.vin);
        if (current && current.state !== 'completed') return current;
        return newWorkflow(target.vin, correlationIdFor(target.vin, now), now, current);
      }),
    );
  }

  private async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(key, tail);
    try {
      return await run;
    } finally {
      if (this.locks.get(key) === tail) this.locks.delete(key);
    }
  }
}

/**
 * What a decision writes: outbox rows (bus messages and internal fetches), timer changes, counters,
 * and training labels.
 * `newId` gives each outbox row its message id now, so a re-send after a crash keeps it.
 */
export function commitOf(
  previous: Workflow,
  decision: Decision,
  now: number,
  meta: ApplyMeta,
  newId: () => string,
): DecisionCommit {
  const outbox: OutboxRow[] = [];
  const timers: TimerChange[] = [];
  const counters: DecisionCommit['counters'] = [];
  const labels: ServiceLabel[] = [];
  const cid = decision.workflow.correlationId;
  for (const e of decision.effects) {
    switch (e.kind) {
      case 'publish':
        // Not kept in the outbox: the shell that caused the decision publishes it after the commit.
        if (e.durable === false) break;
        outbox.push({
          messageId: newId(),
          correlationId: cid,
          key: e.key,
          channel: e.channel,
          messageType: e.messageType,
          receiver: e.receiver,
          priority: e.priority,
          payload: e.payload,
          createdAt: now,
          causationId: meta.causationId ?? null,
        });
        break;
      case 'fetch_telemetry':
        outbox.push({
          messageId: newId(),
          correlationId: cid,
          key: e.key,
          channel: INTERNAL_FETCH_CHANNEL,
          messageType: 'fetch_telemetry',
          receiver: 'orchestrator',
          priority: 1,
          payload: { vin: e.vin, since: e.since },
          createdAt: now,
          causationId: meta.causationId ?? null,
        });
        break;
      case 'set_timer':
        timers.push({ kind: 'set', name: e.name, dueAt: e.dueAt, seq: e.seq });
        break;
      case 'clear_timers':
        timers.push({ kind: 'clear' });
        break;
      case 'count':
        counters.push({ counter: e.counter, by: e.by });
        break;
      case 'record_labels':
        labels.push(...e.labels);
        break;
      default: {
        const _exhaustive: never = e;
        throw new Error(`unknown effect ${JSON.stringify(_exhaustive)}`);
      }
    }
  }
  return {
    workflow: decision.workflow,
    expectedVersion: previous.version,
    transitions: decision.transitions,
    outbox,
    timers,
    counters,
    ...(meta.inboundId ? { inboundId: meta.inboundId } : {}),
    ...(meta.firedTimer ? { firedTimer: meta.firedTimer } : {}),
    ...(meta.analysisMemory !== undefined ? { analysisMemory: meta.analysisMemory } : {}),
    ...(labels.length > 0 ? { labels } : {}),
  };
}
