/**
 * The commit algorithm, written once for every adapter (DESIGN §3): a batch of decisions is persisted
 * in one transaction, each decision whole or not at all, and a refused decision does not roll back
 * the others.
 *
 * First, a decision made under a partition epoch (DecisionCommit.partitionEpoch) that its VIN's
 * partition no longer has is `fenced`: another instance holds the vehicle now. The epochs read stay
 * locked until the commit ends, so a takeover cannot slip in between the check and the writes.
 *
 * Then, for each decision, in batch order:
 * 1. its inbound id is recorded; one seen before makes the decision a `duplicate`;
 * 2. its workflow row is written only from the version it was decided on (optimistic check), and a
 *    new workflow only if its id is new and its VIN has no other open workflow; otherwise it is a
 *    `conflict` and its inbound id is forgotten again, so the message can be decided afresh;
 * 3. a committed decision's transitions, outbox rows (an existing effect key is skipped), training
 *    labels and timer changes are written: first the timer that fired it is deleted if it still has
 *    the seq it fired with, then the decision's own clears and sets, which may set it again;
 * 4. the counters of every committed decision are summed and added once per name, at the end.
 *
 * The steps take no savepoint of their own (in SQLite they cost a fifth of commit time, measured):
 * the only writes that can refuse a decision, the inbox row and the version-checked workflow row,
 * come first, and a refusal undoes the inbox row by hand, so a refused decision leaves nothing
 * behind. Any other error fails the whole batch.
 *
 * Decisions are settled in rounds: a run of consecutive decisions that share no workflow, VIN or
 * inbound id, so no decision of a round can depend on another's writes. Each step then runs once
 * for the whole round (one multi-row statement, or a few), which in PostgreSQL is a handful of
 * round trips per batch instead of several per decision. A batch from the orchestrator is one round:
 * it never holds two decisions of one VIN. A batch that does is split where it repeats, and behaves
 * exactly as if its decisions were committed one after another.
 */
import type { TimerName } from '../core/workflow.js';
import type { AnalysisMemoryRecord, CommitPlans, LabelRecord, OutboxRecord, TimerKey, TransitionRecord } from './dialect.js';
import { partitionOf } from './partition.js';
import { runAll, runGuarded, type Plan, type Work } from './plan.js';
import type { CommitOutcome, DecisionCommit, TimerRow } from './port.js';
import type { Outcome } from './plan.js';

interface Indexed {
  index: number;
  commit: DecisionCommit;
}

type Step<T> = Generator<Plan, T, Outcome>;

export function* commitBatch(plans: CommitPlans, batch: readonly DecisionCommit[]): Work<CommitOutcome[]> {
  const outcomes = new Array<CommitOutcome>(batch.length);
  const counters = new Map<string, number>();
  const unfenced = yield* fence(plans, batch, outcomes);
  for (const round of rounds(unfenced)) {
    const accepted = yield* settle(plans, round, outcomes);
    if (accepted.length === 0) continue;
    yield* writeAccepted(plans, accepted);
    for (const d of accepted)
      for (const c of d.counters) counters.set(c.counter, (counters.get(c.counter) ?? 0) + c.by);
  }
  // Sorted, so two PostgreSQL transactions bumping the same counters lock them in one order.
  const deltas = [...counters].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (deltas.length > 0) yield* runAll(plans.addCounters(deltas));
  return outcomes;
}

/**
 * Step 0: a decision made under a partition epoch its VIN's partition no longer has is `fenced` before
 * anything is written; returns the others, in order. The epochs stay locked until the commit ends.
 */
function* fence(plans: CommitPlans, batch: readonly DecisionCommit[], outcomes: CommitOutcome[]): Step<Indexed[]> {
  const parts = new Set<number>();
  for (const c of batch) if (c.partitionEpoch !== undefined) parts.add(partitionOf(c.workflow.vin));
  const epochs = new Map<number, number>();
  if (parts.size > 0) {
    const found = yield* runAll(plans.lockPartitionEpochs([...parts].sort((a, b) => a - b)));
    for (const r of found.rows) epochs.set(r.part, r.epoch);
  }
  const out: Indexed[] = [];
  for (const [index, commit] of batch.entries()) {
    if (commit.partitionEpoch !== undefined && epochs.get(partitionOf(commit.workflow.vin)) !== commit.partitionEpoch)
      outcomes[index] = 'fenced';
    else out.push({ index, commit });
  }
  return out;
}

/** Splits the decisions, in order, where one shares its workflow, VIN or inbound id with one before it in the round. */
function rounds(batch: readonly Indexed[]): Indexed[][] {
  const out: Indexed[][] = [];
  let round: Indexed[] = [];
  const workflows = new Set<string>();
  const vins = new Set<string>();
  const inbound = new Set<string>();
  for (const { index, commit } of batch) {
    const { correlationId, vin } = commit.workflow;
    const id = commit.inboundId;
    if (workflows.has(correlationId) || vins.has(vin) || (id !== undefined && inbound.has(id))) {
      out.push(round);
      round = [];
      workflows.clear();
      vins.clear();
      inbound.clear();
    }
    workflows.add(correlationId);
    vins.add(vin);
    if (id !== undefined) inbound.add(id);
    round.push({ index, commit });
  }
  if (round.length > 0) out.push(round);
  return out;
}

