import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DAY, HOUR } from '../core/clock.js';
import type { ServiceLabel } from '../core/payloads.js';
import { sampleToWire, type Component } from '../core/telemetry.js';
import { parseFleetModel, serializeFleetModel } from '../analysis/learned/model.js';
import { createTelematicsClient, TelematicsError, type TelematicsClient } from '../orchestrator/telematics-client.js';
import { createFleet, type Fleet } from '../sim/fleet.js';
import { decision, next, opened } from '../store/contract-fixtures.js';
import { createSqliteStore } from '../store/index.js';
import type { Store } from '../store/port.js';
import { ConfigError, resolveConfig } from './config.js';
import { eventsByVin, FLEET_MODEL_FILE, isRetrainError, loadAnalysisModel, retrainFromStore, RetrainErrorCodes, writeFileAtomic } from './model.js';

const START = Date.UTC(2026, 0, 5);
const NOW = START + 60 * DAY;
const fleet = createFleet({ seed: 'retrain-test', vehicles: 10, startTime: START, badSampleRate: 0 });

/** The simulator behind the client's interface, paged like the mock API: samples in (since, now] on the hourly grid. */
function fakeTelematics(f: Fleet, opts: { corrupt?: (t: number) => boolean } = {}): TelematicsClient & { requests: number } {
  const client = {
    requests: 0,
    async fetchPage() {
      return { vehicles: [], next_cursor: null };
    },
    async fetchHistory(vin: string, since: number, limit: number) {
      client.requests++;
      if (!f.info(vin)) throw new TelematicsError(`GET /api/telemetry/${vin}/history answered 404`, 404);
      const out: unknown[] = [];
      for (let t = Math.floor(since / HOUR) * HOUR + HOUR; t <= NOW && out.length < limit; t += HOUR) {
        const wire = sampleToWire(f.sample(vin, t)!);
        out.push(opts.corrupt?.(t) ? { ...wire, signals: { 'Vehicle.Speed': 'NaN' } } : wire);
      }
      return out;
    },
  };
  return client;
}

/** Findings as a workshop would report them: planted faults confirmed two days before they fail, healthy parts not found. */
function findings(): Omit<ServiceLabel, 'correlation_id'>[] {
  const out: Omit<ServiceLabel, 'correlation_id'>[] = [];
  for (const gt of fleet.groundTruth()) {
    for (const fault of gt.faults) {
      const at = Date.parse(fault.fails_at) - 2 * DAY;
      if (at > START + 20 * DAY && at < NOW) out.push({ vin: gt.vin, component: fault.component, finding: 'confirmed', serviced_at: at, predicted: null });
    }
    if (gt.healthy) {
      for (const c of ['brakes', 'battery'] as Component[]) out.push({ vin: gt.vin, component: c, finding: 'not_found', serviced_at: START + 40 * DAY, predicted: null });
    }
  }
  return out;
}

/** One closed case per finding, its label written with the decision, as the orchestrator does. */
async function seed(store: Store, labels: Omit<ServiceLabel, 'correlation_id'>[]): Promise<void> {
  for (const [i, l] of labels.entries()) {
    const wf = opened(l.vin, START + i);
    const done = next(wf, { state: 'completed' });
    expect(await store.commitDecisions([decision(null, wf)])).toEqual(['committed']);
    expect(await store.commitDecisions([decision(wf, done, { labels: [{ ...l, correlation_id: wf.correlationId }] })])).toEqual(['committed']);
  }
}

let dir: string;
let store: Store;
beforeEach(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'pitwall-retrain-'));
  store = createSqliteStore({ path: path.join(dir, 'pitwall.db') });
  await store.migrate();
});
afterEach(async () => {
  await store.close();
});

