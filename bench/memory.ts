/**
 * Memory of a running orchestrator (child process of bench/run.ts, started with --expose-gc).
 * Prints JSON: RSS of bare Node, RSS once Pitwall has started (store, bus, agent, loop, API), and the
 * growth per vehicle once 10,000 vehicles are tracked and idle between analysis cycles.
 */
const floorRss = process.memoryUsage().rss;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

function settledRss(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().rss;
}

async function main(): Promise<void> {
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
  const VEHICLES = 10_000;
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
        const page = vins.slice(from, from + limit).map((vin, i) => workload.sampleOf(vin, clock.now() - 1000, from + i));
        return { vehicles: page, next_cursor: from + limit < vins.length ? String(from + limit) : null };
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
    store: st,
    clock,
    envelopes: signing.EnvelopeFactory.fromKeyRing('api', keys, clock),
  });
  await app.ready();
  await loop.initialize();
  const baseRss = settledRss();

  await loop.start();
  for (;;) {
    await new Promise((r) => setTimeout(r, 200));
    const states = await st.countWorkflowsByState();
    process.stderr.write(`\r  tracked ${states.idle.toLocaleString('en-US')} / ${VEHICLES.toLocaleString('en-US')} idle`);
    if (states.idle >= VEHICLES) break;
  }
  process.stderr.write('\n');
  await loop.stop();
  const trackedRss = settledRss();
  await agent.stop();
  await app.close();
  await st.close();
  rmSync(dir, { recursive: true, force: true });
  const mb = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;
  process.stdout.write(
    JSON.stringify({
      floor_rss_mb: mb(floorRss),
      base_rss_mb: mb(baseRss),
      tracked_rss_mb: mb(trackedRss),
      vehicles: VEHICLES,
      per_vehicle_bytes: Math.max(0, Math.round((trackedRss - baseRss) / VEHICLES)),
    }),
  );
}

await main();
