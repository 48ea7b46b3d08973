/** The embedded system's virtual time, saved so a restart resumes where the simulation stood. */
import { renameSync, writeFileSync } from 'node:fs';

export interface SavedClock {
  virtual_now: number;
  fleet_start: number;
  seed: number;
  vehicles: number;
}

export function saveClock(file: string, state: SavedClock): void {
  // Write then rename: a crash mid-write must not leave a truncated file that blocks the next start.
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify(state));
  renameSync(tmp, file);
}
