/**
 * How the mocks keep their state on disk, shared by `pitwall start` and `pitwall mock`: whole-file JSON
 * snapshots replaced atomically, append-only JSON-lines journals, and a lock so that two processes never
 * write one state file at once. Every write is synchronous: once a call returns, the state survives the
 * process being killed (SIGKILL included), so a mock may acknowledge what it has written.
 */
import { appendFileSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export class StateFileError extends Error {
  readonly code = 'state_file';
  constructor(
    readonly file: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'StateFileError';
  }
}

/** An unreadable state file: said with what to do about it. */
export function corruptState(file: string, what: string, cause?: unknown): StateFileError {
  return new StateFileError(file, `${file} ${what}; it holds a mock's saved state: repair it, or remove it to start afresh`, { cause });
}

function replaceFile(file: string, text: string): void {
  // The temp name carries the pid: two writers never share a temp file, even by mistake.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, file);
}

/** Writes `value` as JSON; readers see the old file or the new one, never a torn one. */
export function writeJsonAtomic(file: string, value: unknown): void {
  replaceFile(file, JSON.stringify(value));
}

/** The parsed file, or undefined when there is none. */
export function readJsonFile(file: string): unknown {
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw corruptState(file, `is not valid JSON (${(err as Error).message})`, err);
  }
}

/**
 * The records of a JSON-lines journal, oldest first ([] when there is none). A last line cut short (a
 * write interrupted half-way) was never acknowledged: it is dropped, and the file rewritten without it,
 * so the next append starts on a line of its own. A bad line anywhere else is corruption, and an error.
 */
export function readJsonLines(file: string): unknown[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  const lines = text.split('\n');
  // Text after the last newline is a line whose write did not finish, even when it happens to parse.
  const unfinished = lines.pop() ?? '';
  const records: unknown[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      records.push(JSON.parse(line) as unknown);
    } catch (err) {
      throw corruptState(file, `line ${i + 1} is not valid JSON`, err);
    }
  });
  if (unfinished !== '') writeJsonLines(file, records);
  return records;
}

/** Replaces the whole journal atomically (creating or repairing it). */
export function writeJsonLines(file: string, records: readonly unknown[]): void {
  replaceFile(file, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
}

/** Appends one record: one write(2) of one line, so a killed process leaves it whole or absent. */
export function appendJsonLine(file: string, record: unknown): void {
  appendFileSync(file, `${JSON.stringify(record)}\n`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Locks this process holds: its own pid in a lock file means a stale lock only when it is not one of these. */
const held = new Set<string>();

/**
 * Takes `<file>.lock` for this process, so that a second mock pointed at the same data directory stops
 * with a reason instead of overwriting the first one's state. A lock left by a killed process (its pid no
 * longer running, or our own pid reused, as in a restarted container) is taken over. Returns the release.
 */
export function lockStateFile(file: string, what: string): () => void {
  const lock = path.resolve(`${file}.lock`);
  if (held.has(lock)) throw new StateFileError(file, `another ${what} in this process keeps its state in ${file}`);
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(lock, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 2) {
        throw new StateFileError(file, `cannot lock ${file} (${(err as Error).message})`, { cause: err });
      }
    }
    let holder: number;
    try {
      holder = Number.parseInt(readFileSync(lock, 'utf8'), 10);
    } catch {
      continue; // released meanwhile: try again
    }
    if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isAlive(holder)) {
      throw new StateFileError(
        file,
        `another ${what} (pid ${holder}) keeps its state in ${file}; stop it, or give this one its own --data-dir ` +
          `(if pid ${holder} is not a Pitwall mock, remove ${lock})`,
      );
    }
    // Stale: removed and created afresh. (Two mocks started over one stale lock at the same instant could
    // both get it; that race is not worth more machinery in a test double.)
    rmSync(lock, { force: true });
  }
  held.add(lock);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    held.delete(lock);
    const holder = existsSync(lock) ? Number.parseInt(readFileSync(lock, 'utf8'), 10) : NaN;
    if (holder === process.pid) rmSync(lock, { force: true });
  };
}
