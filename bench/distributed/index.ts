/**
 * The distributed rows of `npm run bench`: persisted transitions/s and ingest → decision samples/s on
 * PostgreSQL + NATS JetStream with 1 and 2 orchestrator processes (forked workers, bench/distributed/
 * worker.ts), each beside a floor measured in the same run by the same processes: bare `pg` inserts of
 * the same transition rows, and bare JetStream publishes of the same kind of envelopes.
 *
 * Each process count gets its own PostgreSQL schema and NATS namespace (so the second count does not
 * write into tables the first one grew), dropped again afterwards. A round's throughput is the work of
 * all processes over the wall time from the parent's `go` to the last `done`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jetstreamManager, DiscardPolicy, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { connect, nanos } from '@nats-io/transport-node';
import pg from 'pg';
import { dropCorner } from '../../src/testing/corner.js';
import { createPostgresStore } from '../../src/store/postgres/index.js';
import { probeTcp, serviceUrl, SERVICE_ENV } from '../../src/testing/services.js';
import { median, stopwatch, type Measure } from '../lib.js';
import { MEASURES, type FromWorker, type MeasureKind, type ToWorker, type WorkSizes } from './protocol.js';

const here = path.dirname(fileURLToPath(import.meta.url));

export const PROCESS_COUNTS = [1, 2] as const;
/** Rounds per measure after one warm-up round; the median is reported. */
const ROUNDS = 3;
/**
 * Per process and round: about a second of work each at the rates seen on a loaded 2-core machine, so
 * both process counts together add well under a minute to `npm run bench`.
 */
const SIZES: WorkSizes = { caseVehicles: 500, samples: 1000, batch: 250, inFlight: 250 };
/** A worker step that takes longer than this has hung: the run fails instead of waiting for ever. */
const STEP_TIMEOUT_MS = 120_000;
const TRANSITIONS_TARGET = 5_000;
const HOW_TO_START = 'eval "$(scripts/services.sh | tail -2)"';

export interface RoundResult {
  /** Wall time from the parent's `go` to the last process's `done`. */
  seconds: number;
  /** Work done by each process, in process order, and the seconds each took by its own stopwatch. */
  ops: number[];
  process_seconds: number[];
  /** All processes' work over the wall time. */
  rate: number;
}

export interface ProcessCountReport {
  processes: number;
  schema: string;
  namespace: string;
  rates: Record<MeasureKind, number>;
  rounds: Record<MeasureKind, RoundResult[]>;
}

export type DistributedOutcome =
  | { skipped: string }
  | {
      rows: Measure[];
      /** `seconds`: wall time of the whole distributed part. */
      report: {
        pg_url: string;
        nats_url: string;
        sizes: WorkSizes;
        rounds: number;
        seconds: number;
        runs: ProcessCountReport[];
      };
    };

/** Runs the distributed rows, or says why they were skipped (a service that does not answer). */
export async function benchDistributed(progress: (msg: string) => void): Promise<DistributedOutcome> {
  const pgUrl = serviceUrl('pg');
  const natsUrl = serviceUrl('nats');
  const down: string[] = [];
  for (const [kind, url] of [
    ['pg', pgUrl],
    ['nats', natsUrl],
  ] as const) {
    const { host, port } = hostPort(url.split(',')[0]!, kind === 'pg' ? 5432 : 4222);
    const problem = await probeTcp(host, port);
    if (problem)
      down.push(`${kind === 'pg' ? 'PostgreSQL' : 'NATS'} at ${host}:${port} (${SERVICE_ENV[kind]}): ${problem}`);
  }
  if (down.length > 0) {
    return {
      skipped: `distributed rows (PostgreSQL + NATS) skipped: ${down.join('; ')}. Start the services with: ${HOW_TO_START}`,
    };
  }

  const elapsed = stopwatch();
  const runs: ProcessCountReport[] = [];
  for (const processes of PROCESS_COUNTS) runs.push(await benchProcessCount(processes, pgUrl, natsUrl, progress));
  const seconds = elapsed();
  progress(`PostgreSQL + NATS rows took ${seconds.toFixed(0)} s, set-up and clean-up included`);
  return {
    rows: rowsOf(runs),
    report: { pg_url: redact(pgUrl), nats_url: redact(natsUrl), sizes: SIZES, rounds: ROUNDS, seconds, runs },
  };
}

