import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/clocks.js';
import { SECOND } from '../core/clock.js';
import { AGENTS, CHANNELS } from '../core/envelope.js';
import { SIGNALS } from '../core/telemetry.js';
import { MemoryBus } from '../bus/memory.js';
import { EnvelopeFactory } from '../bus/signing.js';
import { createApiServer } from '../api/server.js';
import { createSqliteStore } from '../store/index.js';
import type { Store } from '../store/port.js';
import { canonicalJson, ingestSamples, quarantineRefusedBody, sampleKey } from './ingest.js';
import { MainOrchestrationLoop } from './main-loop.js';
import { TEST_KEYS, testLoopOptions, until } from './testing/loop.js';

const T0 = Date.parse('2026-04-01T12:00:00Z');
const VIN = '1HGCM82633A004352';
const OTHER = '1HGCM82633A004353';
const sample = (vin: string, ts: number, speed: unknown = 50) => ({
  vin,
  timestamp: new Date(ts).toISOString(),
  signals: { [SIGNALS.speed]: speed, [SIGNALS.coolantTemp]: 90 },
  dtcs: [],
});

describe('ingestSamples', () => {
  let store: Store;
  beforeEach(async () => {
    store = createSqliteStore({ path: ':memory:' });
    await store.migrate();
  });
  afterEach(async () => {
    await store.close();
  });

  it('returns the good samples and quarantines each bad one with its reason, counted', async () => {
    const good = sample(VIN, T0 - 60_000);
    const r = await ingestSamples(store, [good, sample(VIN, T0 - 30_000, 'fast'), null, sample(OTHER, T0, 900)], {
      now: T0,
      source: 'mqtt',
    });
    expect(r.accepted.map((s) => [s.vin, s.ts])).toEqual([[VIN, T0 - 60_000]]);
    expect(r).toMatchObject({ rejected: 3, quarantined: 3 });
    expect(await store.getCounters()).toEqual({
      'telemetry_rejected:wrong_type': 1,
      'telemetry_rejected:not_an_object': 1,
      'telemetry_rejected:out_of_range': 1,
    });
    const rows = await store.listQuarantine(10);
    expect(rows.map((q) => [q.rejection.reason, q.vin, q.source])).toEqual([
      ['out_of_range', OTHER, 'mqtt'],
      ['not_an_object', null, 'mqtt'],
      ['wrong_type', VIN, 'mqtt'],
    ]);
    expect(rows[2]?.raw).toBe(canonicalJson(sample(VIN, T0 - 30_000, 'fast')));
  });

  it('stores and counts a bad sample once, whichever source brings it and however often', async () => {
    const bad = sample(VIN, T0 - 60_000, 'NaN');
    // The same content with its keys in another order, as a second source might serialise it.
    const reordered = { dtcs: [], signals: { [SIGNALS.coolantTemp]: 90, [SIGNALS.speed]: 'NaN' }, timestamp: bad.timestamp, vin: VIN };
    expect(await ingestSamples(store, [bad, bad], { now: T0, source: 'telematics_api' })).toMatchObject({ rejected: 2, quarantined: 1 });
    expect(await ingestSamples(store, [reordered], { now: T0 + 60_000, source: 'telematics_history', vin: VIN })).toMatchObject({
      rejected: 1,
      quarantined: 0,
    });
    expect(await ingestSamples(store, [bad], { now: T0 + 12 * 3600_000, source: 'telematics_history', vin: VIN })).toMatchObject({
      quarantined: 0,
    });
    expect(await store.getCounters()).toEqual({ 'telemetry_rejected:not_finite': 1 });
    expect(await store.listQuarantine(10)).toHaveLength(1);
    // A different bad sample is a new one.
    await ingestSamples(store, [{ ...bad, timestamp: new Date(T0).toISOString() }], { now: T0, source: 'telematics_api' });
    expect(await store.getCounters()).toEqual({ 'telemetry_rejected:not_finite': 2 });
  });

  it('refuses a valid sample of another vehicle when it was asked for one', async () => {
    const r = await ingestSamples(store, [sample(VIN, T0), sample(OTHER, T0)], { now: T0, source: 'telematics_history', vin: VIN });
    expect(r.accepted.map((s) => s.vin)).toEqual([VIN]);
    const [row] = await store.listQuarantine(10);
    expect(row?.rejection).toEqual({ reason: 'invalid_vin', field: 'vin', message: `history of ${VIN} holds a sample of ${OTHER}` });
    // Without an expected vehicle the same sample is good.
    expect((await ingestSamples(store, [sample(OTHER, T0)], { now: T0, source: 'telematics_api' })).accepted).toHaveLength(1);
  });

  it('stores each input it cannot know by its content, and each refused body', async () => {
    await ingestSamples(store, [undefined, undefined], { now: T0, source: 'mqtt' });
    await quarantineRefusedBody(store, { now: T0, source: 'telematics_api', bytes: 20_000, message: 'too big' });
    await quarantineRefusedBody(store, { now: T0, source: 'telematics_api', bytes: 20_000, message: 'too big' });
    expect(await store.getCounters()).toEqual({ 'telemetry_rejected:not_an_object': 2, 'telemetry_rejected:oversized': 2 });
    expect((await store.listQuarantine(10)).map((q) => q.key)).toEqual([null, null, null, null]);
  });

  it('knows a sample by its content, not by the order of its keys', () => {
    const a = canonicalJson({ b: 1, a: { d: [2, { y: 1, x: 0 }], c: null } });
    expect(a).toBe('{"a":{"c":null,"d":[2,{"x":0,"y":1}]},"b":1}');
    expect(sampleKey(a!)).toBe(sampleKey(canonicalJson({ a: { c: null, d: [2, { x: 0, y: 1 }] }, b: 1 })!));
    expect(sampleKey(a!)).not.toBe(sampleKey(canonicalJson({ b: 2, a: { d: [2, { y: 1, x: 0 }], c: null } })!));
    expect(canonicalJson(JSON.parse('{"__proto__":{"x":1},"a":1}'))).toBe('{"__proto__":{"x":1},"a":1}');
    expect(canonicalJson(undefined)).toBeNull();
    expect(canonicalJson(10n)).toBeNull();
  });
});

