import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { ManualClock } from '../clock/clocks.js';
import { SIGNALS } from '../core/telemetry.js';
import { createSqliteStore } from '../store/index.js';
import type { Store } from '../store/port.js';
import { FleetPoller } from './fleet-poller.js';
import { TelemetryIngest } from './ingest.js';
import { createTelematicsClient } from './telematics-client.js';

const T0 = Date.parse('2026-04-01T12:00:00Z');
const GOOD_VINS = ['1HGCM82633A004352', '1HGCM82633A004353', '1HGCM82633A004354'];
const good = (vin: string) => ({
  vin,
  timestamp: new Date(T0 - 60_000).toISOString(),
  signals: { [SIGNALS.speed]: 50, [SIGNALS.coolantTemp]: 90 },
  dtcs: [],
});

/** Every class of bad input the issue names, each beside good samples in the same page. */
const BAD: [string, unknown][] = [
  ['missing_vin', { timestamp: new Date(T0).toISOString(), signals: {} }],
  ['wrong_type', { ...good('1HGCM82633A004399'), signals: { [SIGNALS.speed]: 'fast' } }],
  ['not_finite', { ...good('1HGCM82633A004399'), signals: { [SIGNALS.speed]: 'NaN' } }],
  ['out_of_range', { ...good('1HGCM82633A004399'), signals: { [SIGNALS.coolantTemp]: 900 } }],
  ['unknown_unit', { ...good('1HGCM82633A004399'), units: { [SIGNALS.coolantTemp]: 'rankine' } }],
  ['future_timestamp', { ...good('1HGCM82633A004399'), timestamp: new Date(T0 + 86_400_000).toISOString() }],
  ['oversized', { ...good('1HGCM82633A004399'), dtcs: Array.from({ length: 500 }, () => 'P0217') }],
];

interface Page {
  vehicles: unknown[];
  next_cursor: string | null;
}

