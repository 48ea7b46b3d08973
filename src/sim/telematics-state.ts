/**
 * The telematics mock's memory across restarts, as an append-only journal: which fleet it simulates
 * (seed, size, the virtual time its faults are planted from), every repair, and every notification the
 * gateway delivered. Repairs and deliveries are facts that never change, so each is one appended line,
 * written before it takes effect: a repair the scheduler was told about, or a delivery the sender was
 * told about, is never forgotten, and a repaired vehicle is not found faulty and serviced again.
 */
import { COMPONENTS, type Component } from '../core/telemetry.js';
import { UnknownVehicleError, type Fleet } from './fleet.js';
import type { DeliveredNotification, NotificationGateway } from './notifications.js';
import { appendJsonLine, readJsonLines, StateFileError, writeJsonLines } from './state-file.js';

/** What makes two runs simulate the same fleet. */
export interface FleetIdentity {
  seed: number | string;
  vehicles: number;
  /** Virtual epoch ms the faults are planted from. */
  start_time: number;
}

export interface ServiceRecord {
  vin: string;
  components: Component[];
  at: number;
}

type JournalEntry = { fleet: FleetIdentity } | { service: ServiceRecord } | { notification: DeliveredNotification };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function isFleetIdentity(v: unknown): v is FleetIdentity {
  return (
    isObject(v) &&
    (typeof v['seed'] === 'number' || typeof v['seed'] === 'string') &&
    Number.isInteger(v['vehicles']) &&
    Number.isFinite(v['start_time'])
  );
}

export function isServiceRecord(v: unknown): v is ServiceRecord {
  return (
    isObject(v) &&
    typeof v['vin'] === 'string' &&
    Array.isArray(v['components']) &&
    v['components'].every((c) => (COMPONENTS as readonly unknown[]).includes(c)) &&
    Number.isFinite(v['at'])
  );
}

function isNotification(v: unknown): v is DeliveredNotification {
  return isObject(v) && typeof v['notification_id'] === 'string' && typeof v['vin'] === 'string';
}

export class TelematicsJournal {
  private constructor(
    readonly file: string,
    /** The fleet the journal belongs to (its start time wins over a newly proposed one). */
    readonly fleet: FleetIdentity,
    readonly services: readonly ServiceRecord[],
    readonly notifications: readonly DeliveredNotification[],
    /** True when this run started the journal: nothing was resumed. */
    readonly fresh: boolean,
  ) {}

  /**
   * Opens the journal, or starts one for `proposed`. A journal of another fleet (seed or size) is an
   * error: its repairs and notifications would be applied to the wrong vehicles.
   */
  static open(file: string, proposed: FleetIdentity): TelematicsJournal {
    const records = readJsonLines(file);
    if (records.length === 0) {
      writeJsonLines(file, [{ fleet: proposed } satisfies JournalEntry]);
      return new TelematicsJournal(file, proposed, [], [], true);
    }
    const head = records[0];
    if (!isObject(head) || !isFleetIdentity(head['fleet'])) {
      throw new StateFileError(file, `${file} does not start with the fleet it belongs to; remove it to start afresh`);
    }
    const fleet = head['fleet'];
    if (String(fleet.seed) !== String(proposed.seed) || fleet.vehicles !== proposed.vehicles) {
      throw new StateFileError(
        file,
        `${file} holds the state of a fleet of ${fleet.vehicles} vehicles with seed ${fleet.seed}; ` +
          `use another --data-dir for a new fleet, or run with --vehicles ${fleet.vehicles} --seed ${fleet.seed}`,
      );
    }
    const services: ServiceRecord[] = [];
    const notifications: DeliveredNotification[] = [];
    records.slice(1).forEach((r, i) => {
      if (isObject(r) && isServiceRecord(r['service'])) services.push(r['service']);
      else if (isObject(r) && isNotification(r['notification'])) notifications.push(r['notification']);
      else throw new StateFileError(file, `${file}: record ${i + 2} is neither a service nor a notification; remove the file to start afresh`);
    });
    return new TelematicsJournal(file, fleet, services, notifications, false);
  }

  /** Starts a journal from services kept elsewhere before (an older layout), replacing any file there. */
  static create(file: string, fleet: FleetIdentity, services: readonly ServiceRecord[]): void {
    writeJsonLines(file, [{ fleet }, ...services.map((service) => ({ service }))] satisfies JournalEntry[]);
  }

  recordService(service: ServiceRecord): void {
    appendJsonLine(this.file, { service } satisfies JournalEntry);
  }

  recordNotification(notification: DeliveredNotification): void {
    appendJsonLine(this.file, { notification } satisfies JournalEntry);
  }

  /**
   * Replays the journal into a freshly created fleet and gateway, and returns the fleet to serve: one
   * that journals each repair before applying it.
   */
  restore(fleet: Fleet, gateway: NotificationGateway): Fleet {
    for (const s of this.services) {
      if (fleet.info(s.vin)) fleet.serviceVehicle(s.vin, s.components, s.at);
    }
    for (const n of this.notifications) gateway.restore(n);
    gateway.journalTo((n) => this.recordNotification(n));
    return {
      ...fleet,
      serviceVehicle: (vin, components, at) => {
        if (!fleet.info(vin)) throw new UnknownVehicleError(vin);
        this.recordService({ vin, components: [...components], at });
        return fleet.serviceVehicle(vin, components, at);
      },
    };
  }
}
