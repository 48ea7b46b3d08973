/**
 * `npm run bench`: Pitwall's speed and memory, each beside a floor measured in the same run.
 * Prints a table and writes bench/results/bench-<time>.json. Tests never assert timings; this does.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pino from 'pino';
import { ManualClock } from '../src/clock/clocks.js';
import { decide } from '../src/core/decider.js';
import { sampleToWire, validateSample } from '../src/core/telemetry.js';
import { analyzeVehicle, HistoryStore } from '../src/analysis/index.js';
import { createFleet } from '../src/sim/index.js';
import { newWorkflow, type Workflow } from '../src/core/workflow.js';
import { DecisionApplier } from '../src/orchestrator/applier.js';
import { createSqliteStore } from '../src/store/index.js';
import { INGEST_SOURCES, TelemetryIngest } from '../src/orchestrator/ingest.js';
import { DEFAULT_WORKFLOW_CONFIG } from '../src/core/workflow.js';
import { benchDistributed } from './distributed/index.js';
import { LIFECYCLE, T0, buildCommits, cidOf, sampleOf, vinOf } from './workload.js';
import { fmt, inWindows, machine, medianRateAsync, opsPerSecond, printTable, stopwatch, type Measure } from './lib.js';
/**
 * V8 flags recommended for the `pitwall` bin: a 1 MB young generation (semi-space) instead of V8's
 * default of up to 16 MB, which Pitwall's short-lived garbage never needs and which stays resident.
 */
/** The V8 flags `npm start` and the `pitwall` bin run with (package.json, src/cli/main.ts shebang). */
const PRODUCT_NODE_FLAGS = ['--max-semi-space-size=1'];

interface MemorySnapshot {
  rss_mb: number;
  rss_anon_mb: number;
  rss_file_mb: number;
  heap_used_mb: number;
  heap_total_mb: number;
  external_mb: number;
}

/** What bench/memory.ts prints. */
interface MemoryReport {
  floor_rss_mb: number;
  base_rss_mb: number;
  tracked_rss_mb: number;
  tracked_2_rss_mb: number;
  vehicles: number;
  per_vehicle_bytes: number;
  per_vehicle_heap_bytes: number;
  per_vehicle_bytes_next: number;
  per_vehicle_heap_bytes_next: number;
  node_flags: string[];
  sqlite_cache_kib: number;
  db_file_mb: number;
  floor: MemorySnapshot;
  base: MemorySnapshot;
  tracked: MemorySnapshot;
  tracked_2: MemorySnapshot;
}
const here = path.dirname(fileURLToPath(import.meta.url));

function progress(msg: string): void {
  process.stderr.write(`… ${msg}\n`);
}