describe('the fleet poll and the history fetch share one ingest path (issue 7 item 5)', () => {
  it('quarantine and statistics count a bad sample once, though the poll and the history fetch both bring it', async () => {
    const clock = new ManualClock(T0);
    const store = createSqliteStore({ path: ':memory:' });
    const bus = new MemoryBus({ clock });
    const keys = TEST_KEYS;
    // The vehicle's latest sample is bad; the poll sees it every time, and so does its history.
    const good = sample(VIN, T0 - 2 * 3600_000);
    const bad = sample(VIN, T0 - 3600_000, 'fast');
    let histories = 0;
    const loop = new MainOrchestrationLoop(
      testLoopOptions({
        store,
        bus,
        clock,
        telematicsClient: {
          fetchPage: async () => ({ vehicles: [good, bad], next_cursor: null }),
          fetchHistory: async () => {
            histories += 1;
            return [good, bad];
          },
        },
      }),
    );
    const requests: string[] = [];
    await bus.subscribe(CHANNELS.analysisRequest, async (env) => void requests.push(env.header.message_id), {
      queue: AGENTS.dataAnalysis,
    });
    const app = await createApiServer({ loop, bus, store, clock, envelopes: EnvelopeFactory.fromKeyRing(AGENTS.api, keys, clock) });
    let polls = 0;
    loop.events.on('event', (e) => {
      if (e.type === 'poll' && e.ok) polls += 1;
    });
    try {
      await loop.start();
      await until(async () => polls >= 1 && histories === 1 && requests.length === 1, 'poll, history fetch and analysis request');
      // The next poll sees it again.
      clock.advance(60 * SECOND);
      await until(async () => polls >= 2, 'second poll');

      const stats = (await app.inject({ method: 'GET', url: '/api/statistics' })).json() as { telemetry_rejected: Record<string, number> };
      expect(stats.telemetry_rejected).toEqual({ wrong_type: 1 });
      const q = (await app.inject({ method: 'GET', url: '/api/quarantine?limit=100' })).json() as {
        samples: { vin: string; reason: string; source: string }[];
      };
      expect(q.samples).toHaveLength(1);
      expect(q.samples[0]).toMatchObject({ vin: VIN, reason: 'wrong_type' });
    } finally {
      await loop.stop();
      await app.close();
      await store.close();
    }
  });
});
