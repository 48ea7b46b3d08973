/**
 * Memory of a running orchestrator (child process of bench/run.ts, started with --expose-gc).
 * Prints JSON: RSS of bare Node, RSS once Pitwall has started (store, bus, agent, loop, API), and the
 * growth per vehicle once 10,000 vehicles are tracked and idle between analysis cycles.
 */
import { readFileSync, statSync } from 'node:fs';

const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

interface Snapshot {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  /** RSS backed by anonymous memory (heap, malloc, SQLite's page cache) vs by files (node binary, .so). */
  rssAnon: number;
  rssFile: number;
}

function procStatusKb(text: string, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text);
  return m ? Number(m[1]) * 1024 : 0;
}

function settled(): Snapshot {
  for (let i = 0; i < 3; i++) gc();
  const u = process.memoryUsage();
  let status = '';
  try {
    status = readFileSync('/proc/self/status', 'utf8');
  } catch {
    // not Linux: the anon/file split is left at 0
  }
  return {
    rss: u.rss,
    heapUsed: u.heapUsed,
    heapTotal: u.heapTotal,
    external: u.external,
    rssAnon: procStatusKb(status, 'RssAnon'),
    rssFile: procStatusKb(status, 'RssFile'),
  };
}

async function main(): Promise<void> {
  const floor = settled();
  const [{ mkdtempSync, rmSync }, os, path, pino, clocks, mem, signing, store, loopMod, analysis, api, workload] = await Promise.all([
    import('node:fs'),
    import('node:os'),
    import('node:path'),
    import('pino'),
    import('../src/clock/clocks.js'),
    import('../src/bus/memory.js'),
    import('../src/bus/signing.js'),
    import('../src/store/index.js'),
    import('../src/orchestrator/main-loop.js'),
    import('../src/analysis/index.js'),
    import('../src/api/server.js'),
    import('./workload.js'),
  ]);
  // Two stages of 10,000: the first also fills bounded caches (SQLite's page cache), the second shows
  // what one more tracked vehicle costs once they are warm.
  const STAGE = 10_000;
  const VEHICLES = 2 * STAGE;
  let tracked = STAGE;
  const T0 = Date.parse('2026-06-01T00:00:00Z');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pitwall-mem-'));
  const log = pino.default({ level: 'silent' });
  const clock = new clocks.ManualClock(T0);
  const keys = signing.keyRingFromSecret('bench-secret-0123456789abcdef');
  const bus = new mem.MemoryBus({ clock });
  const st = store.createSqliteStore({ path: path.join(dir, 'pitwall.db') });
  const vins = Array.from({ length: VEHICLES }, (_, i) => workload.vinOf(i));
  const loop = new loopMod.MainOrchestrationLoop({
    telematicsApiUrl: 'http://127.0.0.1:1',
    schedulerApiUrl: 'http://127.0.0.1:1',
    pollingInterval: 3600,
    store: st,
    bus,
    clock,
    keys,
    log,
    tickMs: 5,
    minPollGapMs: 0,
    telematicsClient: {
      async fetchPage(cursor, limit) {
        const from = cursor ? Number(cursor) : 0;
        const page = vins.slice(from, Math.min(tracked, from + limit)).map((vin, i) => workload.sampleOf(vin, clock.now() - 1000, from + i));
        return { vehicles: page, next_cursor: from + limit < tracked ? String(from + limit) : null };
      },
      async fetchHistory(vin) {
        return Array.from({ length: 24 }, (_, h) => workload.sampleOf(vin, clock.now() - (24 - h) * 3600_000, h));
      },
    },
  });
  const agent = analysis.createDataAnalysisAgent({
    bus,
    clock,
    log,
    envelopes: signing.EnvelopeFactory.fromKeyRing('data_analysis', keys, clock),
  });
  await agent.start();
  const app = await api.createApiServer({
    loop,
    bus,
    store: st,
    clock,
    envelopes: signing.EnvelopeFactory.fromKeyRing('api', keys, clock),
  });
  await app.ready();
  await loop.initialize();
  const base = settled();

  const trackAll = async (n: number) => {
    for (;;) {
      await new Promise((r) => setTimeout(r, 200));
      const states = await st.countWorkflowsByState();
      process.stderr.write(`\r  tracked ${states.idle.toLocaleString('en-US')} / ${n.toLocaleString('en-US')} idle`);
      if (states.idle >= n) break;
    }
    process.stderr.write('\n');
  };
  await loop.start();
  await trackAll(STAGE);
  await loop.stop();
  const first = settled();
  tracked = VEHICLES;
  clock.advance(3600_000); // the next fleet poll finds the second 10,000
  await loop.start();
  await trackAll(VEHICLES);
  await loop.stop();
  const second = settled();
  const dbBytes = ['', '-wal'].reduce((n, suffix) => n + fileSize(path.join(dir, `pitwall.db${suffix}`)), 0);
  await agent.stop();
  await app.close();
  await st.close();
  rmSync(dir, { recursive: true, force: true });
  const mb = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;
  const shape = (m: Snapshot) => ({
    rss_mb: mb(m.rss),
    rss_anon_mb: mb(m.rssAnon),
    rss_file_mb: mb(m.rssFile),
    heap_used_mb: mb(m.heapUsed),
    heap_total_mb: mb(m.heapTotal),
    external_mb: mb(m.external),
  });
  process.stdout.write(
    JSON.stringify({
      floor_rss_mb: mb(floor.rss),
      base_rss_mb: mb(base.rss),
      tracked_rss_mb: mb(first.rss),
      tracked_2_rss_mb: mb(second.rss),
      vehicles: STAGE,
      per_vehicle_bytes: Math.max(0, Math.round((first.rss - base.rss) / STAGE)),
      per_vehicle_heap_bytes: Math.round((first.heapUsed - base.heapUsed) / STAGE),
      per_vehicle_bytes_next: Math.max(0, Math.round((second.rss - first.rss) / STAGE)),
      per_vehicle_heap_bytes_next: Math.round((second.heapUsed - first.heapUsed) / STAGE),
      node_flags: process.execArgv.filter((a) => a !== '--expose-gc'),
      sqlite_cache_kib: store.SQLITE_CACHE_KIB,
      db_file_mb: mb(dbBytes),
      floor: shape(floor),
      base: shape(base),
      tracked: shape(first),
      tracked_2: shape(second),
    }),
  );
}

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

await main();
