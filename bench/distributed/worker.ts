/**
 * One orchestrator process of the distributed benchmark (forked by bench/distributed/index.ts): over the
 * PostgreSQL store and the NATS bus it commits decisions through the store port, as the embedded bench
 * does, and takes raw samples through ingest to persisted decisions whose analysis requests it publishes
 * on the bus; and, as floors, it writes the same rows with bare `pg` and publishes the same kind of
 * envelopes with bare JetStream. It reports counts and times to its parent.
 *
 * It builds on the store and bus ports, the applier and ingest only (as the embedded bench does), not on
 * the main loop, so it measures the commit path and the bus whatever the loop's scheduling does.
 */
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import pg from 'pg';
import pino from 'pino';
import { createNatsBus } from '../../src/bus/nats/index.js';
import type { Bus } from '../../src/bus/port.js';
import { EnvelopeFactory, keyRingFromSecret, newMessageId } from '../../src/bus/signing.js';
import { ManualClock } from '../../src/clock/clocks.js';
import { decide } from '../../src/core/decider.js';
import { CHANNELS, type Envelope } from '../../src/core/envelope.js';
import type { AnalysisRequest } from '../../src/core/payloads.js';
import { sampleToWire, validateSample } from '../../src/core/telemetry.js';
import { DEFAULT_WORKFLOW_CONFIG, newWorkflow, type Effect } from '../../src/core/workflow.js';
import { DecisionApplier, commitOf } from '../../src/orchestrator/applier.js';
import { INGEST_SOURCES, TelemetryIngest } from '../../src/orchestrator/ingest.js';
import { createPostgresStore } from '../../src/store/postgres/index.js';
import type { Store } from '../../src/store/port.js';
import { inWindows, stopwatch } from '../lib.js';
import { T0, buildCommits, cidOf, sampleOf, vinOf } from '../workload.js';
import { MEASURES, type FromWorker, type MeasureKind, type ToWorker, type WorkerInit } from './protocol.js';

/** Any 16+ characters: the bench only publishes; no consumer checks signatures here. */
const BENCH_SECRET = 'pitwall-bench-secret';
const PUBLISH_TIMEOUT_MS = 10_000;

function send(msg: FromWorker): void {
  process.send!(msg);
}

class BenchWorker {
  private job: (() => Promise<number>) | null = null;
  private readonly clock = new ManualClock(T0 + DEFAULT_WORKFLOW_CONFIG.stateTimeoutMs);
  private readonly envelopes = EnvelopeFactory.fromKeyRing('orchestrator', keyRingFromSecret(BENCH_SECRET), this.clock);
  private readonly applier: DecisionApplier;
  private readonly ingest: TelemetryIngest;

  private constructor(
    private readonly init: WorkerInit,
    private readonly store: Store,
    private readonly bus: Bus,
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly floorDb: pg.Client,
  ) {
    this.applier = new DecisionApplier(store, this.clock, DEFAULT_WORKFLOW_CONFIG);
    this.ingest = new TelemetryIngest(store, this.clock, pino({ level: 'silent' }));
  }

  static async open(init: WorkerInit): Promise<BenchWorker> {
    const name = `pitwall-bench-${init.worker}`;
    // The parent migrated the schema; every process opens it as an orchestrator instance does.
    const store = createPostgresStore({ url: init.pgUrl, schema: init.schema });
    const clock = new ManualClock(T0);
    const bus = await createNatsBus({
      servers: init.natsUrl.split(','),
      namespace: init.namespace,
      name,
      clock,
      onError: (err) => process.stderr.write(`bench worker ${init.worker}: bus: ${(err as Error).message}\n`),
    });
    const nc = await connect({ servers: init.natsUrl.split(','), name: `${name}-floor` });
    const floorDb = new pg.Client({ connectionString: init.pgUrl, application_name: `${name}-floor` });
    await floorDb.connect();
    return new BenchWorker(init, store, bus, nc, jetstream(nc), floorDb);
  }

  /** Vehicles of this process, measure and round: never another's, so no two rounds touch one case. */
  private base(measure: MeasureKind, round: number): number {
    return this.init.worker * 100_000_000 + MEASURES.indexOf(measure) * 10_000_000 + round * 100_000;
  }

