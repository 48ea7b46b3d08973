/**
 * The Store contract and PostgreSQL's own concerns (concurrent migrations, SKIP LOCKED claims, commits
 * racing from two processes) against a real server: PITWALL_TEST_PG_URL, or scripts/services.sh's
 * default. Every test gets its own schema, named after this run, dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { requireService, serviceUrl } from '../../testing/services.js';
import { storeContract } from '../contract.js';
import { T0, decision, next, opened, outboxRow, vinOf } from '../contract-fixtures.js';
import { isStoreArgumentError } from '../errors.js';
import type { Store } from '../port.js';
import { MIGRATIONS } from './migrations.js';
import { createPostgresStore } from './postgres-store.js';

const url = serviceUrl('pg');
const up = await requireService('pg', url);
const run = `pitwall_test_${randomBytes(4).toString('hex')}`;
let schemaNo = 0;
const schemas: string[] = [];

function freshSchema(): string {
  schemaNo += 1;
  const schema = `${run}_${schemaNo}`;
  schemas.push(schema);
  return schema;
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function dropSchemas(): Promise<void> {
  const names = schemas.splice(0);
  if (names.length === 0) return;
  await withAdmin(async (c) => {
    for (const s of names) await c.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
  });
}

if (!up) {
  describe.skip(`PostgreSQL store (no server at ${url})`, () => {
    it('needs PostgreSQL: eval "$(scripts/services.sh | tail -2)"', () => {});
  });
} else {
  afterAll(dropSchemas);

  storeContract('postgres', async () => createPostgresStore({ url, schema: freshSchema(), poolSize: 4 }), dropSchemas);

  describe('postgres store', () => {
    const open: Store[] = [];
    const store = (schema: string, poolSize = 2): Store => {
      const s = createPostgresStore({ url, schema, poolSize });
      open.push(s);
      return s;
    };
    afterAll(async () => {
      await Promise.all(open.map((s) => s.close()));
    });

    it('migrates once when several processes start at the same moment', async () => {
      const schema = freshSchema();
      const stores = [1, 2, 3, 4].map(() => store(schema, 1));
      await Promise.all(stores.map((s) => s.migrate()));
      await stores[0]!.migrate();
      const versions = await withAdmin(
        async (c) => (await c.query(`SELECT version FROM "${schema}".schema_migrations ORDER BY version`)).rows,
      );
      expect(versions.map((r: { version: number }) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
      expect(await stores[3]!.countVehicles()).toBe(0);
    });

    it('refuses a schema name it would have to quote, and a pool of no connections', () => {
      for (const schema of ['Pitwall', 'a-b', 'x"; DROP TABLE y; --', '', '1abc']) {
        expect(isStoreArgumentError(catchSync(() => createPostgresStore({ url, schema })))).toBe(true);
      }
      expect(isStoreArgumentError(catchSync(() => createPostgresStore({ url, poolSize: 0 })))).toBe(true);
    });

    it('claims skip rows another transaction holds instead of waiting for them', async () => {
      const schema = freshSchema();
      const a = store(schema);
      await a.migrate();
      const wf = opened(vinOf(1), T0);
      const rows = ['r1', 'r2', 'r3', 'r4'].map((k, i) => outboxRow(wf, k, { createdAt: T0 + i }));
      await a.commitDecisions([decision(null, wf, { outbox: rows })]);
      await a.upsertVehicles(
        [1, 2, 3].map((n) => ({ vin: vinOf(n), lastSampleAt: null })),
        T0,
      );
      await a.commitDecisions([
        decision(wf, next(wf), {
          timers: [
            { kind: 'set', name: 'retry', dueAt: T0, seq: 1 },
            { kind: 'set', name: 'state_timeout', dueAt: T0 + 1, seq: 1 },
          ],
        }),
      ]);

      const holder = new pg.Client({ connectionString: url, options: `-c search_path=${schema}` });
      await holder.connect();
      try {
        // Another instance in the middle of its claims: the oldest row of each kind is locked.
        await holder.query('BEGIN');
        await holder.query('SELECT 1 FROM outbox WHERE key = $1 FOR UPDATE', [rows[0]!.key]);
        await holder.query("SELECT 1 FROM timers WHERE name = 'retry' FOR UPDATE");
        await holder.query('SELECT 1 FROM vehicles WHERE vin = $1 FOR UPDATE', [vinOf(1)]);

        const b = store(schema);
        const claimed = await b.claimOutbox(T0 + 10, 2, 1000);
        expect(claimed.map((r) => r.key)).toEqual([rows[1]!.key, rows[2]!.key]);
        expect((await b.claimDueTimers(T0 + 10, 10, 1000)).map((t) => t.name)).toEqual(['state_timeout']);
        expect(await b.claimDueVehicles(T0 + 10, 10, T0 + 3600)).toEqual([vinOf(2), vinOf(3)]);
        await holder.query('ROLLBACK');
        expect((await b.claimOutbox(T0 + 10, 10, 1000)).map((r) => r.key)).toEqual([rows[0]!.key, rows[3]!.key]);
        expect((await b.claimDueTimers(T0 + 10, 10, 1000)).map((t) => t.name)).toEqual(['retry']);
      } finally {
        await holder.end();
      }
    });

    it('two processes deciding on one workflow at once: one commits, the other meets a conflict', async () => {
      const schema = freshSchema();
      const [a, b] = [store(schema), store(schema)];
      await a.migrate();
      const wfs = Array.from({ length: 50 }, (_, n) => opened(vinOf(n), T0));
      await a.commitDecisions(wfs.map((wf) => decision(null, wf)));
      const mine = (wf: (typeof wfs)[number], who: string) =>
        decision(wf, next(wf, { reason: who }), {
          inboundId: `${who}-${wf.correlationId}`,
          outbox: [outboxRow(wf, `notify-${who}`)],
          counters: [{ counter: 'customers_engaged', by: 1 }],
        });
      const [fromA, fromB] = await Promise.all([
        a.commitDecisions(wfs.map((wf) => mine(wf, 'a'))),
        b.commitDecisions([...wfs].reverse().map((wf) => mine(wf, 'b'))),
      ]);
      const winners = wfs.map((_, i) => {
        const [oa, ob] = [fromA![i], fromB![wfs.length - 1 - i]];
        expect([oa, ob].sort()).toEqual(['committed', 'conflict']);
        return oa === 'committed' ? 'a' : 'b';
      });
      for (const [i, wf] of wfs.entries()) expect((await a.getWorkflow(wf.correlationId))?.reason).toBe(winners[i]);
      const keys = (await a.claimOutbox(T0 + 1e9, 1000, 1000)).map((r) => r.key).sort();
      expect(keys).toEqual(wfs.map((wf, i) => `${wf.correlationId}:notify-${winners[i]}`).sort());
      expect(await a.getCounters()).toEqual({ customers_engaged: 50 });
    });

    it('stores rejected input holding NUL characters, which PostgreSQL text cannot', async () => {
      const s = store(freshSchema());
      await s.migrate();
      const rejection = { reason: 'wrong_type' as const, field: 'signals.a\0b', message: 'bad\0' };
      expect(
        await s.quarantine([{ key: 'k', receivedAt: T0, vin: null, source: 'mqtt', rejection, raw: '{"a":"\0"}' }]),
      ).toEqual({ stored: 1, byReason: { wrong_type: 1 } });
      expect((await s.listQuarantine(1))[0]?.raw).toBe('{"a":"\uFFFD"}');
    });
  });
}

function catchSync(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}
