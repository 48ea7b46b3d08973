/**
 * The imperative shell around `decide`: load, decide, and persist the decision with its effects in one
 * store transaction. Decisions for one vehicle are serialised in-process; across processes the
 * workflow's optimistic version check catches the race and the decision is made again.
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
import { newMessageId } from '../bus/signing.js';
import type { DecisionCommit, OutboxRow, Store, TimerChange } from '../store/port.js';

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
  causationId?: string | null;
}

export type ApplyResult =
  | { status: 'applied'; decision: Decision; previous: Workflow }
  | { status: 'ignored'; reason: string; workflow: Workflow | null }
  | { status: 'duplicate' };

export interface ApplierHooks {
  /** After a decision is committed. */
  onCommitted?(decision: Decision, previous: Workflow): void;
}

const MAX_CONFLICT_RETRIES = 5;

export class DecisionApplier {
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly config: WorkflowConfig,
    private readonly hooks: ApplierHooks = {},
  ) {}

  apply(target: ApplyTarget, event: WorkflowEvent, meta: ApplyMeta = {}): Promise<ApplyResult> {
    return this.withLock(target.vin, () => this.applyLocked(target, event, meta));
  }

  private async applyLocked(target: ApplyTarget, event: WorkflowEvent, meta: ApplyMeta): Promise<ApplyResult> {
    for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
      const now = this.clock.now();
      const loaded = await this.load(target, now);
      if (!loaded)
        return { status: 'ignored', reason: `no workflow for ${target.correlationId ?? target.vin}`, workflow: null };
      const decision = decide(loaded, event, now, this.config);
      if (decision.ignored !== undefined || decision.workflow.version === loaded.version) {
        return { status: 'ignored', reason: decision.ignored ?? 'no change', workflow: loaded };
      }
      const commit = commitOf(loaded, decision, now, meta, () => newMessageId(this.clock));
      const [outcome] = await this.store.commitDecisions([commit]);
      if (outcome === 'committed') {
        this.hooks.onCommitted?.(decision, loaded);
        return { status: 'applied', decision, previous: loaded };
      }
      if (outcome === 'duplicate') return { status: 'duplicate' };
      // conflict: another process moved the workflow on; decide again on what it wrote.
    }
    throw new Error(`workflow of ${target.vin} kept changing under ${MAX_CONFLICT_RETRIES} attempts`);
  }

  private async load(target: ApplyTarget, now: number): Promise<Workflow | null> {
    if (target.correlationId) return this.store.getWorkflow(target.correlationId);
    const current = await this.store.getCurrentWorkflow(target.vin);
    if (current && current.state !== 'completed') return current;
    return target.createIfMissing ? newWorkflow(target.vin, correlationIdFor(target.vin, now), now, current) : null;
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
 * What a decision writes: outbox rows (bus messages and internal fetches), timer changes, counters.
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
  const cid = decision.workflow.correlationId;
  for (const e of decision.effects) {
    switch (e.kind) {
      case 'publish':
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
          payload: { vin: e.vin },
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
  };
}
