/**
 * `pitwall start`: the whole embedded system in one process — simulated fleet, mock telematics and
 * scheduler APIs, orchestrator, agents on the in-process bus, SQLite store, HTTP API — on a virtual
 * clock. Starting again resumes: the store keeps the workflows, the data directory keeps the virtual
 * time, and the mocks keep their state there exactly as `pitwall mock` does (the fleet's origin, the
 * services done, the notifications delivered, the appointments).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pc from 'picocolors';
import { ScaledClock } from '../clock/clocks.js';
import { isoTime } from '../core/clock.js';
import { startSchedulerMock, startTelematicsMock } from '../sim/index.js';
import { startSystem } from './compose.js';
import { ConfigError, personasOf, type Config } from './config.js';
import { busKind, describeBus, describeStore } from './adapters.js';
import { clusterChildren, epochFor, superviseChildren } from './cluster.js';
import { createLogger } from './logger.js';
import { describeState } from './mock.js';
import { loadAnalysisModel } from './model.js';
import { startSummary } from './summary.js';

export async function startEmbedded(config: Readonly<Config>): Promise<void> {
  mkdirSync(config.dataDir, { recursive: true });
  const logFile = path.join(config.dataDir, 'pitwall.log');
  const log = createLogger(config.logLevel, logFile);
  // Before the mocks listen: a bad model file must end the process, not leave servers running.
  const analysisModel = loadAnalysisModel(config);

  // Virtual time survives restarts in the data directory; the fleet's origin is the telematics mock's.
  const clockFile = path.join(config.dataDir, 'clock.json');
  const saved = existsSync(clockFile)
    ? (JSON.parse(readFileSync(clockFile, 'utf8')) as { virtual_now: number; fleet_start: number; seed: number; vehicles: number })
    : null;
  if (saved && (saved.seed !== config.seed || saved.vehicles !== config.vehicles)) {
    throw new Error(
      `${config.dataDir} holds a fleet of ${saved.vehicles} vehicles with seed ${saved.seed}; ` +
        `use --data-dir for a new one or run with --vehicles ${saved.vehicles} --seed ${saved.seed}`,
    );
  }
  const virtualOrigin = config.clockEpoch ? Date.parse(config.clockEpoch) : (saved?.virtual_now ?? Date.now());
  const cluster = busKind(config) === 'nats';
  if (!cluster && (config.orchestrators > 1 || config.agents > 1)) {
    throw new ConfigError('--orchestrators and --agents above 1 need a bus the processes share: add --bus nats://127.0.0.1:4222 (and --db postgres://… for a store they share)');
  }
  // A cluster's processes read one clock: the launcher's, given to each child as its epoch.
  const epoch = cluster ? epochFor(virtualOrigin, Date.now(), config.speed) : null;
  const clock =
    epoch === null
      ? new ScaledClock({ virtualOrigin, speed: config.speed })
      : new ScaledClock({ virtualOrigin: epoch, realOrigin: epoch, speed: config.speed });

  const pitwallUrl = `http://${config.host}:${config.port}`;
  // The same state files, locks and migrations as `pitwall mock`: the journal keeps the fleet's origin
  // (clock.json's fleet_start only seeds it for a data directory of an older layout), the repairs and
  // the delivered notifications; the scheduler keeps its appointments.
  const telematics = await startTelematicsMock({
    port: config.telematicsPort,
    host: config.host,
    clock,
    seed: config.seed,
    vehicles: config.vehicles,
    startTime: saved?.fleet_start ?? virtualOrigin,
    badSampleRate: config.badSampleRate,
    ...personasOf(config),
    pitwallUrl,
    dataDir: config.dataDir,
  });
  const scheduler = await startSchedulerMock({
    port: config.schedulerPort,
    host: config.host,
    clock,
    pitwallUrl,
    dataDir: config.dataDir,
    // In one process: the journaling fleet itself, so each repair is on disk before it is reported.
    serviceVehicle: (vin, components, at) => telematics.fleet.serviceVehicle(vin, components, at),
  }).catch(async (err: unknown) => {
    await telematics.close();
    throw err;
  });
  const fleetStart = telematics.fleet.startTime;
  const { saveClock } = await import('./clock-file.js');
  const persistClock = () => saveClock(clockFile, { virtual_now: clock.now(), fleet_start: fleetStart, seed: config.seed, vehicles: config.vehicles });
  persistClock();

  const systemConfig: Readonly<Config> = {
    ...config,
    telematicsUrl: telematics.url,
    schedulerUrl: scheduler.url,
    pitwallUrl,
    notifyUrl: telematics.url,
    ...(epoch !== null ? { clockEpoch: new Date(epoch).toISOString() } : {}),
    // Orchestrator 1 of a cluster keeps its name across restarts, as its siblings do (cluster.ts).
    ...(cluster && !config.instanceId ? { instanceId: 'orchestrator-1' } : {}),
  };
  const system = await startSystem({
    config: systemConfig,
    clock,
    log,
    notificationUrl: telematics.url,
    analysisModel,
  }).catch(async (err: unknown) => {
    // Listening mocks would keep the process (and their locks) alive after the error is reported.
    await scheduler.close();
    await telematics.close();
    throw err;
  });
  const children = cluster ? superviseChildren(clusterChildren(config, config.orchestrators, config.agents), systemConfig, log) : null;

  const out = process.stdout;
  out.write(
    [
      pc.bold(cluster ? `Pitwall is running (local cluster: ${config.orchestrators} orchestrators, ${config.agents} of each agent)` : 'Pitwall is running (embedded)'),
      `  API            ${system.apiUrl}/api/statistics   (OpenAPI: ${system.apiUrl}/api/openapi.json)`,
      `  telematics     ${telematics.url}   (simulated fleet of ${config.vehicles}, seed ${config.seed})`,
      `  scheduler      ${scheduler.url}`,
      `  mock state     ${describeState(telematics) ?? ''}`,
      `                 ${describeState(scheduler) ?? ''}`,
      `  store          ${describeStore(config)}`,
      `  bus            ${describeBus(config)}`,
      ...(children ? [`  processes      this one (mocks, orchestrator 1, API) + ${children.children.length}: ${children.children.map((c) => c.name).join(', ')}`, `                 their logs: ${path.join(config.dataDir, '<name>.log')}`] : []),
      `  log            ${logFile}`,
      `  virtual clock  ${isoTime(clock.now())} at ${config.speed}× ${saved ? pc.dim('(resumed)') : ''}`,
      ...(cluster ? [] : [`  ${analysisModel.description}`]),
      pc.dim('  Ctrl-C stops; starting again resumes from the store.'),
      '',
    ].join('\n'),
  );

  const summary = startSummary({ loop: system.loop, clock, out, intervalMs: 1000 });
  const clockTimer = setInterval(persistClock, 1000);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    summary.stop();
    clearInterval(clockTimer);
    out.write(`\n${pc.dim(`${signal}: stopping…`)}\n`);
    await children?.stop();
    await system.stop();
    await scheduler.close();
    await telematics.close();
    persistClock();
    log.info('stopped');
    out.write(`${pc.dim('stopped cleanly')}\n`);
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}
