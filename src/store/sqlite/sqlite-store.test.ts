import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { storeContract } from '../contract.js';
import { T0, decision, next, opened, outboxRow, vinOf } from '../contract-fixtures.js';
import { MIGRATIONS } from './migrations.js';
import { createSqliteStore } from './sqlite-store.js';

const dir = mkdtempSync(join(tmpdir(), 'pitwall-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileNo = 0;
let currentFile = '';
function freshFile(): string {
  fileNo += 1;
  currentFile = join(dir, `store-${fileNo}.db`);
  return currentFile;
}

storeContract('sqlite :memory:', async () => createSqliteStore({ path: ':memory:' }));
storeContract(
  'sqlite file',
  async () => createSqliteStore({ path: freshFile() }),
  async () => {
    for (const suffix of ['', '-wal', '-shm']) rmSync(currentFile + suffix, { force: true });
  },
);

describe('sqlite store on a file', () => {
  it('keeps committed data across close and reopen, and migrates once', async () => {
    const path = freshFile();
    const first = createSqliteStore({ path });
    await first.migrate();
    const wf = opened(vinOf(1), T0);
    const a = next(wf, { state: 'analyzing_data' });
    await first.commitDecisions([
      decision(null, wf),
      decision(wf, a, {
        inboundId: 'msg-1',
        outbox: [outboxRow(a, 'analyze')],
        timers: [{ kind: 'set', name: 'state_timeout', dueAt: T0 + 300_000, seq: 2 }],
        counters: [{ counter: 'anomalies_detected', by: 1 }],
      }),
    ]);
    await first.upsertVehicles([{ vin: wf.vin, lastSampleAt: T0 }], T0);
    await first.setMeta('k', 'v');
    await first.close();
    await first.close();

    const second = createSqliteStore({ path });
    await second.migrate();
    expect(await second.getWorkflow(wf.correlationId)).toEqual(a);
    expect(await second.getTransitions(wf.correlationId)).toHaveLength(2);
    expect((await second.claimOutbox(T0 + 1e9, 10, 1000)).map((r) => r.key)).toEqual([`${wf.correlationId}:analyze`]);
    expect(await second.claimDueTimers(T0 + 1e9, 10, 1000)).toHaveLength(1);
    expect(await second.getCounters()).toEqual({ anomalies_detected: 1 });
    expect(await second.countVehicles()).toBe(1);
    expect(await second.getMeta('k')).toBe('v');
    expect(await second.commitDecisions([decision(wf, a, { inboundId: 'msg-1' })])).toEqual(['duplicate']);
    await second.close();
  });

  it('records each migration version once', async () => {
    const path = freshFile();
    const store = createSqliteStore({ path });
    await store.migrate();
    await store.close();
    const again = createSqliteStore({ path });
    await again.migrate();
    await again.close();
    const Database = (await import('better-sqlite3')).default;
    const db = new Database(path, { readonly: true });
    const versions = db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all();
    expect(versions).toEqual(MIGRATIONS.map((m) => m.version));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });
});
