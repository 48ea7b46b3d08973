/** `pitwall agent <kind>`: one agent on a shared bus; run any number of each kind beside the orchestrators. */
import pc from 'picocolors';
import { describeBus } from './adapters.js';
import { clockFor, startAgents, type AgentKind } from './compose.js';
import type { Config } from './config.js';
import { createLogger } from './logger.js';
import { onStopSignal } from './signals.js';

export async function startAgentProcess(kind: AgentKind, config: Readonly<Config>): Promise<void> {
  const log = createLogger(config.logLevel).child({ process: `agent:${kind}` });
  const clock = clockFor(config);
  const running = await startAgents([kind], { config, clock, log, notificationUrl: config.notifyUrl || config.telematicsUrl });
  process.stdout.write(
    [pc.bold(`Pitwall agent running: ${running.agents.map((a) => a.name).join(', ')}`), `  bus  ${describeBus(config)}`, ''].join('\n'),
  );
  onStopSignal(log, () => running.stop());
}
