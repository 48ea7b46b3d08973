/**
 * Where the mocks keep their state in a data directory, the same for `pitwall start` and `pitwall mock`:
 * one file per mock, named after the mock and never after its port (a mock restarted on another port
 * finds its state), each locked while its mock runs. Files of the older layouts are taken over once.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { lockStateFile, readJsonLines, StateFileError } from './state-file.js';
import { isServiceRecord, TelematicsJournal, type FleetIdentity } from './telematics-state.js';

/** The telematics mock's journal: the fleet's origin, its repairs, the delivered notifications. */
export const TELEMATICS_STATE_FILE = 'mock-telematics.jsonl';
/** The scheduler mock's appointments and idempotency keys. */
export const SCHEDULER_STATE_FILE = 'mock-scheduler.json';

/** `pitwall start` kept the repairs here before the telematics journal. */
const LEGACY_SERVICES_FILE = 'sim-services.jsonl';
/** `pitwall start` kept the appointments here. */
const LEGACY_START_APPOINTMENTS = 'sim-appointments.json';
/** `pitwall mock scheduler` named its file after its port. */
const LEGACY_PORT_APPOINTMENTS = /^mock-scheduler-(\d+)\.json$/;

export interface ClaimedState {
  /** The state file, locked for this process until `release`. */
  file: string;
  /** Old files taken over into `file` (for the start-up message). */
  migrated: string[];
  release(): void;
}

function claim(dataDir: string, name: string, what: string, migrate: (file: string) => string[]): ClaimedState {
  mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, name);
  const release = lockStateFile(file, what);
  try {
    // Under the lock: nobody else moves or writes these files meanwhile.
    const migrated = existsSync(file) ? [] : migrate(file);
    return { file, migrated, release };
  } catch (err) {
    release();
    throw err;
  }
}

/**
 * Locks and opens the telematics mock's journal in `dataDir`, started for `proposed` when there is none
 * (with the repairs `pitwall start` kept before, if any). The journal's fleet origin wins over the
 * proposed one; a journal of another fleet is refused.
 */
export function openTelematicsState(dataDir: string, proposed: FleetIdentity): { journal: TelematicsJournal; claimed: ClaimedState } {
  const claimed = claim(dataDir, TELEMATICS_STATE_FILE, 'telematics mock', (file) => {
    const legacy = path.join(dataDir, LEGACY_SERVICES_FILE);
    if (!existsSync(legacy)) return [];
    const services = readJsonLines(legacy).map((r, i) => {
      if (!isServiceRecord(r)) throw new StateFileError(legacy, `${legacy}: line ${i + 1} is not a service record; remove the file to start afresh`);
      return { vin: r.vin, components: [...r.components], at: r.at };
    });
    TelematicsJournal.create(file, proposed, services);
    rmSync(legacy);
    return [legacy];
  });
  try {
    return { journal: TelematicsJournal.open(claimed.file, proposed), claimed };
  } catch (err) {
    claimed.release();
    throw err;
  }
}

/**
 * Locks the scheduler mock's state file in `dataDir`. When there is none yet, an older one is renamed
 * to it: the file of this port, else the only one there is; several of them are an error naming them,
 * since merging two appointment books would double-book their bays.
 */
export function claimSchedulerState(dataDir: string, port: number): ClaimedState {
  return claim(dataDir, SCHEDULER_STATE_FILE, 'scheduler mock', (file) => {
    const candidates = readdirSync(dataDir).filter((n) => n === LEGACY_START_APPOINTMENTS || LEGACY_PORT_APPOINTMENTS.test(n));
    const own = `mock-scheduler-${port}.json`;
    const chosen = candidates.includes(own) ? own : candidates.length === 1 ? candidates[0] : undefined;
    if (chosen === undefined) {
      if (candidates.length === 0) return [];
      throw new StateFileError(
        file,
        `${dataDir} holds several older scheduler state files (${candidates.join(', ')}); ` +
          `rename the one to keep to ${SCHEDULER_STATE_FILE} and remove the others`,
      );
    }
    const from = path.join(dataDir, chosen);
    renameSync(from, file);
    return [from];
  });
}