describe('retrainFromStore', () => {
  it('learns from every stored finding, replaying each labelled vehicle’s history, the same model for the same seed', async () => {
    const labels = findings();
    const confirmed = labels.filter((l) => l.finding === 'confirmed').length;
    expect(confirmed).toBeGreaterThan(0);
    await seed(store, labels);
    const trainedAt = new Date(NOW);
    const progress: string[] = [];
    const a = await retrainFromStore(store, fakeTelematics(fleet), { seed: 3, trainedAt, now: NOW, onProgress: (p) => progress.push(p.phase) });
    const vins = new Set(labels.map((l) => l.vin));
    expect(a.labels).toEqual({ confirmed, not_found: labels.length - confirmed });
    expect(a.vehicles).toBe(vins.size);
    expect(a.vehiclesWithoutHistory).toBe(0);
    expect(a.invalidSamples).toBe(0);
    expect(a.rows).toBeGreaterThan(vins.size * 10);
    expect(a.model.training).toEqual({ rows: a.rows, histories: vins.size, confirmed, not_found: labels.length - confirmed });
    expect(a.model.seed).toBe(3);
    expect(progress.filter((p) => p === 'fetch')).toHaveLength(vins.size);
    expect(progress).toContain('train');
    // The file the agent will load is the file written, and a second run gives it byte for byte.
    const text = serializeFleetModel(a.model);
    expect(serializeFleetModel(parseFleetModel(text, 'retrained'))).toBe(text);
    const b = await retrainFromStore(store, fakeTelematics(fleet), { seed: 3, trainedAt, now: NOW, concurrency: 1 });
    expect(serializeFleetModel(b.model)).toBe(text);
  });

  it('follows full pages of history to the last finding, counting a sample served on two pages once', async () => {
    await seed(store, findings());
    const opts = { seed: 3, trainedAt: new Date(NOW), now: NOW };
    const whole = await retrainFromStore(store, fakeTelematics(fleet), opts);
    const client = fakeTelematics(fleet);
    const paged = await retrainFromStore(store, client, { ...opts, pageSize: 200 });
    expect(client.requests).toBeGreaterThan(whole.vehicles * 3);
    expect(paged.samples).toBe(whole.samples);
    expect(serializeFleetModel(paged.model)).toBe(serializeFleetModel(whole.model));
  });

  it('skips and counts invalid samples and vehicles the telematics API does not know', async () => {
    const labels = findings();
    await seed(store, [...labels, { vin: '1HGCM82633A004352', component: 'brakes', finding: 'not_found', serviced_at: START + 30 * DAY, predicted: null }]);
    const r = await retrainFromStore(store, fakeTelematics(fleet, { corrupt: (t) => t % (50 * HOUR) === 0 }), { now: NOW });
    expect(r.invalidSamples).toBeGreaterThan(0);
    expect(r.vehicles).toBe(new Set(labels.map((l) => l.vin)).size + 1);
    expect(r.vehiclesWithoutHistory).toBe(1);
    expect(r.model.training.histories).toBe(r.vehicles - 1);
  });

  it('says what to do when no service has completed yet', async () => {
    const err = await retrainFromStore(store, fakeTelematics(fleet)).catch((e: unknown) => e);
    expect(isRetrainError(err) && err.code).toBe(RetrainErrorCodes.noLabels);
    expect((err as Error).message).toMatch(/^no service findings stored yet: run Pitwall until services complete/);
  });

  it('fails with one clear line when the telematics API cannot be reached', async () => {
    await seed(store, findings().slice(0, 3));
    const err = await retrainFromStore(store, createTelematicsClient('http://127.0.0.1:9', 2000)).catch((e: unknown) => e);
    expect(isRetrainError(err) && err.code).toBe(RetrainErrorCodes.telematics);
    expect((err as Error).message).toMatch(/^cannot reach the telematics API \(GET \/api\/telemetry\/.*\); is it running\? pass its URL with --telematics$/);
  });

  it('fails plainly when the labelled vehicles have no telemetry before their services', async () => {
    await seed(store, findings().slice(0, 2));
    const empty: TelematicsClient = { fetchPage: async () => ({ vehicles: [], next_cursor: null }), fetchHistory: async () => [] };
    const err = await retrainFromStore(store, empty).catch((e: unknown) => e);
    expect(isRetrainError(err) && err.code).toBe(RetrainErrorCodes.noRows);
    expect((err as Error).message).toMatch(/gave no training rows: the telematics API had 0 usable samples/);
  });
});