function rowsOf(runs: ProcessCountReport[]): Measure[] {
  const rows: Measure[] = [];
  for (const run of runs) {
    const label = `${run.processes} orchestrator process${run.processes > 1 ? 'es' : ''}`;
    const split = (m: MeasureKind) => perProcess(run.rounds[m]);
    rows.push({
      name: `persisted transitions/s, PostgreSQL, ${label} (batches of ${SIZES.batch})`,
      value: run.rates.transitions,
      unit: 'transitions/s',
      floor: { name: 'bare pg insert of the same transition rows/s', value: run.rates.pg_floor },
      target: `≥ ${TRANSITIONS_TARGET.toLocaleString('en-US')}`,
      met: run.rates.transitions >= TRANSITIONS_TARGET,
      note: `per process ${split('transitions')}; floor per process ${split('pg_floor')}`,
    });
    rows.push({
      name: `ingest → decision published, PostgreSQL + NATS, ${label} (${SIZES.inFlight} in flight)`,
      value: run.rates.ingest,
      unit: 'samples/s',
      floor: { name: 'bare JetStream publishes of the same envelopes/s', value: run.rates.bus_floor },
      note: `per process ${split('ingest')}; floor per process ${split('bus_floor')}; each sample: parse, ingest, decision committed, analysis request stored on JetStream`,
    });
  }
  return rows;
}

/** Each process's own rate in the median round, e.g. `2,610 + 2,580 /s`. */
function perProcess(rounds: RoundResult[]): string {
  const mid = rounds.find((r) => r.rate === median(rounds.map((x) => x.rate)))!;
  return `${mid.ops.map((o, k) => Math.round(o / mid.process_seconds[k]!).toLocaleString('en-US')).join(' + ')} /s`;
}

async function benchProcessCount(
  processes: number,
  pgUrl: string,
  natsUrl: string,
  progress: (msg: string) => void,
): Promise<ProcessCountReport> {
  const id = `bench${randomBytes(5).toString('hex')}`;
  const floorTable = `"${id}".bench_floor_transitions`;
  const floorSubject = `${id}.benchfloor`;
  const workers: Worker[] = [];
  progress(
    `PostgreSQL + NATS, ${processes} orchestrator process${processes > 1 ? 'es' : ''} (schema and namespace ${id})`,
  );
  try {
    await prepareServices(id, pgUrl, natsUrl, floorTable, floorSubject);
    for (let k = 0; k < processes; k++) workers.push(new Worker(k));
    await Promise.all(
      workers.map((w, k) =>
        w.ask(
          {
            type: 'init',
            worker: k,
            pgUrl,
            schema: id,
            natsUrl,
            namespace: id,
            floorTable,
            floorSubject,
            sizes: SIZES,
          },
          'ready',
        ),
      ),
    );
    const rates = {} as Record<MeasureKind, number>;
    const rounds = {} as Record<MeasureKind, RoundResult[]>;
    for (const measure of MEASURES) {
      progress(`  ${measure}, ${processes} process${processes > 1 ? 'es' : ''}`);
      rounds[measure] = [];
      for (let round = 0; round <= ROUNDS; round++) {
        await Promise.all(
          workers.map((w) => w.ask({ type: 'prepare', measure, round, warmUp: round === 0 }, 'prepared')),
        );
        const elapsed = stopwatch();
        const done = await Promise.all(workers.map((w) => w.ask({ type: 'go' }, 'done')));
        const seconds = elapsed();
        const ops = done.map((d) => d.ops);
        // Round 0 warms up JIT, connections, the stream and the prepared plans.
        if (round > 0) {
          rounds[measure].push({
            seconds,
            ops,
            process_seconds: done.map((d) => d.seconds),
            rate: ops.reduce((a, b) => a + b, 0) / seconds,
          });
        }
      }
      rates[measure] = median(rounds[measure].map((r) => r.rate));
    }
    await Promise.all(workers.map((w) => w.stop()));
    return { processes, schema: id, namespace: id, rates, rounds };
  } finally {
    for (const w of workers) w.kill();
    await removeServices(id, pgUrl, natsUrl).catch((err: unknown) =>
      process.stderr.write(`could not remove bench schema / namespace ${id}: ${(err as Error).message}\n`),
    );
  }
}

