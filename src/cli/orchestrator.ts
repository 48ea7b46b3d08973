/**
 * `pitwall orchestrator`: the orchestrator and the HTTP API against given telematics and scheduler APIs,
 * on the configured store and bus. On the in-process bus its agents run here too (they could run nowhere
 * else); on NATS each agent runs as `pitwall agent <kind>`, any number of each, and so may orchestrators.
 */
import pc from 'picocolors';
import { isoTime } from '../core/clock.js';
import { describeBus, describeStore } from './adapters.js';
import { clockFor, startSystem } from './compose.js';
import type { Config } from './config.js';
import { createLogger } from './logger.js';
import { onStopSignal } from './signals.js';

export async function startOrchestrator(config: Readonly<Config>): Promise<void> {
  const log = createLogger(config.logLevel);
  const clock = clockFor(config);
  const system = await startSystem({ config, clock, log, notificationUrl: config.notifyUrl || config.telematicsUrl });
  const agents = system.agents.map((a) => a.name).join(', ');
  process.stdout.write(
    [
      pc.bold('Pitwall orchestrator running'),
      `  API         ${system.apiUrl}`,
      `  telematics  ${config.telematicsUrl}  (poll every ${config.pollingInterval} s)`,
      `  scheduler   ${config.schedulerUrl}`,
      `  store       ${describeStore(config)}`,
      `  bus         ${describeBus(config)}`,
      `  agents      ${agents || pc.dim('none here (run `pitwall agent <kind>`)')}`,
      `  clock       ${isoTime(clock.now())} at ${config.speed}×`,
      ...(system.analysisModel ? [`  ${system.analysisModel.description}`] : []),
      '',
    ].join('\n'),
  );
  onStopSignal(log, () => system.stop());
}
