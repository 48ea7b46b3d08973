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
  close(): Promise<void>;
}

export async function startTelematicsMock(opts: TelematicsMockOptions): Promise<TelematicsMock> {
  const fleetOpts: FleetOptions = {
    seed: opts.seed,
    vehicles: opts.vehicles,
    startTime: opts.startTime ?? opts.clock.now(),
    badSampleRate: opts.badSampleRate ?? 0.002,
    ...(opts.healthyShare !== undefined ? { healthyShare: opts.healthyShare } : {}),
  };
  const fleet = createFleet(fleetOpts);
  const ticker = new VirtualTicker(opts.clock);
  const gateway = new NotificationGateway();
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
  const url = await app.listen({ port: opts.port, host: opts.host ?? '127.0.0.1' });
  return {
    url,
    app,
    fleet,
    gateway,
    customers,
    ticker,
    close: async () => {
      ticker.stop();
      await app.close();
    },
  };
}

export interface SchedulerMockOptions extends Omit<SchedulerAppOptions, 'serviceVehicle'> {
  port: number;
  /** @default 127.0.0.1 */
  host?: string;
  /** In one process: the fleet's serviceVehicle. */
  serviceVehicle?: ServiceVehicleFn;
  /** Across processes: the telematics mock's URL (POST /sim/vehicles/:vin/service). */
  telematicsUrl?: string;
}

export interface SchedulerMock {
  url: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

export async function startSchedulerMock(opts: SchedulerMockOptions): Promise<SchedulerMock> {
  const serviceVehicle = opts.serviceVehicle ?? (opts.telematicsUrl ? httpServiceVehicle(opts.telematicsUrl) : undefined);
  if (!serviceVehicle) throw new TypeError('startSchedulerMock needs serviceVehicle or telematicsUrl');
  const { port, host, telematicsUrl: _t, serviceVehicle: _s, ...rest } = opts;
  const app = createSchedulerApp({ ...rest, serviceVehicle });
  const url = await app.listen({ port, host: host ?? '127.0.0.1' });
  return { url, app, close: () => app.close() };
}