/** A fresh schema (migrated as the store migrates it), the floor's table beside it, and the floor's stream. */
async function prepareServices(
  id: string,
  pgUrl: string,
  natsUrl: string,
  floorTable: string,
  floorSubject: string,
): Promise<void> {
  const store = createPostgresStore({ url: pgUrl, schema: id });
  try {
    await store.migrate();
  } finally {
    await store.close();
  }
  const db = new pg.Client({ connectionString: pgUrl });
  await db.connect();
  try {
    // The shape of the store's transitions table: identity key, and the index its reads use.
    await db.query(`CREATE TABLE ${floorTable} (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      correlation_id text COLLATE "C" NOT NULL,
      vin text COLLATE "C" NOT NULL,
      from_state text NOT NULL,
      to_state text NOT NULL,
      timestamp bigint NOT NULL,
      reason text NOT NULL)`);
    await db.query(`CREATE INDEX ON ${floorTable} (correlation_id, id)`);
  } finally {
    await db.end();
  }
  const nc = await connect({ servers: natsUrl.split(',') });
  try {
    const jsm = await jetstreamManager(nc);
    // Settings of the bus's own streams (file storage, limits retention, dedupe window), in the namespace's
    // stream prefix so deleteNamespace removes it with the rest.
    await jsm.streams.add({
      name: `PITWALL-${id.toUpperCase()}_BENCHFLOOR`,
      subjects: [`${floorSubject}.>`],
      retention: RetentionPolicy.Limits,
      storage: StorageType.File,
      discard: DiscardPolicy.Old,
      max_age: nanos(86_400_000),
      duplicate_window: nanos(120_000),
      num_replicas: 1,
    });
  } finally {
    await nc.close();
  }
}

function removeServices(id: string, pgUrl: string, natsUrl: string): Promise<void> {
  return dropCorner(pgUrl, natsUrl, id);
}

type Reply<T extends FromWorker['type']> = Extract<FromWorker, { type: T }>;

/** A forked orchestrator process, asked one step at a time. */
class Worker {
  private readonly child: ChildProcess;
  private waiting: { expect: FromWorker['type']; resolve(msg: FromWorker): void; reject(err: Error): void } | null =
    null;
  private exited = false;

  constructor(readonly index: number) {
    this.child = fork(path.join(here, 'worker.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (msg: FromWorker) => {
      const w = this.waiting;
      this.waiting = null;
      if (!w) return;
      if (msg.type === 'error') w.reject(new Error(`bench worker ${index}: ${msg.message}`));
      else if (msg.type !== w.expect)
        w.reject(new Error(`bench worker ${index} answered ${msg.type}, not ${w.expect}`));
      else w.resolve(msg);
    });
    this.child.on('exit', (code, signal) => {
      this.exited = true;
      this.waiting?.reject(new Error(`bench worker ${index} exited (${signal ?? code})`));
      this.waiting = null;
    });
  }

  ask<T extends FromWorker['type']>(msg: ToWorker, expect: T): Promise<Reply<T>> {
    return new Promise<Reply<T>>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = null;
        reject(new Error(`bench worker ${this.index}: no ${expect} within ${STEP_TIMEOUT_MS} ms`));
      }, STEP_TIMEOUT_MS);
      this.waiting = {
        expect,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m as Reply<T>);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
      this.child.send(msg);
    });
  }

  /** Asks the worker to close its connections and waits for it to end. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const ended = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.send({ type: 'stop' } satisfies ToWorker);
    await Promise.race([ended, new Promise((r) => setTimeout(r, 10_000).unref())]);
  }

  /** Ends a worker that is still there (a failed run): by its own pid, nothing else. */
  kill(): void {
    if (!this.exited) this.child.kill('SIGKILL');
  }
}

function hostPort(url: string, defaultPort: number): { host: string; port: number } {
  const u = new URL(url.includes('://') ? url : `x://${url}`);
  return { host: u.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1', port: u.port ? Number(u.port) : defaultPort };
}

/** A service URL without its password, for the results file. */
function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/g, '//$1:***@');
}
