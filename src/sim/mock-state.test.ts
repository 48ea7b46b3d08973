import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { claimSchedulerState, openTelematicsState, SCHEDULER_STATE_FILE, TELEMATICS_STATE_FILE } from './mock-state.js';

const NOW = Date.parse('2026-03-02T06:00:00Z');
const FLEET = { seed: 3, vehicles: 10, start_time: NOW };

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'pitwall-mockstate-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

const book = (id: string) => JSON.stringify({ appointments: [{ appointment_id: id }], idempotency: [] });

describe('the scheduler mock’s state file', () => {
  it('is named after the mock, not its port, and locked while the mock runs', () => {
    const dir = dataDir();
    const claimed = claimSchedulerState(dir, 8001);
    cleanups.push(claimed.release);
    expect(claimed.file).toBe(join(dir, SCHEDULER_STATE_FILE));
    expect(readFileSync(`${claimed.file}.lock`, 'utf8')).toBe(`${process.pid}\n`);
    expect(() => claimSchedulerState(dir, 9001)).toThrow(/another scheduler mock in this process keeps its state in/);
  });

  it('refuses a data directory whose scheduler state another live process holds', () => {
    const dir = dataDir();
    writeFileSync(join(dir, `${SCHEDULER_STATE_FILE}.lock`), `${process.ppid}\n`);
    expect(() => claimSchedulerState(dir, 8001)).toThrow(new RegExp(`another scheduler mock \\(pid ${process.ppid}\\)`));
  });

  it('takes over the file an older mock named after its port, even when started on another port', () => {
    const dir = dataDir();
    writeFileSync(join(dir, 'mock-scheduler-8001.json'), book('apt-old'));
    const claimed = claimSchedulerState(dir, 9001);
    cleanups.push(claimed.release);
    expect(claimed.migrated).toEqual([join(dir, 'mock-scheduler-8001.json')]);
    expect(JSON.parse(readFileSync(claimed.file, 'utf8'))).toEqual(JSON.parse(book('apt-old')));
    expect(existsSync(join(dir, 'mock-scheduler-8001.json'))).toBe(false);
  });

  it('takes over the appointments `pitwall start` kept', () => {
    const dir = dataDir();
    writeFileSync(join(dir, 'sim-appointments.json'), book('apt-start'));
    const claimed = claimSchedulerState(dir, 8001);
    cleanups.push(claimed.release);
    expect(claimed.migrated).toEqual([join(dir, 'sim-appointments.json')]);
    expect(readFileSync(claimed.file, 'utf8')).toBe(book('apt-start'));
  });

  it('prefers the old file of its own port among several, and refuses to guess among others', () => {
    const dir = dataDir();
    writeFileSync(join(dir, 'mock-scheduler-8001.json'), book('a'));
    writeFileSync(join(dir, 'mock-scheduler-8002.json'), book('b'));
    expect(() => claimSchedulerState(dir, 9001)).toThrow(
      /holds several older scheduler state files \(mock-scheduler-8001\.json, mock-scheduler-8002\.json\); rename the one to keep to mock-scheduler\.json/,
    );
    expect(existsSync(join(dir, `${SCHEDULER_STATE_FILE}.lock`))).toBe(false);
    const claimed = claimSchedulerState(dir, 8002);
    cleanups.push(claimed.release);
    expect(readFileSync(claimed.file, 'utf8')).toBe(book('b'));
  });

  it('leaves older files alone once it has its own', () => {
    const dir = dataDir();
    writeFileSync(join(dir, SCHEDULER_STATE_FILE), book('current'));
    writeFileSync(join(dir, 'mock-scheduler-8001.json'), book('old'));
    const claimed = claimSchedulerState(dir, 8001);
    cleanups.push(claimed.release);
    expect(claimed.migrated).toEqual([]);
    expect(readFileSync(claimed.file, 'utf8')).toBe(book('current'));
  });
});

describe('the telematics mock’s state file', () => {
  it('starts a journal for the fleet, locked while the mock runs', () => {
    const dir = dataDir();
    const { journal, claimed } = openTelematicsState(dir, FLEET);
    cleanups.push(claimed.release);
    expect(claimed.file).toBe(join(dir, TELEMATICS_STATE_FILE));
    expect(journal.fresh).toBe(true);
    expect(() => openTelematicsState(dir, FLEET)).toThrow(/another telematics mock in this process/);
  });

  it('takes over the repairs `pitwall start` kept, with the origin it proposes', () => {
    const dir = dataDir();
    const legacy = join(dir, 'sim-services.jsonl');
    writeFileSync(legacy, '{"vin":"PWMAS1C14A1000007","components":["brakes"],"at":1772500000000}\n');
    const { journal, claimed } = openTelematicsState(dir, FLEET);
    cleanups.push(claimed.release);
    expect(claimed.migrated).toEqual([legacy]);
    expect(existsSync(legacy)).toBe(false);
    expect(journal.fresh).toBe(false);
    expect(journal.fleet).toEqual(FLEET);
    expect(journal.services).toEqual([{ vin: 'PWMAS1C14A1000007', components: ['brakes'], at: 1772500000000 }]);
  });

  it('releases its lock when the journal is refused', () => {
    const dir = dataDir();
    openTelematicsState(dir, FLEET).claimed.release();
    expect(() => openTelematicsState(dir, { ...FLEET, seed: 9 })).toThrow(/fleet of 10 vehicles with seed 3/);
    expect(existsSync(join(dir, `${TELEMATICS_STATE_FILE}.lock`))).toBe(false);
  });
});
