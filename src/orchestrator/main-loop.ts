/**
 * MainOrchestrationLoop: the seed's contract. It wires the fleet poll, history fetches, analysis cycles,
 * timers and the outbox dispatcher around the decider; agents are reached only through the bus.
 */
import { EventEmitter } from 'node:events';
import pino, { type Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { SECOND } from '../core/clock.js';
import { AGENTS, CHANNELS, type Envelope } from '../core/envelope.js';
import type { Decision, Workflow } from '../core/workflow.js';
import type { Bus, Subscription } from '../bus/port.js';
import { EnvelopeFactory } from '../bus/signing.js';
import type { ParkedEvent, Store } from '../store/port.js';
import { timerInboundId } from '../store/timer-inbound.js';
import { DecisionApplier, INTERNAL_FETCH_CHANNEL, type ApplyMeta, type ApplyResult, type ApplyTarget } from './applier.js';
import { OutboxDispatcher } from './dispatcher.js';
import { FleetPoller } from './fleet-poller.js';
import { HistoryFetcher } from './history-fetcher.js';
import { TelemetryIngest } from './ingest.js';
import { INFORMATIONAL_TYPES, toEvent } from './inbound.js';
import { PartitionKeeper } from './partition-keeper.js';
import { previewInbound, type Preview } from './preview.js';
import { buildStatistics, buildStatus, type Statistics, type WorkflowStatus } from './status.js';
import { resolveOptions, type OrchestratorOptions, type ResolvedOrchestratorOptions } from './options.js';
import { createTelematicsClient } from './telematics-client.js';
import { TelematicsCircuit, type CircuitSnapshot, type CircuitState } from './telematics-circuit.js';

export { resolveOptions, type OrchestratorOptions, type ResolvedOrchestratorOptions } from './options.js';

/** Entries of `state_history` a status returns unless asked for another number. */
export const DEFAULT_STATUS_HISTORY = 200;
/** Real ms between two retention purges. */
const PURGE_GAP_MS = 60_000;
/** Real ms the telematics back-off doubles up to (unless the first wait is longer). */
const MAX_OUTAGE_BACKOFF_MS = 30_000;
/** Parked inputs applied per tick at most. */
const PARKED_BATCH = 200;
/** States whose pending work is kept durably and taken back by a restarted orchestrator. */
const RESUMED_STATES = ['polling_telemetry', 'scheduling_service'] as const;


/** What `deliver` did with an inbound envelope. */
export type DeliveryResult =
  | ApplyResult
  | { status: 'rejected'; reason: string }
  /** Kept in the store for the instance that holds the VIN's partition, which applies it. */
  | { status: 'parked' };

export type OrchestratorEvent =
  | { type: 'decision'; decision: Decision; previous: Workflow }
  | { type: 'poll'; ok: boolean; accepted: number; rejected: number; error?: string }
  | { type: 'telematics'; state: CircuitSnapshot['state']; error?: string };

const INBOUND_CHANNELS = [
  CHANNELS.analysisResult,
  CHANNELS.engagementResult,
  CHANNELS.schedulingResult,
  CHANNELS.serviceCompleted,
  CHANNELS.feedbackResult,
  CHANNELS.systemError,
] as const;

export class MainOrchestrationLoop {
  readonly options: ResolvedOrchestratorOptions;
  readonly events = new EventEmitter<{ event: [OrchestratorEvent] }>();
  protected readonly log: Logger;
  private readonly store: Store;
  private readonly bus: Bus;
  private readonly clock: Clock;
  private readonly applier: DecisionApplier;
  private readonly dispatcher: OutboxDispatcher;
  private readonly poller: FleetPoller;
  private readonly fetcher: HistoryFetcher;
  private readonly circuit: TelematicsCircuit;
  private readonly keeper: PartitionKeeper;
  /** Clock time until which waiting cases' timeouts were last pushed out during an outage. */
  private deferredUntil = -Infinity;
  private readonly subscriptions: Subscription[] = [];
  private readonly inflight = new Set<Promise<unknown>>();
  private ticker: NodeJS.Timeout | null = null;
  /** The tick running now, if any: a stop waits for it, as it may be about to apply what it claimed. */
  private ticking: Promise<void> | null = null;
  private polling: Promise<void> | null = null;
  private lastPollReal = 0;
  private lastPollClock = -Infinity;
  private purging: Promise<void> | null = null;
  private lastPurgeReal = -Infinity;
  private initialized: Promise<void> | null = null;
  private stopping = false;

  constructor(opts: OrchestratorOptions) {
    this.options = resolveOptions(opts);
    this.store = opts.store;
    this.bus = opts.bus;
    this.clock = opts.clock;
    this.log = opts.log ?? pino({ level: 'silent' });
    this.keeper = new PartitionKeeper(this.store, this.clock, this.log, {
      owner: this.options.instanceId,
      ttlMs: this.options.leaseMs,
    });
    this.applier = new DecisionApplier(this.store, this.clock, this.options.workflow, {
      onCommitted: (decision, previous) => this.onCommitted(decision, previous),
      partitionEpoch: (vin) => this.keeper.heldEpoch(vin),
    });
    // One back-off for everything that waits on the telematics API: the circuit's probes, the fleet
    // poll and held fetches.
    const outageFirstMs = this.options.outageProbeMs;
    const outageMaxMs = Math.max(MAX_OUTAGE_BACKOFF_MS, outageFirstMs);
    this.circuit = new TelematicsCircuit({
      openMs: outageFirstMs,
      maxOpenMs: outageMaxMs,
      onChange: (state, info) => this.onTelematicsChange(state, info.from, info.error),
    });
    const telematics = this.circuit.wrap(
      opts.telematicsClient ?? createTelematicsClient(this.options.telematicsApiUrl, this.options.requestTimeoutMs),
    );
    this.dispatcher = new OutboxDispatcher(
      this.store,
      this.bus,
      EnvelopeFactory.fromKeyRing(AGENTS.orchestrator, opts.keys, this.clock),
      this.clock,
      this.log,
      { batchSize: 200, leaseMs: this.options.leaseMs, partitions: () => this.keeper.partitions(this.clock.now()) },
      { [INTERNAL_FETCH_CHANNEL]: (row) => this.fetcher.take(row) },
    );
    // Every telemetry source goes through one ingest: the fleet poll, the history fetch (and MQTT).
    const ingest = new TelemetryIngest(this.store, this.clock, this.log);
    this.fetcher = new HistoryFetcher(
      {
        store: this.store,
        clock: this.clock,
        telematics,
        circuit: this.circuit,
        ingest,
        applier: this.applier,
        publish: (effects, cause) => this.dispatcher.publishEffects(effects, cause),
        log: this.log,
      },
      {
        concurrency: this.options.fetchConcurrency,
        windowMs: this.options.analysisWindowMs,
        maxSamples: 2000,
        outageRetryMs: outageFirstMs,
        outageRetryMaxMs: outageMaxMs,
      },
    );
    this.poller = new FleetPoller(telematics, ingest, this.store, this.log, {
      pageSize: this.options.pageSize,
      maxPages: 10_000,
      backoffMs: outageFirstMs,
      maxBackoffMs: outageMaxMs,
    });
  }

  /** Migrates the store and subscribes to the result channels. Concurrent calls share one run. */
  initialize(): Promise<void> {
    this.initialized ??= (async () => {
      await this.store.migrate();
      // Listening again after a stop: deliveries are applied again (ticking waits for start()).
      this.stopping = false;
      this.keeper.activate();
      for (const channel of INBOUND_CHANNELS) {
        this.subscriptions.push(
          await this.bus.subscribe(channel, (env) => this.deliver(env).then(() => undefined), {
            queue: AGENTS.orchestrator,
            concurrency: 16,
          }),
        );
      }
    })();
    return this.initialized;
  }

  async start(): Promise<void> {
    await this.initialize();
    if (this.ticker) return;
    this.stopping = false;
    this.fetcher.resume();
    // Before the first claim: a lone instance takes every partition here, one of several its share.
    await this.keeper.refresh();
    await this.giveResumedWorkFullTime();
    this.ticker = setInterval(() => void this.tick(), this.options.tickMs);
    void this.tick();
  }

  /** Stops taking new work, then waits for what is in flight, so a restart resumes cleanly. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = null;
    for (const s of this.subscriptions.splice(0)) await s.unsubscribe();
    this.initialized = null;
    await Promise.allSettled([
      this.ticking,
      ...this.inflight,
      this.polling,
      this.purging,
      this.dispatcher.wake(),
      this.fetcher.stop(),
    ]);
    // Last, once nothing of ours can commit any more: the others take the partitions on their next renewal.
    await this.keeper
      .release()
      .catch((err: unknown) => this.handleError(null, err instanceof Error ? err : new Error(String(err))));
  }

  /** This instance's id among the orchestrators sharing the store's VIN partitions. */
  get instanceId(): string {
    return this.keeper.owner;
  }

  /** The VIN partitions this instance holds and works on now (all of them when it runs alone). */
  heldPartitions(): readonly number[] {
    return this.keeper.partitions(this.clock.now());
  }

  async getStatistics(): Promise<Statistics> {
    return buildStatistics(this.store);
  }

  /** Status of a VIN's current workflow, with its latest `historyLimit` transitions. */
  async getWorkflowStatus(vin: string, historyLimit = DEFAULT_STATUS_HISTORY): Promise<WorkflowStatus | null> {
    const wf = await this.store.getCurrentWorkflow(vin);
    if (!wf) return null;
    return this.statusOf(wf, historyLimit);
  }

  /** Status of one case (any workflow, open or completed) by its correlation id. */
  async getCaseStatus(correlationId: string, historyLimit = DEFAULT_STATUS_HISTORY): Promise<WorkflowStatus | null> {
    const wf = await this.store.getWorkflow(correlationId);
    if (!wf) return null;
    return this.statusOf(wf, historyLimit);
  }

  private async statusOf(wf: Workflow, historyLimit: number): Promise<WorkflowStatus> {
    const [history, total] = await Promise.all([
      this.store.getTransitions(wf.correlationId, { limit: historyLimit }),
      this.store.countTransitions(wf.correlationId),
    ]);
    return buildStatus(wf, history, total);
  }

  /** Where the last fleet poll stands (health endpoint, summary line). */
  get lastPoll() {
    return this.poller.lastPoll;
  }

  /** Whether the telematics API is reachable, and how many cases' fetches wait for it. */
  get telematics(): CircuitSnapshot & { held_fetches: number } {
    return { ...this.circuit.snapshot(), held_fetches: this.fetcher.heldFetches };
  }

  /**
   * Extension point (the seed's `_handleError`): called when a workflow enters `error` and when an
   * operation on a workflow fails. The default logs; override to page someone or open a ticket.
   */
  handleError(workflow: Workflow | null, error: Error): void {
    this.log.warn(
      { vin: workflow?.vin, correlation_id: workflow?.correlationId, err: error.message },
      'workflow error',
    );
  }

  /**
   * Applies one inbound envelope taken off the bus. Idempotent on message_id: a redelivered message
   * changes nothing. Any instance may take any message (queue groups); one for a VIN whose partition
   * another instance holds is parked in the store for that one, which applies it with the same id.
   */
  deliver(env: Envelope): Promise<DeliveryResult> {
    // Tracked whole, so a stop waits for a delivery under way, whichever way it goes.
    return this.track(this.take(env));
  }

  private async take(env: Envelope): Promise<DeliveryResult> {
    if (INFORMATIONAL_TYPES.has(env.header.message_type))
      return { status: 'ignored', reason: 'informational', workflow: null };
    const inbound = toEvent(env);
    if (!inbound.ok) {
      await this.store.incrementCounters({ bus_rejected: 1 });
      this.log.warn({ reason: inbound.reason, message_id: env.header.message_id }, 'inbound message rejected');
      return { status: 'rejected', reason: inbound.reason };
    }
    const parked: ParkedEvent = {
      inboundId: env.header.message_id,
      vin: inbound.vin,
      correlationId: env.header.correlation_id,
      event: inbound.event,
      causationId: env.header.message_id,
      ...(inbound.analysisMemory !== undefined ? { analysisMemory: inbound.analysisMemory } : {}),
      parkedAt: this.clock.now(),
    };
    await this.keeper.refresh();
    // A stopping instance takes on nothing more: what still reaches it waits for the next holder.
    if (!this.stopping && this.keeper.holds(inbound.vin, this.clock.now())) {
      const result = await this.applyInbound(parked, env.header.sender);
      // The partition changed hands while the message was being decided: it is the new holder's now.
      if (result.status !== 'fenced') return result;
    }
    await this.store.park([parked]);
    this.log.debug({ vin: inbound.vin, message_id: parked.inboundId }, 'inbound message parked for the holder of its VIN');
    return { status: 'parked' };
  }

  /** Applies an inbound event, arrived now or parked by another instance, with the id it arrived with. */
  private async applyInbound(e: ParkedEvent, sender?: string): Promise<ApplyResult> {
    const target: ApplyTarget = { vin: e.vin, correlationId: e.correlationId };
    const meta: ApplyMeta = {
      inboundId: e.inboundId,
      causationId: e.causationId,
      ...(e.analysisMemory !== undefined ? { analysisMemory: e.analysisMemory } : {}),
    };
    const result = await this.track(this.applier.apply(target, e.event, meta));
    // The API refuses such input before publishing it; one that reaches the loop anyway (another
    // publisher, or the case changed in between) is refused here too, and counted.
    if (result.status === 'refused') {
      await this.store.incrementCounters({ inbound_refused: 1 });
      this.log.warn(
        { reason: result.reason, message_id: e.inboundId, correlation_id: e.correlationId, sender },
        'inbound message contradicts its case; refused',
      );
    }
    return result;
  }

  /** What `env` would do to its case now, without committing anything (the HTTP API answers from it). */
  preview(env: Envelope): Promise<Preview> {
    return previewInbound(this.store, env, this.clock.now(), this.options.workflow);
  }

  private onCommitted(decision: Decision, previous: Workflow): void {
    this.events.emit('event', { type: 'decision', decision, previous });
    const wf = decision.workflow;
    // A failure that used up the retries passes through `error` into `completed` in one decision.
    if (decision.transitions.some((t) => t.toState === 'error'))
      this.handleError(wf, new Error(wf.lastError ?? 'error'));
    if (decision.effects.some((e) => e.kind === 'publish' || e.kind === 'fetch_telemetry')) void this.dispatcher.wake();
  }

  private tick(): Promise<void> {
    if (this.ticking || this.stopping) return this.ticking ?? Promise.resolve();
    this.ticking = this.runTick().finally(() => {
      this.ticking = null;
    });
    return this.ticking;
  }

  private async runTick(): Promise<void> {
    try {
      this.maybePoll();
      this.maybePurge();
      // Before anything is claimed: only the held partitions' work is ours.
      await this.keeper.refresh();
      // Before timers fire: a case waiting on a telematics API that is down must not time out.
      // One reading of the clock for both: a timer pushed out to now + timeout cannot fall due in between.
      const now = this.clock.now();
      const held = this.keeper.partitions(now);
      if (!this.circuit.closed) await this.deferTelemetryTimeouts(now);
      await Promise.all([
        this.fireTimers(now, held),
        this.circuit.closed ? this.startCycles(held) : undefined,
        this.applyParked(now, held),
      ]);
      this.fetcher.releaseHeld();
      await this.dispatcher.wake();
    } catch (err) {
      this.handleError(null, err as Error);
    }
  }

  private maybePoll(): void {
    if (this.polling) return;
    const realNow = Date.now();
    const due =
      this.clock.now() - this.lastPollClock >= this.options.pollingInterval * SECOND &&
      realNow - this.lastPollReal >= this.options.minPollGapMs &&
      this.poller.backoffRemaining(realNow) === 0 &&
      this.circuit.callable;
    if (!due) return;
    this.lastPollReal = realNow;
    this.lastPollClock = this.clock.now();
    this.polling = this.poller
      .poll()
      .then((r) => {
        this.events.emit('event', { type: 'poll', ...r });
      })
      .finally(() => {
        this.polling = null;
      });
  }

  /** Retention, at most once per real minute; it runs beside the tick, in short store transactions. */
  private maybePurge(): void {
    const realNow = Date.now();
    if (this.purging || realNow - this.lastPurgeReal < PURGE_GAP_MS) return;
    this.lastPurgeReal = realNow;
    this.purging = this.store
      .purge(this.clock.now() - this.options.retentionMs)
      .then(
        (r) => {
          if (r.outbox + r.inbox > 0) this.log.debug({ outbox: r.outbox, inbox: r.inbox }, 'retention purge');
        },
        (err: unknown) => this.handleError(null, err instanceof Error ? err : new Error(String(err))),
      )
      .finally(() => {
        this.purging = null;
      });
  }

  private async fireTimers(now: number, partitions: readonly number[]): Promise<void> {
    const timers = await this.store.claimDueTimers(now, 500, this.options.leaseMs, partitions);
    await Promise.all(
      timers.map(async (t) => {
        const inboundId = timerInboundId({ correlationId: t.correlationId, name: t.name, seq: t.seq, dueAt: t.dueAt });
        const r = await this.track(
          this.applier.apply(
            { vin: t.vin, correlationId: t.correlationId },
            { type: 'timer_fired', timer: t.name, seq: t.seq },
            { inboundId, firedTimer: { name: t.name, seq: t.seq } },
          ),
        );
        // A duplicate firing's decision is already committed (another process, or this one before a
        // crash): the row left behind must go, or it would be claimed again at every lease expiry. A
        // fenced one is the partition's new holder's to fire.
        if (r.status !== 'applied' && r.status !== 'fenced') await this.store.deleteTimer(t.correlationId, t.name, t.seq);
      }),
    );
  }

  /**
   * A restarted orchestrator takes back the telemetry fetches and booking requests left in the outbox
   * only once their leases expire: their cases' state timeouts start again from then, so that work
   * taken back gets its full time instead of what was left of it before the crash.
   */
  private async giveResumedWorkFullTime(): Promise<void> {
    const until = this.clock.now() + this.options.leaseMs + this.options.workflow.stateTimeoutMs;
    const moved = await this.store.postponeTimers('state_timeout', RESUMED_STATES, until);
    if (moved > 0) this.log.info({ cases: moved }, 'work taken back after a restart gets its full time');
  }

  /**
   * While the telematics API is unreachable, cases polling for telemetry wait: their state timeouts are
   * pushed out to a full timeout from now, again each time half of it has passed (so a case that enters
   * polling meanwhile is caught too), and once more when the API is back: none burns a retry on an
   * outage, and each has its full time afterwards.
   */
  private async deferTelemetryTimeouts(now: number, force = false): Promise<void> {
    const timeout = this.options.workflow.stateTimeoutMs;
    if (!force && now < this.deferredUntil - timeout / 2) return;
    this.deferredUntil = now + timeout;
    await this.store.postponeTimers('state_timeout', ['polling_telemetry'], this.deferredUntil);
  }

  private onTelematicsChange(state: CircuitState, from: CircuitState, error?: string): void {
    this.events.emit('event', { type: 'telematics', state, ...(error !== undefined ? { error } : {}) });
    // Only closed → open starts an outage; a failed probe (half_open → open) is the same one going on.
    if (state === 'open' && from === 'closed') {
      this.deferredUntil = -Infinity;
      this.log.warn({ err: error, retry_in_ms: this.circuit.retryInMs() }, 'telematics API unreachable; cases wait for it');
    } else if (state === 'closed') {
      this.log.info('telematics API reachable again; waiting cases resume');
      void this.track(this.deferTelemetryTimeouts(this.clock.now(), true)).catch((err: unknown) =>
        this.handleError(null, err instanceof Error ? err : new Error(String(err))),
      );
    }
  }

  /**
   * Inputs other instances parked for the VINs this one holds: applied in the order they were parked,
   * each with the id it arrived with (a copy applied before is a duplicate), then forgotten. One whose
   * apply failed stays, and is claimed again once its lease has passed.
   */
  private async applyParked(now: number, partitions: readonly number[]): Promise<void> {
    const parked = await this.store.claimParked(partitions, now, PARKED_BATCH, this.options.leaseMs);
    if (parked.length === 0) return;
    const done: string[] = [];
    await Promise.all(
      parked.map(async (e) => {
        try {
          // A fenced one stays for the partition's new holder.
          if ((await this.applyInbound(e)).status !== 'fenced') done.push(e.inboundId);
        } catch (err) {
          this.handleError(null, err instanceof Error ? err : new Error(String(err)));
        }
      }),
    );
    if (done.length > 0) await this.store.deleteParked(done);
  }

  private async startCycles(partitions: readonly number[]): Promise<void> {
    const now = this.clock.now();
    const vins = await this.store.claimDueVehicles(now, 200, now + this.options.analysisIntervalMs, partitions);
    await Promise.all(
      vins.map((vin) =>
        this.track(this.applier.apply({ vin, createIfMissing: true }, { type: 'cycle_started' }, {})).catch(
          (err: Error) => this.handleError(null, err),
        ),
      ),
    );
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p)).catch(() => undefined);
    return p;
  }
}
