/** Starts the mock APIs on loopback ports; the CLI calls these. */
import type { FastifyInstance } from 'fastify';
import type { Clock } from '../core/clock.js';
import { VirtualTicker } from '../clock/ticker.js';
import { createCustomers, type CustomerEvent, type CustomerSim, type PostJson } from './customers.js';
import { createFleet, type Fleet, type FleetOptions } from './fleet.js';
import type { Persona } from './vehicles.js';
import { NotificationGateway } from './notifications.js';
import { createSchedulerApp, type SchedulerAppOptions } from './scheduler-server.js';
import { httpServiceVehicle, type ServiceVehicleFn } from './service-runner.js';
import { createTelematicsApp } from './telematics-server.js';
import { claimSchedulerState, openTelematicsState } from './mock-state.js';

export interface TelematicsMockOptions {
  /** 0 picks a free port. */
  port: number;
  /** @default 127.0.0.1 */
  host?: string;
  clock: Clock;
  seed: number | string;
  vehicles: number;
  /** @default clock.now() */
  startTime?: number;
  healthyShare?: number;
  /** @default 0.002 (demos see some malformed samples) */
  badSampleRate?: number;
  sampleIntervalMs?: number;
  /** Where the simulated customers answer. @default http://127.0.0.1:3000 */
  pitwallUrl?: string;
  /** Simulated customers answer notifications. @default true */
  customers?: boolean;
  /** Restricts owners to these personas (each owner outside the list gets one of them, by VIN). */
  personas?: readonly Persona[];
  post?: PostJson;
  onCustomerEvent?: (e: CustomerEvent) => void;
  logger?: boolean;
  /**
   * Directory that keeps the fleet's origin, its repairs and the delivered notifications across restarts
   * (see mock-state.ts), locked while this mock runs; the kept origin wins over `startTime`.
   * @default none: nothing is kept
   */
  dataDir?: string;
}

function restrictPersona(persona: Persona | undefined, vin: string, allowed?: readonly Persona[]): Persona | undefined {
  if (persona === undefined || !allowed || allowed.length === 0 || allowed.includes(persona)) return persona;
  return allowed[vin.charCodeAt(vin.length - 1) % allowed.length];
}

export interface TelematicsMock {
  url: string;
  app: FastifyInstance;
  fleet: Fleet;
  gateway: NotificationGateway;
  customers: CustomerSim | null;
  ticker: VirtualTicker;
  /** The state file, when there is a data directory. */
  stateFile: string | null;
  /** What the state file brought back (null without one, or when this run started it). */
  resumed: { services: number; notifications: number } | null;
  /** Files of an older layout taken over into the state file. */
  migrated: string[];
  close(): Promise<void>;
}

export async function startTelematicsMock(opts: TelematicsMockOptions): Promise<TelematicsMock> {
  const startTime = opts.startTime ?? opts.clock.now();
  const state = opts.dataDir
    ? openTelematicsState(opts.dataDir, { seed: opts.seed, vehicles: opts.vehicles, start_time: startTime })
    : null;
  try {
    const journal = state?.journal ?? null;
    const fleetOpts: FleetOptions = {
      seed: opts.seed,
      vehicles: opts.vehicles,
      startTime: journal?.fleet.start_time ?? startTime,
      badSampleRate: opts.badSampleRate ?? 0.002,
      ...(opts.healthyShare !== undefined ? { healthyShare: opts.healthyShare } : {}),
    };
    const gateway = new NotificationGateway();
    // Restored before anything is served: a repaired vehicle is never seen faulty again, a known id never accepted twice.
    const fleet = journal ? journal.restore(createFleet(fleetOpts), gateway) : createFleet(fleetOpts);
    const ticker = new VirtualTicker(opts.clock);
    const customers =
      opts.customers === false
        ? null
        : createCustomers({
            clock: opts.clock,
            ticker,
            personaOf: (vin) => restrictPersona(fleet.info(vin)?.owner.persona, vin, opts.personas),
            pitwallUrl: opts.pitwallUrl ?? 'http://127.0.0.1:3000',
            seed: opts.seed,
            ...(opts.post ? { post: opts.post } : {}),
            ...(opts.onCustomerEvent ? { onEvent: opts.onCustomerEvent } : {}),
          });
    const app = createTelematicsApp({
      fleet,
      clock: opts.clock,
      gateway,
      ...(customers ? { notifyTarget: (n) => customers.onNotification(n) } : {}),
      ...(opts.sampleIntervalMs ? { sampleIntervalMs: opts.sampleIntervalMs } : {}),
      logger: opts.logger ?? false,
    });
    let url: string;
    try {
      url = await app.listen({ port: opts.port, host: opts.host ?? '127.0.0.1' });
    } catch (err) {
      ticker.stop();
      throw err;
    }
    return {
      url,
      app,
      fleet,
      gateway,
      customers,
      ticker,
      stateFile: state?.claimed.file ?? null,
      resumed: journal && !journal.fresh ? { services: journal.services.length, notifications: journal.notifications.length } : null,
      migrated: state?.claimed.migrated ?? [],
      close: async () => {
        ticker.stop();
        await app.close();
        state?.claimed.release();
      },
    };
  } catch (err) {
    state?.claimed.release();
    throw err;
  }
}

export interface SchedulerMockOptions extends Omit<SchedulerAppOptions, 'serviceVehicle' | 'stateFile'> {
  port: number;
  /** @default 127.0.0.1 */
  host?: string;
  /** In one process: the fleet's serviceVehicle. */
  serviceVehicle?: ServiceVehicleFn;
  /** Across processes: the telematics mock's URL (POST /sim/vehicles/:vin/service). */
  telematicsUrl?: string;
  /**
   * Directory that keeps the appointments across restarts, whatever the port (see mock-state.ts),
   * locked while this mock runs. @default none: nothing is kept
   */
  dataDir?: string;
}

export interface SchedulerMock {
  url: string;
  app: FastifyInstance;
  /** The state file, when there is a data directory. */
  stateFile: string | null;
  /** What the state file brought back (null without one, or when it held nothing). */
  resumed: { appointments: number } | null;
  /** Files of an older layout taken over into the state file. */
  migrated: string[];
  close(): Promise<void>;
}

export async function startSchedulerMock(opts: SchedulerMockOptions): Promise<SchedulerMock> {
  const serviceVehicle = opts.serviceVehicle ?? (opts.telematicsUrl ? httpServiceVehicle(opts.telematicsUrl) : undefined);
  if (!serviceVehicle) throw new TypeError('startSchedulerMock needs serviceVehicle or telematicsUrl');
  const { port, host, telematicsUrl: _t, serviceVehicle: _s, dataDir, ...rest } = opts;
  const claimed = dataDir ? claimSchedulerState(dataDir, port) : null;
  try {
    const app = createSchedulerApp({ ...rest, serviceVehicle, ...(claimed ? { stateFile: claimed.file } : {}) });
    let url: string;
    try {
      url = await app.listen({ port, host: host ?? '127.0.0.1' });
    } catch (err) {
      await app.close();
      throw err;
    }
    const kept = claimed ? (await app.inject('/sim/appointments')).json<{ appointments: unknown[] }>().appointments.length : 0;
    return {
      url,
      app,
      stateFile: claimed?.file ?? null,
      resumed: kept > 0 ? { appointments: kept } : null,
      migrated: claimed?.migrated ?? [],
      close: async () => {
        await app.close();
        claimed?.release();
      },
    };
  } catch (err) {
    claimed?.release();
    throw err;
  }
}
