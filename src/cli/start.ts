/**
 * `pitwall start`: the whole embedded system in one process — simulated fleet, mock telematics and
 * scheduler APIs, orchestrator, agents on the in-process bus, SQLite store, HTTP API — on a virtual
 * clock. Starting again resumes: the store keeps the workflows, the data directory keeps the virtual
 * time, the fleet's origin and the services already done.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import pc from 'picocolors';
import { ScaledClock } from '../clock/clocks.js';
import { isoTime } from '../core/clock.js';
import type { Component } from '../core/telemetry.js';
import { startSchedulerMock, startTelematicsMock } from '../sim/index.js';
import { startSystem } from './compose.js';
import { personasOf, type Config } from './config.js';
import { createLogger } from './logger.js';
import { loadAnalysisModel } from './model.js';
import { startSummary } from './summary.js';

interface ServiceRecord {
  vin: string;
  components: Component[];
  at: number;
}

export async function startEmbedded(config: Readonly<Config>): Promise<void> {
  mkdirSync(config.dataDir, { recursive: true });
  const logFile = path.join(config.dataDir, 'pitwall.log');
  const log = createLogger(config.logLevel, logFile);
  // Before the mocks listen: a bad model file must end the process, not leave servers running.
  const analysisModel = loadAnalysisModel(config);

  // Virtual time and the fleet's origin survive restarts in the data directory.
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
  const clock = new ScaledClock({ virtualOrigin, speed: config.speed });
  const fleetStart = saved?.fleet_start ?? virtualOrigin;
  const { saveClock } = await import('./clock-file.js');
  const persistClock = () => saveClock(clockFile, { virtual_now: clock.now(), fleet_start: fleetStart, seed: config.seed, vehicles: config.vehicles });
  persistClock();

  const pitwallUrl = `http://${config.host}:${config.port}`;
  const telematics = await startTelematicsMock({
    port: config.telematicsPort,
    host: config.host,
    clock,
    seed: config.seed,
    vehicles: config.vehicles,
    startTime: fleetStart,
    badSampleRate: config.badSampleRate,
    ...personasOf(config),
    pitwallUrl,
  });
  // Services already done are replayed, so a repaired vehicle stays repaired after a restart.
  const servicesFile = path.join(config.dataDir, 'sim-services.jsonl');
  if (existsSync(servicesFile)) {
    for (const line of readFileSync(servicesFile, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const r = JSON.parse(line) as ServiceRecord;
      telematics.fleet.serviceVehicle(r.vin, r.components, r.at);
    }
  }
  const scheduler = await startSchedulerMock({
    port: config.schedulerPort,
    host: config.host,
    clock,
    pitwallUrl,
    stateFile: path.join(config.dataDir, 'sim-appointments.json'),
    serviceVehicle: async (vin, components, at) => {
      const findings = telematics.fleet.serviceVehicle(vin, components, at);
      appendFileSync(servicesFile, `${JSON.stringify({ vin, components, at } satisfies ServiceRecord)}\n`);
      return findings;
    },
  });

  const system = await startSystem({
    config: { ...config, telematicsUrl: telematics.url, schedulerUrl: scheduler.url, pitwallUrl },
    clock,
    log,
    notificationUrl: telematics.url,
    analysisModel,
  });

  const out = process.stdout;
  out.write(
    [
      pc.bold('Pitwall is running (embedded)'),
      `  API            ${system.apiUrl}/api/statistics   (OpenAPI: ${system.apiUrl}/api/openapi.json)`,
      `  telematics     ${telematics.url}   (simulated fleet of ${config.vehicles}, seed ${config.seed})`,
      `  scheduler      ${scheduler.url}`,
      `  store          ${path.join(config.dataDir, 'pitwall.db')}`,
      `  log            ${logFile}`,
      `  virtual clock  ${isoTime(clock.now())} at ${config.speed}× ${saved ? pc.dim('(resumed)') : ''}`,
      `  ${analysisModel.description}`,
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
