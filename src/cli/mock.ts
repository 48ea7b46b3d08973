/** `pitwall mock telematics|scheduler`: one mock API on its own, for a distributed or end-to-end set-up. */
import path from 'node:path';
import pc from 'picocolors';
import { isoTime } from '../core/clock.js';
import { startSchedulerMock, startTelematicsMock } from '../sim/index.js';
import { clockFor } from './compose.js';
import { personasOf, type Config } from './config.js';

export async function startMock(which: 'telematics' | 'scheduler', port: number, config: Readonly<Config>): Promise<void> {
  const clock = clockFor(config);
  const mock =
    which === 'telematics'
      ? await startTelematicsMock({
          port,
          host: config.host,
          clock,
          seed: config.seed,
          vehicles: config.vehicles,
          badSampleRate: config.badSampleRate,
          ...personasOf(config),
          pitwallUrl: config.pitwallUrl,
          // Every process given the same epoch plants the same faults at the same times.
          ...(config.clockEpoch ? { startTime: Date.parse(config.clockEpoch) } : {}),
        })
      : await startSchedulerMock({
          port,
          host: config.host,
          clock,
          pitwallUrl: config.pitwallUrl,
          telematicsUrl: config.telematicsUrl,
          stateFile: path.join(config.dataDir, `mock-scheduler-${port}.json`),
        });
  process.stdout.write(`${pc.bold(`mock ${which} API`)} listening on ${mock.url} (clock ${isoTime(clock.now())} at ${config.speed}×)\n`);
  const stop = async () => {
    await mock.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}