describe('FleetPoller against a real HTTP server', () => {
  let server: Server;
  let url: string;
  let pages: Record<string, Page | number | string>;
  let store: Store;
  beforeEach(async () => {
    pages = {};
    server = createServer((req, res) => {
      const cursor = new URL(req.url ?? '/', 'http://x').searchParams.get('cursor') ?? 'first';
      const page = pages[cursor];
      if (typeof page === 'number') {
        res.writeHead(page).end('{}');
      } else if (typeof page === 'string') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(page);
      } else {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(page ?? { vehicles: [], next_cursor: null }));
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    store = createSqliteStore({ path: ':memory:' });
    await store.migrate();
  });
  afterEach(async () => {
    await new Promise((r) => server.close(r));
    await store.close();
  });

  const silent = pino({ level: 'silent' });
  const ingestOf = (clock: ManualClock) => new TelemetryIngest(store, clock, silent);
  const poller = (maxBytes?: number) =>
    new FleetPoller(createTelematicsClient(url, 2000, maxBytes), ingestOf(new ManualClock(T0)), store, silent, {
      pageSize: 2,
      maxPages: 10,
      backoffMs: 1000,
      maxBackoffMs: 8000,
    });

  it('walks every page, keeps the good samples and quarantines each bad one with its reason', async () => {
    pages = {
      first: { vehicles: [good(GOOD_VINS[0]!), ...BAD.slice(0, 4).map(([, s]) => s)], next_cursor: 'p2' },
      p2: { vehicles: [...BAD.slice(4).map(([, s]) => s), good(GOOD_VINS[1]!)], next_cursor: 'p3' },
      p3: { vehicles: [good(GOOD_VINS[2]!)], next_cursor: null },
    };
    const report = await poller().poll();
    expect(report).toEqual({ ok: true, pages: 3, accepted: 3, rejected: BAD.length });
    expect(await store.countVehicles()).toBe(3);
    const counters = await store.getCounters();
    for (const [reason] of BAD) expect(counters[`telemetry_rejected:${reason}`], reason).toBe(1);
    const kept = await store.listQuarantine(20);
    expect(kept.map((q) => q.rejection.reason).sort()).toEqual(BAD.map(([r]) => r).sort());
    expect(kept.find((q) => q.rejection.reason === 'unknown_unit')?.rejection.field).toBe(`units.${SIGNALS.coolantTemp}`);
  });

  it('counts a bad sample once, though every poll until a newer one sees it again', async () => {
    const clock = new ManualClock(T0);
    const p = new FleetPoller(createTelematicsClient(url, 2000), ingestOf(clock), store, silent, {
      pageSize: 10,
      maxPages: 10,
      backoffMs: 1000,
      maxBackoffMs: 8000,
    });
    const bad = (ts: number) => ({ ...good('1HGCM82633A004399'), timestamp: new Date(ts).toISOString(), signals: { [SIGNALS.speed]: 'fast' } });
    pages = { first: { vehicles: [bad(T0 - 60_000)], next_cursor: null } };
    await p.poll();
    clock.advance(60_000);
    await p.poll();
    expect((await store.getCounters())['telemetry_rejected:wrong_type']).toBe(1);
    pages = { first: { vehicles: [bad(T0 + 90_000)], next_cursor: null } };
    clock.advance(60_000);
    await p.poll();
    expect((await store.getCounters())['telemetry_rejected:wrong_type']).toBe(2);
    expect(await store.listQuarantine(10)).toHaveLength(2);
  });

  it('counts a bad sample once across a poll that failed half way, its retry, and a restart', async () => {
    const clock = new ManualClock(T0);
    const make = () =>
      new FleetPoller(createTelematicsClient(url, 2000), ingestOf(clock), store, silent, {
        pageSize: 1,
        maxPages: 10,
        backoffMs: 1000,
        maxBackoffMs: 8000,
      });
    const bad = (vin: string) => ({ ...good(vin), signals: { [SIGNALS.speed]: 'fast' } });
    pages = { first: { vehicles: [bad(GOOD_VINS[0]!)], next_cursor: 'p2' }, p2: 503 };
    const p = make();
    expect(await p.poll()).toMatchObject({ ok: false, pages: 1, rejected: 1 });
    pages = { ...pages, p2: { vehicles: [bad(GOOD_VINS[1]!)], next_cursor: null } };
    clock.advance(60_000);
    expect(await p.poll()).toMatchObject({ ok: true, pages: 2, rejected: 2 });
    // A restarted orchestrator polls the same latest samples.
    clock.advance(60_000);
    expect(await make().poll()).toMatchObject({ ok: true, rejected: 2 });
    expect((await store.getCounters())['telemetry_rejected:wrong_type']).toBe(2);
    expect((await store.listQuarantine(10)).map((q) => q.vin)).toEqual([GOOD_VINS[1], GOOD_VINS[0]]);
  });

  it('counts an outage, backs off exponentially, and recovers', async () => {
    pages = { first: 503 };
    const p = poller();
    expect((await p.poll()).ok).toBe(false);
    const first = p.backoffRemaining(Date.now());
    expect(first).toBeGreaterThan(500);
    expect((await p.poll()).ok).toBe(false);
    expect(p.backoffRemaining(Date.now())).toBeGreaterThan(first);
    expect((await store.getCounters())['telematics_poll_failures']).toBe(2);
    pages = { first: { vehicles: [good(GOOD_VINS[0]!)], next_cursor: null } };
    expect((await p.poll()).ok).toBe(true);
    expect(p.backoffRemaining(Date.now())).toBe(0);
  });

  it('refuses a body over the size limit unread, and counts it as oversized input', async () => {
    pages = { first: JSON.stringify({ vehicles: [good(GOOD_VINS[0]!)], next_cursor: null, padding: 'x'.repeat(20_000) }) };
    const r = await poller(10_000).poll();
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/over the 10000-byte limit/);
    expect((await store.getCounters())['telemetry_rejected:oversized']).toBe(1);
    expect((await store.listQuarantine(5))[0]?.rejection.field).toBe('body');
  });

  it('treats a body that is not JSON, or has no vehicles, as a failed poll', async () => {
    pages = { first: '<html>' };
    expect((await poller().poll()).error).toMatch(/not JSON/);
    pages = { first: JSON.stringify({ cars: [] }) };
    expect((await poller().poll()).error).toMatch(/no vehicles array/);
  });
});