/** Drives `n` workflows through whole cases with the pure decider; returns transitions made. */
function runDecider(n: number): number {
  let transitions = 0;
  for (let i = 0; i < n; i++) {
    const vin = vinOf(i);
    let wf: Workflow = newWorkflow(vin, cidOf(vin, T0), T0);
    let now = T0;
    for (const step of LIFECYCLE) {
      now += 1000;
      const d = decide(wf, step(wf, now), now);
      transitions += d.transitions.length;
      wf = d.workflow;
    }
  }
  return transitions;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pitwall-bench-'));
  const results: Measure[] = [];
  const memory: MemoryReport[] = [];
  const loadAtStart = os.loadavg()[0]!;
  let distributed: unknown = null;
  let distributedSkipped: string | null = null;
  try {
    // 1. Pure decider vs JSON.parse of the same samples.
    progress('pure decider');
    const samples = Array.from({ length: 20_000 }, (_, i) => JSON.stringify(sampleOf(vinOf(i), T0, i)));
    const parseRate = opsPerSecond(() => {
      let n = 0;
      for (const s of samples) n += JSON.parse(s) ? 1 : 0;
      return n;
    });
    const deciderRate = opsPerSecond(() => runDecider(5000));
    results.push({ name: 'pure decider transitions/s', value: deciderRate, unit: 'transitions/s', floor: { name: 'JSON.parse samples/s', value: parseRate } });

    // 1b. Analysis on one core: what the data-analysis agent does per request (validate each wire
    // sample, then analyse the vehicle's 14-day window), on simulated vehicles (some degrading).
    progress('analysis throughput (simulated fleet, 14-day windows)');
    const fleet = createFleet({ seed: 7, vehicles: 200, startTime: T0 - 30 * 86_400_000 });
    const windows = fleet.infos().map((v) =>
      Array.from({ length: 336 }, (_, h) => sampleToWire(fleet.sample(v.vin, T0 - (336 - h) * 3_600_000)!)),
    );
    const windowJson = windows.map((w) => w.map((x) => JSON.stringify(x)));
    const analysisFloor = opsPerSecond(() => {
      let n = 0;
      for (const w of windowJson) for (const x of w) n += JSON.parse(x) ? 1 : 0;
      return n;
    });
    // With the agent's per-vehicle memory, as the agent runs: each request also reads and updates it.
    const history = new HistoryStore();
    const analysisRate = opsPerSecond(() => {
      let n = 0;
      for (const [i, w] of windows.entries()) {
        const valid = [];
        for (const x of w) {
          const r = validateSample(x, T0);
          if (r.ok) valid.push(r.sample);
        }
        analyzeVehicle(valid, T0, {}, undefined, { store: history, vin: fleet.infos()[i]!.vin });
        n += w.length;
      }
      return n;
    }, 3);
    results.push({
      name: 'analysis (validate + analyse), one core',
      value: analysisRate,
      unit: 'samples/s',
      floor: { name: 'JSON.parse samples/s', value: analysisFloor },
      target: '≥ 50,000',
      met: analysisRate >= 50_000,
    });

    // 1c. The agent's per-vehicle history: bytes per tracked vehicle, in a child with a clean heap.
    progress('analysis memory per tracked vehicle (child process, 2 × 10,000 vehicles)');
    const am = JSON.parse(
      execFileSync(process.execPath, ['--expose-gc', path.join(here, 'analysis-memory.js'), '--vehicles', '10000'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      }),
    ) as { vehicles: number; per_vehicle_bytes: number; per_vehicle_bytes_next: number; state_bytes: number; floor_window_bytes: number };
    for (const [label, value] of [
      [`first ${am.vehicles.toLocaleString('en-US')}`, am.per_vehicle_bytes],
      [`next ${am.vehicles.toLocaleString('en-US')}`, am.per_vehicle_bytes_next],
    ] as const) {
      results.push({
        name: `analysis history per tracked vehicle (${label})`,
        value,
        unit: 'bytes',
        floor: { name: 'one 14-day window of parsed samples, bytes', value: am.floor_window_bytes },
        target: '≤ 2,048 B',
        met: value <= 2048,
        note: `state array ${am.state_bytes} B per vehicle (32 days × 13 signals + normals, Int16)`,
      });
    }

    // 2. Persisted transitions: decision + transitions + outbox + timers in one SQLite transaction per batch.
    progress('persisted transitions (SQLite, WAL)');
    const BATCH = 250;
    const floorDb = new Database(path.join(dir, 'floor.db'));
    floorDb.pragma('journal_mode = WAL');
    floorDb.pragma('synchronous = NORMAL');
    floorDb.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, correlation_id TEXT, vin TEXT, from_state TEXT, to_state TEXT, timestamp INTEGER, reason TEXT)');
    const ins = floorDb.prepare('INSERT INTO t (correlation_id, vin, from_state, to_state, timestamp, reason) VALUES (?, ?, ?, ?, ?, ?)');
    const insertBatch = floorDb.transaction((rows: number) => {
      for (let i = 0; i < rows; i++) ins.run('workflow-1PWBENCH000000001-1', '1PWBENCH000000001', 'idle', 'polling_telemetry', T0 + i, 'analysis cycle due');
    });
    const floorRate = opsPerSecond(() => {
      for (let b = 0; b < 40; b++) insertBatch(BATCH);
      return 40 * BATCH;
    });
    floorDb.close();

    const store = createSqliteStore({ path: path.join(dir, 'pitwall.db') });
    await store.migrate();
    let offset = 0;
    const persistedRate = await medianRateAsync(async () => {
      const steps = buildCommits(2000, offset);
      offset += 2000;
      // Building commits is the decider's cost, measured above; only the writes are timed here.
      const elapsed = stopwatch();
      let transitions = 0;
      for (const step of steps) {
        for (let i = 0; i < step.length; i += BATCH) {
          const batch = step.slice(i, i + BATCH);
          const out = await store.commitDecisions(batch);
          if (out.some((o) => o !== 'committed')) throw new Error(`unexpected outcome ${out.find((o) => o !== 'committed')}`);
          for (const c of batch) transitions += c.transitions.length;
        }
      }
      return { ops: transitions, seconds: elapsed() };
    });
    results.push({
      name: 'persisted transitions/s (batches of 250)',
      value: persistedRate,
      unit: 'transitions/s',
      floor: { name: 'bare SQLite insert rows/s', value: floorRate },
      target: '≥ 20,000',
      met: persistedRate >= 20_000,
    });

    // 3. End to end: raw sample → JSON.parse → validate → persisted decision. Samples are applied with
    // `inFlight` of them outstanding at once, as the orchestrator has many vehicles' fetches in flight;
    // the applier commits the decisions of one tick together (group commit).
    const clock = new ManualClock(T0 + DEFAULT_WORKFLOW_CONFIG.stateTimeoutMs);
    const e2eStore = createSqliteStore({ path: path.join(dir, 'e2e.db') });
    await e2eStore.migrate();
    const applier = new DecisionApplier(e2eStore, clock, DEFAULT_WORKFLOW_CONFIG);
    const ingest = new TelemetryIngest(e2eStore, clock, pino({ level: 'silent' }));
    let round = 0;
    const ingestRate = (inFlight: number) =>
      medianRateAsync(async () => {
        const n = 2000;
        const base = round++ * n;
        await inWindows(n, 250, (i) => applier.apply({ vin: vinOf(base + i), createIfMissing: true }, { type: 'cycle_started' }));
        const raw = Array.from({ length: n }, (_, i) => JSON.stringify(sampleOf(vinOf(base + i), clock.now() - 1000, i)));
        const elapsed = stopwatch();
        const parsed = raw.map((r) => JSON.parse(r) as unknown);
        // One ingest path: validated (and the vehicles recorded) once, then applied as the history fetch does.
        const { accepted } = await ingest.live(parsed, INGEST_SOURCES.poll);
        if (accepted.length !== n) throw new Error(`${n - accepted.length} samples refused`);
        const results = await inWindows(n, inFlight, (i) => {
          const sample = accepted[i]!;
          return applier.apply({ vin: sample.vin }, { type: 'telemetry_received', samples: [sampleToWire(sample)] });
        });
        const seconds = elapsed();
        const notApplied = results.find((r) => r.status !== 'applied');
        if (notApplied) throw new Error(`unexpected apply result ${JSON.stringify(notApplied)}`);
        return { ops: n, seconds };
      });
    for (const inFlight of [1, 8, 250]) {
      progress(`ingest → persisted decision, ${inFlight} in flight`);
      const rate = await ingestRate(inFlight);
      results.push({
        name: `ingest → persisted decision (${inFlight} in flight)`,
        value: rate,
        unit: 'samples/s',
        floor: { name: 'JSON.parse samples/s', value: parseRate },
      });
    }
    await e2eStore.close();
    await store.close();

    // 3b. The same commit path and ingest path on PostgreSQL + NATS JetStream, with 1 and 2 orchestrator
    // processes, each beside floors those processes measure in the same run (bench/distributed/).
    // A service that answers but fails the run costs the distributed rows only, never the embedded ones.
    const outcome = await benchDistributed(progress).catch((err: unknown) => ({
      skipped: `distributed rows (PostgreSQL + NATS) failed: ${err instanceof Error ? err.message : String(err)}`,
    }));
    if ('skipped' in outcome) {
      distributedSkipped = outcome.skipped;
      progress(outcome.skipped);
    } else {
      results.push(...outcome.rows);
      distributed = outcome.report;
    }

    // 4. Memory, in a fresh process so nothing measured above is resident: once as plain `node`, once
    // with the V8 flags the `pitwall` bin is recommended to start with (see PRODUCT_NODE_FLAGS).
    for (const flags of [[], PRODUCT_NODE_FLAGS]) {
      const how = flags.length === 0 ? 'plain node' : flags.join(' ');
      progress(`memory (child process, ${how}, 2 × 10,000 tracked vehicles)`);
      const out = execFileSync(process.execPath, ['--expose-gc', ...flags, path.join(here, 'memory.js')], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const mem = JSON.parse(out) as MemoryReport;
      memory.push(mem);
      const note = `heap used ${fmt(mem.base.heap_used_mb)} MB, anon ${fmt(mem.base.rss_anon_mb)} MB + file-backed ${fmt(mem.base.rss_file_mb)} MB; SQLite cache ≤ ${fmt(mem.sqlite_cache_kib / 1024)} MB`;
      results.push({
        name: `resident memory at start (${how})`,
        value: mem.base_rss_mb,
        unit: 'MB',
        floor: { name: 'bare node RSS MB', value: mem.floor_rss_mb },
        target: '≤ 50 MB',
        met: mem.base_rss_mb <= 50,
        note,
      });
      results.push({
        name: `memory per idle tracked vehicle (${mem.vehicles.toLocaleString('en-US')}, ${how})`,
        value: mem.per_vehicle_bytes,
        unit: 'bytes',
        target: '≤ 1,024 B',
        met: mem.per_vehicle_bytes <= 1024,
        note: `of which JS heap ${mem.per_vehicle_heap_bytes} B; RSS ${fmt(mem.base_rss_mb)} → ${fmt(mem.tracked_rss_mb)} MB (fills the ${fmt(mem.sqlite_cache_kib / 1024)} MB SQLite cache)`,
      });
      results.push({
        name: `memory per idle tracked vehicle (next ${mem.vehicles.toLocaleString('en-US')}, ${how})`,
        value: mem.per_vehicle_bytes_next,
        unit: 'bytes',
        target: '≤ 1,024 B',
        met: mem.per_vehicle_bytes_next <= 1024,
        note: `of which JS heap ${mem.per_vehicle_heap_bytes_next} B; RSS ${fmt(mem.tracked_rss_mb)} → ${fmt(mem.tracked_2_rss_mb)} MB, database ${fmt(mem.db_file_mb)} MB`,
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const m = machine();
  const load = { start: round2(loadAtStart), end: round2(os.loadavg()[0]!) };
  console.log(`\nPitwall benchmark — ${m.cpu}, ${m.cores} cores, ${m.memory_gib} GiB, ${m.os}, Node ${m.node}`);
  // Other work on the machine takes cores from every figure; the load says how much.
  console.log(`load average (1 min): ${load.start} at start, ${load.end} at end\n`);
  printTable(results);
  if (distributedSkipped) console.log(`\n${distributedSkipped}`);
  const outDir = path.join(here, '..', '..', 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify({ machine: m, load_average_1m: load, at: new Date().toISOString(), results, memory, distributed, distributed_skipped: distributedSkipped }, null, 2));
  console.log(`\nwritten ${path.relative(process.cwd(), file)}`);
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

await main();