describe('eventsByVin', () => {
  it('turns findings into the dataset’s events, per vehicle, oldest first', () => {
    const l = (vin: string, component: Component, finding: ServiceLabel['finding'], at: number): ServiceLabel => ({
      correlation_id: `c-${vin}-${at}`,
      vin,
      component,
      finding,
      serviced_at: at,
      predicted: null,
    });
    const m = eventsByVin([l('B', 'tyres', 'confirmed', 20), l('A', 'brakes', 'not_found', 5), l('B', 'battery', 'not_found', 10)]);
    expect([...m.keys()]).toEqual(['A', 'B']);
    expect(m.get('B')).toEqual([
      { component: 'battery', at: 10, outcome: 'not_found' },
      { component: 'tyres', at: 20, outcome: 'confirmed' },
    ]);
  });
});

describe('loadAnalysisModel', () => {
  it('runs on the rules alone unless a model is named or the data directory holds one', async () => {
    expect(loadAnalysisModel({ dataDir: dir, analysisModel: '' })).toMatchObject({ model: null, file: null, description: expect.stringMatching(/rules only/) });
    await seed(store, findings());
    const { model } = await retrainFromStore(store, fakeTelematics(fleet), { now: NOW, trainedAt: new Date(NOW) });
    writeFileAtomic(path.join(dir, FLEET_MODEL_FILE), serializeFleetModel(model));
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const loaded = loadAnalysisModel({ dataDir: dir, analysisModel: '' });
    expect(serializeFleetModel(loaded.model!)).toBe(serializeFleetModel(model));
    expect(loaded.description).toContain(`trained ${new Date(NOW).toISOString()} on ${model.training.histories} vehicle histories`);
    const other = path.join(dir, 'sub', 'other.json');
    writeFileAtomic(other, serializeFleetModel(model));
    expect(loadAnalysisModel({ dataDir: os.tmpdir(), analysisModel: other }).file).toBe(other);
  });

  it('refuses a named file that is missing or is not a fleet model, naming it', () => {
    const missing = path.join(dir, 'nope.json');
    expect(() => loadAnalysisModel({ dataDir: dir, analysisModel: missing })).toThrow(ConfigError);
    expect(() => loadAnalysisModel({ dataDir: dir, analysisModel: missing })).toThrow(/no fleet model at .*nope\.json; train one with `pitwall model retrain`/);
    const broken = path.join(dir, 'broken.json');
    writeFileSync(broken, '{"format":"pitwall-rul-model"}');
    expect(() => loadAnalysisModel({ dataDir: dir, analysisModel: broken })).toThrow(/broken\.json: not a Pitwall fleet model \(format is "pitwall-rul-model"/);
    writeFileSync(path.join(dir, FLEET_MODEL_FILE), 'half a fi');
    expect(() => loadAnalysisModel({ dataDir: dir, analysisModel: '' })).toThrow(/fleet-model\.json: not a Pitwall fleet model \(not JSON\)/);
    expect(existsSync(missing)).toBe(false);
  });

  it('is a setting like any other: flag, environment and config file', () => {
    expect(resolveConfig({ env: {} }).analysisModel).toBe('');
    expect(resolveConfig({ env: { PITWALL_ANALYSIS_MODEL: ' /m/fleet.json ' } }).analysisModel).toBe('/m/fleet.json');
    expect(resolveConfig({ env: {}, flags: { analysisModel: 'x.json' } }).analysisModel).toBe('x.json');
  });
});
