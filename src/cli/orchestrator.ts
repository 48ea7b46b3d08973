/** `pitwall orchestrator`: the orchestrator, its agents and the HTTP API against given telematics and scheduler APIs. */
import path from 'node:path';
import pc from 'picocolors';
import { isoTime } from '../core/clock.js';
import { clockFor, startSystem } from './compose.js';
import type { Config } from './config.js';
import { createLogger } from './logger.js';

export async function startOrchestrator(config: Readonly<Config>): Promise<void> {
  const log = createLogger(config.logLevel);
  const clock = clockFor(config);
  const system = await startSystem({ config, clock, log, notificationUrl: config.notifyUrl || config.telematicsUrl });
  process.stdout.write(
    [
      pc.bold('Pitwall orchestrator running'),
      `  API         ${system.apiUrl}`,
      `  telematics  ${config.telematicsUrl}  (poll every ${config.pollingInterval} s)`,
      `  scheduler   ${config.schedulerUrl}`,
      `  store       ${path.join(config.dataDir, 'pitwall.db')}`,
      `  clock       ${isoTime(clock.now())} at ${config.speed}×`,
      `  ${system.analysisModel.description}`,
      '',
    ].join('\n'),
  );
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    await system.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}