/** Steps 1 and 2 for one round: sets each decision's outcome and returns the committed ones, in order. */
function* settle(plans: CommitPlans, round: Indexed[], outcomes: CommitOutcome[]): Step<DecisionCommit[]> {
  let candidates = round;
  const inbound = round.filter((x) => x.commit.inboundId !== undefined);
  if (inbound.length > 0) {
    const entries = inbound.map((x) => ({ messageId: x.commit.inboundId!, processedAt: x.commit.workflow.updatedAt }));
    const fresh = yield* runGuarded(plans.insertInbox(entries));
    const seen = new Set(inbound.filter((_, i) => !fresh[i]).map((x) => x.index));
    candidates = round.filter((x) => {
      if (!seen.has(x.index)) return true;
      outcomes[x.index] = 'duplicate';
      return false;
    });
  }

  const written = new Set<string>();
  const creates = candidates.filter((x) => x.commit.expectedVersion === 0).map((x) => x.commit.workflow);
  if (creates.length > 0) {
    const ok = yield* runGuarded(plans.insertWorkflows(creates));
    for (const [i, wf] of creates.entries()) if (ok[i]) written.add(wf.correlationId);
  }
  const updates = candidates
    .filter((x) => x.commit.expectedVersion !== 0)
    .map((x) => ({ workflow: x.commit.workflow, expectedVersion: x.commit.expectedVersion }));
  if (updates.length > 0) {
    const ok = yield* runGuarded(plans.updateWorkflows(updates));
    for (const [i, u] of updates.entries()) if (ok[i]) written.add(u.workflow.correlationId);
  }

  const accepted: DecisionCommit[] = [];
  const forget: string[] = [];
  for (const x of candidates) {
    if (written.has(x.commit.workflow.correlationId)) {
      outcomes[x.index] = 'committed';
      accepted.push(x.commit);
    } else {
      outcomes[x.index] = 'conflict';
      if (x.commit.inboundId !== undefined) forget.push(x.commit.inboundId);
    }
  }
  if (forget.length > 0) yield* runAll(plans.deleteInbox(forget));
  return accepted;
}

/** Step 3 for the committed decisions of one round (no two of them share a workflow). */
function* writeAccepted(plans: CommitPlans, accepted: DecisionCommit[]): Step<void> {
  const transitions: TransitionRecord[] = [];
  const outbox: OutboxRecord[] = [];
  const labels: LabelRecord[] = [];
  const fired: TimerKey[] = [];
  const memories: AnalysisMemoryRecord[] = [];
  const cleared: string[] = [];
  const sets: TimerRow[] = [];
  for (const d of accepted) {
    const { correlationId, vin, updatedAt } = d.workflow;
    for (const transition of d.transitions) transitions.push({ correlationId, vin, transition });
    for (const row of d.outbox) outbox.push({ row, vin });
    for (const label of d.labels ?? []) labels.push({ label, recordedAt: updatedAt });
    if (d.analysisMemory !== undefined) memories.push({ vin, memory: d.analysisMemory, updatedAt });

    // The decision's timer changes reduced to what they leave behind: a clear deletes everything set
    // before it (the fired timer too), and of several sets of one name the last one stands.
    let clear = false;
    const setByName = new Map<TimerName, TimerRow>();
    for (const change of d.timers) {
      if (change.kind === 'clear') {
        clear = true;
        setByName.clear();
      } else {
        setByName.set(change.name, { correlationId, vin, name: change.name, dueAt: change.dueAt, seq: change.seq });
      }
    }
    if (clear) cleared.push(correlationId);
    else if (d.firedTimer !== undefined) fired.push({ correlationId, ...d.firedTimer });
    for (const t of setByName.values()) sets.push(t);
  }
  if (transitions.length > 0) yield* runAll(plans.insertTransitions(transitions));
  if (outbox.length > 0) yield* runAll(plans.insertOutbox(outbox));
  if (labels.length > 0) yield* runAll(plans.insertLabels(labels));
  // A round never holds two decisions of one VIN, so no VIN appears twice here.
  if (memories.length > 0) yield* runAll(plans.setAnalysisMemory(memories));
  // Deletes before sets: a decision may set again the very timer that fired it.
  if (fired.length > 0) yield* runAll(plans.deleteTimers(fired));
  if (cleared.length > 0) yield* runAll(plans.clearTimers(cleared));
  if (sets.length > 0) yield* runAll(plans.upsertTimers(sets));
}