  async prepare(measure: MeasureKind, round: number, warmUp: boolean): Promise<void> {
    const base = this.base(measure, round);
    const { caseVehicles, samples } = this.init.sizes;
    const part = (n: number) => (warmUp ? Math.ceil(n / 4) : n);
    switch (measure) {
      case 'pg_floor':
        this.job = this.pgFloor(base, part(caseVehicles));
        return;
      case 'transitions':
        this.job = this.transitions(base, part(caseVehicles));
        return;
      case 'bus_floor':
        this.job = this.busFloor(base, part(samples));
        return;
      case 'ingest':
        this.job = await this.ingestToDecision(base, part(samples));
        return;
      default: {
        const _exhaustive: never = measure;
        throw new Error(`unknown measure ${String(_exhaustive)}`);
      }
    }
  }

  async go(): Promise<{ ops: number; seconds: number }> {
    const job = this.job;
    if (!job) throw new Error('go before prepare');
    this.job = null;
    const elapsed = stopwatch();
    const ops = await job();
    return { ops, seconds: elapsed() };
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.bus.close(), this.store.close(), this.nc.close(), this.floorDb.end()]);
  }

  /** Bare `pg`: the transition rows of the same decisions, one multi-row insert and transaction per batch. */
  private pgFloor(base: number, vehicles: number): () => Promise<number> {
    const { batch } = this.init.sizes;
    const batches: unknown[][] = [];
    for (const step of buildCommits(vehicles, base)) {
      for (let i = 0; i < step.length; i += batch) {
        const cols: [string[], string[], string[], string[], number[], string[]] = [[], [], [], [], [], []];
        for (const c of step.slice(i, i + batch)) {
          for (const t of c.transitions) {
            cols[0].push(c.workflow.correlationId);
            cols[1].push(c.workflow.vin);
            cols[2].push(t.fromState);
            cols[3].push(t.toState);
            cols[4].push(t.timestamp);
            cols[5].push(t.reason);
          }
        }
        batches.push(cols);
      }
    }
    const text = `INSERT INTO ${this.init.floorTable} (correlation_id, vin, from_state, to_state, timestamp, reason)
      SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::text[])`;
    return async () => {
      let rows = 0;
      for (const values of batches) {
        await this.floorDb.query('BEGIN');
        const r = await this.floorDb.query(text, values);
        await this.floorDb.query('COMMIT');
        rows += r.rowCount ?? 0;
      }
      return rows;
    };
  }

  /** The store's commit path: whole cases' decisions, batch by batch, as the embedded bench commits them. */
  private transitions(base: number, vehicles: number): () => Promise<number> {
    const { batch } = this.init.sizes;
    const steps = buildCommits(vehicles, base);
    return async () => {
      let transitions = 0;
      for (const step of steps) {
        for (let i = 0; i < step.length; i += batch) {
          const commits = step.slice(i, i + batch);
          const out = await this.store.commitDecisions(commits);
          const odd = out.find((o) => o !== 'committed');
          if (odd) throw new Error(`unexpected commit outcome ${odd}`);
          for (const c of commits) transitions += c.transitions.length;
        }
      }
      return transitions;
    };
  }

  /** Bare JetStream: analysis-request envelopes like those the ingest path publishes, same window in flight. */
  private busFloor(base: number, n: number): () => Promise<number> {
    const { inFlight } = this.init.sizes;
    const now = this.clock.now();
    const envs = Array.from({ length: n }, (_, i) => {
      const vin = vinOf(base + i);
      const polling = decide(newWorkflow(vin, cidOf(vin, now), now), { type: 'cycle_started' }, now).workflow;
      const checked = validateSample(sampleOf(vin, now - 1000, i), now);
      if (!checked.ok) throw new Error('bench sample refused');
      const d = decide(polling, { type: 'telemetry_received', samples: [sampleToWire(checked.sample)] }, now);
      const e = d.effects.find((x) => x.kind === 'publish' && x.durable === false);
      if (!e || e.kind !== 'publish') throw new Error('telemetry_received published no analysis request');
      const env = this.envelopes.create({
        messageType: e.messageType,
        receiver: e.receiver,
        correlationId: polling.correlationId,
        causationId: null,
        priority: e.priority,
        payload: { ...(e.payload as AnalysisRequest), memory: null },
      });
      return {
        subject: `${this.init.floorSubject}.${e.priority}`,
        data: JSON.stringify(env),
        msgID: env.header.message_id,
      };
    });
    return async () => {
      await inWindows(n, inFlight, (i) => {
        const m = envs[i]!;
        return this.js.publish(m.subject, m.data, { msgID: m.msgID, timeout: PUBLISH_TIMEOUT_MS });
      });
      return n;
    };
  }

  /**
   * Raw sample → JSON.parse → ingest (validated, vehicles recorded) → decision committed in PostgreSQL →
   * its analysis request stored on NATS. The cases are opened (polling telemetry) before the clock runs,
   * committed directly in batches: only their set-up, so it need not take the applier's way.
   */
  private async ingestToDecision(base: number, n: number): Promise<() => Promise<number>> {
    const { inFlight, batch } = this.init.sizes;
    const now = this.clock.now();
    const opening = Array.from({ length: n }, (_, i) => {
      const vin = vinOf(base + i);
      const wf = newWorkflow(vin, cidOf(vin, now), now);
      return commitOf(wf, decide(wf, { type: 'cycle_started' }, now), now, {}, () => newMessageId(this.clock));
    });
    for (let i = 0; i < n; i += batch) {
      const out = await this.store.commitDecisions(opening.slice(i, i + batch));
      if (out.some((o) => o !== 'committed')) throw new Error('could not open the cases');
    }
    const raw = Array.from({ length: n }, (_, i) =>
      JSON.stringify(sampleOf(vinOf(base + i), this.clock.now() - 1000, i)),
    );
    return async () => {
      const parsed = raw.map((r) => JSON.parse(r) as unknown);
      const { accepted } = await this.ingest.live(parsed, INGEST_SOURCES.poll);
      if (accepted.length !== n) throw new Error(`${n - accepted.length} samples refused`);
      const published = await inWindows(n, inFlight, async (i) => {
        const sample = accepted[i]!;
        const r = await this.applier.apply(
          { vin: sample.vin },
          { type: 'telemetry_received', samples: [sampleToWire(sample)] },
        );
        if (r.status !== 'applied') throw new Error(`unexpected apply result ${JSON.stringify(r)}`);
        return this.publishVolatile(r.decision.effects, r.decision.workflow.correlationId);
      });
      const total = published.reduce((a, b) => a + b, 0);
      if (total !== n) throw new Error(`${total} analysis requests published for ${n} samples`);
      return n;
    };
  }

  /**
   * What the dispatcher's `publishEffects` does with a decision's non-durable messages: the analysis
   * request takes the vehicle's memory from the store, is signed, and is published once the bus has it.
   * Written out here so the bench does not bind to the dispatcher's constructor.
   */
  private async publishVolatile(effects: readonly Effect[], correlationId: string): Promise<number> {
    let n = 0;
    for (const e of effects) {
      if (e.kind !== 'publish' || e.durable !== false) continue;
      const payload =
        e.channel === CHANNELS.analysisRequest
          ? {
              ...(e.payload as AnalysisRequest),
              memory: await this.store.getAnalysisMemory((e.payload as AnalysisRequest).vin),
            }
          : e.payload;
      const env: Envelope = this.envelopes.create({
        messageType: e.messageType,
        receiver: e.receiver,
        correlationId,
        causationId: null,
        priority: e.priority,
        payload,
      });
      await this.bus.publish(e.channel, env);
      n += 1;
    }
    return n;
  }
}

let worker: BenchWorker | null = null;

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.type) {
    case 'init':
      worker = await BenchWorker.open(msg);
      send({ type: 'ready' });
      return;
    case 'prepare':
      await worker!.prepare(msg.measure, msg.round, msg.warmUp);
      send({ type: 'prepared' });
      return;
    case 'go':
      send({ type: 'done', ...(await worker!.go()) });
      return;
    case 'stop':
      await worker?.close();
      process.exit(0);
  }
}

process.on('message', (msg: ToWorker) => {
  handle(msg).catch((err: unknown) =>
    send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
  );
});
// An orphaned worker (its parent died) ends instead of holding connections.
process.on('disconnect', () => {
  setTimeout(() => process.exit(0), 5000).unref();
});
