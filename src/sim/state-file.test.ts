import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { appendJsonLine, lockStateFile, readJsonFile, readJsonLines, StateFileError, writeJsonAtomic } from './state-file.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function dir(): string {
  const d = mkdtempSync(join(tmpdir(), 'pitwall-state-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** The pid of a process that has certainly exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  if (!r.pid) throw new Error('could not spawn a process');
  return r.pid;
}

describe('JSON-lines journals', () => {
  it('drops a last line cut short by a kill, and the next record starts on a line of its own', () => {
    const file = join(dir(), 'j.jsonl');
    writeFileSync(file, '{"a":1}\n{"b":2}\n{"c":');
    expect(readJsonLines(file)).toEqual([{ a: 1 }, { b: 2 }]);
    appendJsonLine(file, { d: 4 });
    expect(readJsonLines(file)).toEqual([{ a: 1 }, { b: 2 }, { d: 4 }]);
    expect(readFileSync(file, 'utf8')).toBe('{"a":1}\n{"b":2}\n{"d":4}\n');
  });

  it('drops a last line whose newline was not written, even when it parses: it was never acknowledged', () => {
    const file = join(dir(), 'j.jsonl');
    writeFileSync(file, '{"a":1}\n{"b":2}');
    expect(readJsonLines(file)).toEqual([{ a: 1 }]);
    appendJsonLine(file, { c: 3 });
    expect(readJsonLines(file)).toEqual([{ a: 1 }, { c: 3 }]);
  });

  it('refuses a bad line before the last one, naming the file and the line', () => {
    const file = join(dir(), 'j.jsonl');
    writeFileSync(file, '{"a":1}\n{oops\n{"b":2}\n');
    expect(() => readJsonLines(file)).toThrow(StateFileError);
    expect(() => readJsonLines(file)).toThrow(/j\.jsonl line 2 is not valid JSON.*remove it to start afresh/);
  });

  it('reads no file as no records', () => {
    expect(readJsonLines(join(dir(), 'none.jsonl'))).toEqual([]);
  });
});

describe('JSON snapshots', () => {
  it('replaces the whole file and leaves no temporary file behind', () => {
    const d = dir();
    const file = join(d, 's.json');
    expect(readJsonFile(file)).toBeUndefined();
    writeJsonAtomic(file, { n: 1 });
    writeJsonAtomic(file, { n: 2 });
    expect(readJsonFile(file)).toEqual({ n: 2 });
    expect(existsSync(`${file}.${process.pid}.tmp`)).toBe(false);
  });

  it('refuses a file that is not JSON with what to do about it', () => {
    const file = join(dir(), 's.json');
    writeFileSync(file, '{"appointments": [');
    expect(() => readJsonFile(file)).toThrow(/s\.json is not valid JSON.*repair it, or remove it/);
  });
});

describe('state file locks', () => {
  it('refuses a lock held by a live process, naming it', () => {
    const file = join(dir(), 'mock.json');
    // The test runner's parent is alive for the whole test.
    writeFileSync(`${file}.lock`, `${process.ppid}\n`);
    expect(() => lockStateFile(file, 'scheduler mock')).toThrow(
      new RegExp(`another scheduler mock \\(pid ${process.ppid}\\) keeps its state in .*mock\\.json; stop it, or give this one its own --data-dir`),
    );
    expect(readFileSync(`${file}.lock`, 'utf8')).toBe(`${process.ppid}\n`);
  });

  it('takes over the lock of a process that was killed', () => {
    const file = join(dir(), 'mock.json');
    writeFileSync(`${file}.lock`, `${deadPid()}\n`);
    const release = lockStateFile(file, 'scheduler mock');
    expect(readFileSync(`${file}.lock`, 'utf8')).toBe(`${process.pid}\n`);
    release();
    expect(existsSync(`${file}.lock`)).toBe(false);
  });

  it('takes over a lock bearing its own pid from an earlier life (a restarted container), but not one it holds', () => {
    const file = join(dir(), 'mock.json');
    writeFileSync(`${file}.lock`, `${process.pid}\n`);
    const release = lockStateFile(file, 'telematics mock');
    expect(() => lockStateFile(file, 'telematics mock')).toThrow(/another telematics mock in this process/);
    release();
    lockStateFile(file, 'telematics mock')();
  });

  it('leaves a lock it no longer holds alone when released', () => {
    const file = join(dir(), 'mock.json');
    const release = lockStateFile(file, 'scheduler mock');
    writeFileSync(`${file}.lock`, `${process.ppid}\n`);
    release();
    expect(readFileSync(`${file}.lock`, 'utf8')).toBe(`${process.ppid}\n`);
  });
});
