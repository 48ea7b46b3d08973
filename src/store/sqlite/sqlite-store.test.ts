import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { storeContract } from '../contract.js';
import { T0, decision, next, opened, outboxRow, vinOf } from '../contract-fixtures.js';
import { label } from '../contract-labels.js';
import { MIGRATIONS } from './migrations.js';
import * as plans from './plans.js';
import { PURGE_CHUNK_ROWS, createSqliteStore } from './sqlite-store.js';
import { VIN_PARTITIONS, partitionOf } from '../partition.js';

const dir = mkdtempSync(join(tmpdir(), 'pitwall-sqlite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileNo = 0;
let currentFile = '';
function freshFile(): string {
  fileNo += 1;
  currentFile = join(dir, `store-${fileNo}.db`);
  return currentFile;
}

/** A database file migrated up to `version`, as an older Pitwall left it. */
function atVersion(path: string, version: number): Database.Database {
  const db = new Database(path);
  db.exec(plans.createMigrationsTable);
  for (const m of MIGRATIONS.filter((x) => x.version <= version)) {
    db.exec(m.sql);
    db.prepare(plans.insertMigration).run(m.version, m.name, T0);
  }
  return db;
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
    const db = new Database(path, { readonly: true });
    const versions = db.prepare('SELECT version FROM schema_migrations ORDER BY version').pluck().all();
    expect(versions).toEqual(MIGRATIONS.map((m) => m.version));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('migration 2 keeps the outbox rows written under migration 1, claimable in the same order', async () => {
    const path = freshFile();
    const v1 = atVersion(path, 1);
    const wf = opened(vinOf(1), T0);
    const rows = [
      outboxRow(wf, 'low', { priority: 1, createdAt: T0 }),
      outboxRow(wf, 'crit', { priority: 4, createdAt: T0 + 5, causationId: 'cause-1' }),
      outboxRow(wf, 'sent', { priority: 4, createdAt: T0 }),
      outboxRow(wf, 'leased', { priority: 3, createdAt: T0 }),
    ];
    // The outbox as migration 1 wrote it (later migrations add columns the current plans write).
    const insert = v1.prepare(`INSERT INTO outbox
      (message_id, correlation_id, key, channel, message_type, receiver, priority, payload, created_at, causation_id)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    for (const r of rows) {
      insert.run(r.messageId, r.correlationId, r.key, r.channel, r.messageType, r.receiver, r.priority, JSON.stringify(r.payload), r.createdAt, r.causationId);
    }
    for (const plan of plans.markSent([rows[2]?.messageId ?? ''], T0 + 1)) v1.prepare(plan.text).run(plan.values);
    v1.prepare('UPDATE outbox SET locked_until = ? WHERE key = ?').run(T0 + 60_000, rows[3]?.key);
    v1.close();

    const store = createSqliteStore({ path });
    await store.migrate();
    expect(await store.claimOutbox(T0 + 10, 10, 1e6)).toEqual([rows[1], rows[0]]);
    expect((await store.claimOutbox(T0 + 60_000, 10, 1000)).map((r) => r.key)).toEqual([rows[3]?.key]);
    // The key stays unique: a decision re-enqueuing an existing effect writes nothing.
    const a = next(wf);
    await store.commitDecisions([decision(null, wf), decision(wf, a, { outbox: [outboxRow(a, 'low')] })]);
    expect(await store.claimOutbox(T0 + 1e9, 10, 1000)).toHaveLength(3);
    expect(await store.purge(T0 + 2)).toEqual({ outbox: 1, inbox: 0 });
    await store.close();

    const db = new Database(path, { readonly: true });
    const ddl = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'outbox'").pluck().get();
    expect(ddl).not.toMatch(/WITHOUT ROWID/i);
    const claim = plans.claimOutbox(0, 0, 1);
    const plan = db.prepare(`EXPLAIN QUERY PLAN ${claim.text}`).all(claim.values) as { detail: string }[];
    expect(plan.map((p) => p.detail).join('\n')).toMatch(/USING INDEX outbox_unsent/);
    expect(plan.map((p) => p.detail).join('\n')).not.toMatch(/TEMP B-TREE/);
    db.close();
  });

  it('lets commits through between the chunks of a large purge', async () => {
    const path = freshFile();
    const store = createSqliteStore({ path });
    await store.migrate();
    const wf = opened(vinOf(1), T0);
    const a = next(wf);
    const rows = Array.from({ length: PURGE_CHUNK_ROWS * 3 }, (_, n) => outboxRow(a, `r${n}`));
    await store.commitDecisions([decision(null, wf), decision(wf, a, { outbox: rows })]);
    await store.markSent(
      rows.map((r) => r.messageId),
      T0 + 1,
    );
    const observer = new Database(path, { readonly: true });
    const left = () => observer.prepare('SELECT COUNT(*) FROM outbox').pluck().get();
    const purge = store.purge(T0 + 2);
    // The commit is taken while the purge is under way: it gets the lock after the first chunk.
    const outcome = await store.commitDecisions([decision(a, next(a))]);
    expect(outcome).toEqual(['committed']);
    expect(left()).toBe(PURGE_CHUNK_ROWS * 2);
    expect(await purge).toEqual({ outbox: PURGE_CHUNK_ROWS * 3, inbox: 0 });
    expect(left()).toBe(0);
    observer.close();
    await store.close();
  });

  it('migration 3 adds labels to a store written under 2, and pages them on the index without sorting', async () => {
    const path = freshFile();
    const v2 = atVersion(path, 2);
    v2.close();
    const store = createSqliteStore({ path });
    await store.migrate();
    const wf = opened(vinOf(1), T0);
    await store.commitDecisions([decision(null, wf), decision(wf, next(wf), { labels: [label(wf, 'brakes')] })]);
    expect((await store.listLabels({ limit: 5 })).items).toEqual([label(wf, 'brakes')]);
    await store.close();

    const db = new Database(path, { readonly: true });
    for (const query of [{ limit: 10 }, { limit: 10, since: 0, after: { servicedAt: 0, correlationId: '', component: '' } }]) {
      const list = plans.listLabels(query);
      const plan = db.prepare(`EXPLAIN QUERY PLAN ${list.text}`).all(list.values) as { detail: string }[];
      const text = plan.map((p) => p.detail).join('\n');
      expect(text).toMatch(/USING INDEX labels_serviced/);
      expect(text).not.toMatch(/TEMP B-TREE/);
    }
    db.close();
  });

  it('migration 4 keeps quarantine rows written under 3, duplicates too, and stores each keyed sample once after', async () => {
    const path = freshFile();
    const v3 = atVersion(path, 3);
    // The same bad sample stored by the fleet poll and by the history fetch, as before the fix.
    const old = v3.prepare(
      'INSERT INTO quarantine (received_at, vin, source, reason, field, message, raw) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    for (const source of ['telematics_api', 'telematics_history']) old.run(T0, vinOf(1), source, 'wrong_type', 'signals.x', 'm', '{"a":1}');
    v3.prepare('INSERT INTO counters (name, value) VALUES (?, ?)').run('telemetry_rejected:wrong_type', 2);
    v3.close();

    const store = createSqliteStore({ path });
    await store.migrate();
    const kept = await store.listQuarantine(10);
    expect(kept.map((q) => [q.key, q.source])).toEqual([
      [null, 'telematics_history'],
      [null, 'telematics_api'],
    ]);
    const bad = { ...kept[0]!, key: 'k1', receivedAt: T0 + 1 };
    expect(await store.quarantine([bad])).toEqual({ stored: 1, byReason: { wrong_type: 1 } });
    expect(await store.quarantine([{ ...bad, source: 'telematics_api' }])).toEqual({ stored: 0, byReason: {} });
    expect(await store.listQuarantine(10)).toHaveLength(3);
    expect(await store.getCounters()).toEqual({ 'telemetry_rejected:wrong_type': 3 });
    await store.close();
  });

  it('migration 5 gives the claimable rows written under 4 their VIN partition', async () => {
    const path = freshFile();
    const v4 = atVersion(path, 4);
    const wf = opened(vinOf(1), T0);
    v4.prepare('INSERT INTO workflows (correlation_id, vin, state, urgency, version, created_at, updated_at, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
      wf.correlationId, wf.vin, wf.state, wf.urgency, wf.version, wf.createdAt, wf.updatedAt, JSON.stringify(wf),
    );
    v4.prepare('INSERT INTO timers (correlation_id, name, vin, due_at, seq) VALUES (?, ?, ?, ?, ?)').run(wf.correlationId, 'retry', wf.vin, T0, 1);
    v4.prepare('INSERT INTO vehicles (vin, first_seen_at, last_sample_at, next_cycle_at) VALUES (?, ?, ?, ?)').run(wf.vin, T0, null, T0);
    const insert = v4.prepare(`INSERT INTO outbox
      (message_id, correlation_id, key, channel, message_type, receiver, priority, payload, created_at, causation_id, sent_at)
      VALUES (?, ?, ?, 'c', 't', 'r', 2, '{}', ?, NULL, ?)`);
    insert.run('m-unsent', wf.correlationId, `${wf.correlationId}:a`, T0, null);
    insert.run('m-sent', wf.correlationId, `${wf.correlationId}:b`, T0, T0);
    v4.close();

    const store = createSqliteStore({ path });
    await store.migrate();
    const part = partitionOf(wf.vin);
    const other = (part + 1) % VIN_PARTITIONS;
    expect(await store.claimDueTimers(T0, 10, 100, [other])).toEqual([]);
    expect((await store.claimDueTimers(T0, 10, 100, [part])).map((t) => t.name)).toEqual(['retry']);
    expect(await store.claimDueVehicles(T0, 10, T0 + 1, [part])).toEqual([wf.vin]);
    expect((await store.claimOutbox(T0, 10, 100, [part])).map((r) => r.messageId)).toEqual(['m-unsent']);
    expect((await store.leasePartitions('a', T0, 1000)).partitions).toHaveLength(VIN_PARTITIONS);
    await store.close();
  });
});
