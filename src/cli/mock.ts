/** `pitwall mock telematics|scheduler`: one mock API on its own, for a distributed or end-to-end set-up. */
import pc from 'picocolors';
import { isoTime } from '../core/clock.js';
import { startSchedulerMock, startTelematicsMock, type SchedulerMock, type TelematicsMock } from '../sim/index.js';
import { clockFor } from './compose.js';
import { personasOf, type Config } from './config.js';

/** Where a mock keeps its state and what it found there (null: it keeps none). */
export function describeState(mock: TelematicsMock | SchedulerMock): string | null {
  if (!mock.stateFile) return null;
  const r = mock.resumed;
  const found = !r
    ? 'new'
    : 'appointments' in r
      ? `resumed ${r.appointments} appointments`
      : `resumed ${r.services} services and ${r.notifications} notifications`;
  const origin = 'fleet' in mock ? `, fleet origin ${isoTime(mock.fleet.startTime)}` : '';
  const taken = mock.migrated.length > 0 ? `, taken over from ${mock.migrated.join(', ')}` : '';
  return `${mock.stateFile} (${found}${origin}${taken})`;
}

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
          // Every process given the same epoch plants the same faults at the same times (a data directory
          // that already keeps this fleet's origin keeps it).
          ...(config.clockEpoch ? { startTime: Date.parse(config.clockEpoch) } : {}),
          dataDir: config.dataDir,
        })
      : await startSchedulerMock({
          port,
          host: config.host,
          clock,
          pitwallUrl: config.pitwallUrl,
          telematicsUrl: config.telematicsUrl,
          dataDir: config.dataDir,
        });
  process.stdout.write(
    `${pc.bold(`mock ${which} API`)} listening on ${mock.url} (clock ${isoTime(clock.now())} at ${config.speed}×)\n` +
      `  state ${describeState(mock) ?? 'none'}\n`,
  );
  const stop = async () => {
    await mock.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());
}
