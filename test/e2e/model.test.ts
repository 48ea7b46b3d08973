/**
 * `pitwall model retrain` as an operator runs it: service findings in the store of a data directory, the
 * history read from a real `pitwall mock telematics` process, the model file loaded (or refused) by the
 * orchestrator at its start.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY } from '../../src/core/clock.js';
import type { ServiceLabel } from '../../src/core/payloads.js';
import type { Component } from '../../src/core/telemetry.js';
import { parseFleetModel } from '../../src/analysis/learned/model.js';
import type { VehicleGroundTruth } from '../../src/sim/fleet.js';
import { decision, next, opened } from '../../src/store/contract-fixtures.js';
import { createSqliteStore } from '../../src/store/index.js';
import { freePort, getJson, PitwallProcess, runCli, tempDir } from './harness.js';

const EPOCH = Date.now() - 60 * DAY;
const data = tempDir('model');
let telematics: PitwallProcess;
let telematicsUrl = '';

/** Labels as the orchestrator writes them: one closed case per finding. */
async function seedStore(dataDir: string, labels: Omit<ServiceLabel, 'correlation_id'>[]): Promise<void> {
  mkdirSync(dataDir, { recursive: true });
  const store = createSqliteStore({ path: path.join(dataDir, 'pitwall.db') });
  try {
    await store.migrate();
    for (const [i, l] of labels.entries()) {
      const wf = opened(l.vin, EPOCH + i);
      await store.commitDecisions([decision(null, wf)]);
      await store.commitDecisions([decision(wf, next(wf, { state: 'completed' }), { labels: [{ ...l, correlation_id: wf.correlationId }] })]);
    }
  } finally {
    await store.close();
  }
}

beforeAll(async () => {
  const port = await freePort();
  telematics = new PitwallProcess([
    'mock', 'telematics', '--port', String(port), '--vehicles', '10', '--seed', '5',
    '--clock-epoch', new Date(EPOCH).toISOString(), '--data-dir', data.dir,
  ]);
  telematicsUrl = `http://127.0.0.1:${port}`;
  await telematics.waitForOutput(/listening on/);
  const truth = (await getJson<{ vehicles: VehicleGroundTruth[] }>(`${telematicsUrl}/sim/ground-truth`)).body.vehicles;
  const labels: Omit<ServiceLabel, 'correlation_id'>[] = [];
  for (const gt of truth) {
    for (const f of gt.faults) {
      const at = Date.parse(f.fails_at) - 2 * DAY;
      if (at > EPOCH + 20 * DAY && at < Date.now()) labels.push({ vin: gt.vin, component: f.component, finding: 'confirmed', serviced_at: at, predicted: null });
    }
    if (gt.healthy) {
      for (const c of ['brakes', 'tyres'] as Component[]) labels.push({ vin: gt.vin, component: c, finding: 'not_found', serviced_at: EPOCH + 40 * DAY, predicted: null });
    }
  }
  await seedStore(data.dir, labels);
});

afterAll(async () => {
  await telematics?.kill();
  data.remove();
});

describe('pitwall model retrain', () => {
  it('trains on the stored findings and the telematics history, writes the model where Pitwall looks, and the orchestrator loads it', async () => {
    const r = await runCli(['model', 'retrain', '--data-dir', data.dir, '--telematics', telematicsUrl, '--seed', '5']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/histories: \d+\/\d+ vehicles fetched and replayed, \d+ rows/);
    expect(r.stderr).toMatch(/training: round 250\/250/);
    const file = path.join(data.dir, 'fleet-model.json');
    expect(r.stdout).toContain(`fleet model written to ${file}`);
    const labels = r.stdout.match(/labels\s+(\d+) \((\d+) confirmed, (\d+) not found\)/);
    expect(labels).not.toBeNull();
    expect(Number(labels![3])).toBeGreaterThan(0);
    expect(r.stdout).toMatch(/vehicles\s+\d+/);
    expect(r.stdout).toMatch(/rows\s+\d+/);
    const model = parseFleetModel(readFileSync(file, 'utf8'), file);
    expect(model.seed).toBe(5);
    expect(model.training.confirmed).toBe(Number(labels![2]));
    expect(model.training.not_found).toBe(Number(labels![3]));

    // Same data, same seed: the same trees (only the training time differs).
    const again = await runCli(['model', 'retrain', '--data-dir', data.dir, '--telematics', telematicsUrl, '--seed', '5', '--out', path.join(data.dir, 'again.json')]);
    expect(again.code, again.stderr).toBe(0);
    expect(parseFleetModel(readFileSync(path.join(data.dir, 'again.json'), 'utf8'), 'again').gbt).toEqual(model.gbt);

    const orchestrator = new PitwallProcess([
      'orchestrator', '--data-dir', data.dir, '--port', String(await freePort()), '--telematics', telematicsUrl,
      '--scheduler', `http://127.0.0.1:${await freePort()}`, '--log-level', 'warn',
    ]);
    try {
      await orchestrator.waitForOutput(/analysis: rules \+ fleet model .*fleet-model\.json \(trained \S+ on \d+ vehicle histories/);
    } finally {
      await orchestrator.kill();
    }
  }, 60_000);

  it('refuses a named model file that is missing or broken, in one line, before starting anything', async () => {
    const broken = path.join(data.dir, 'broken.json');
    writeFileSync(broken, '{"format":"pitwall-fleet-model","version":1}');
    const common = ['orchestrator', '--data-dir', data.dir, '--port', String(await freePort()), '--telematics', telematicsUrl];
    const cases: [string, RegExp][] = [
      [broken, /broken\.json: not a Pitwall fleet model \(its features are not the ones this Pitwall computes; retrain it with `pitwall model retrain`\)/],
      [path.join(data.dir, 'missing.json'), /no fleet model at .*missing\.json; train one with `pitwall model retrain`/],
    ];
    for (const [file, message] of cases) {
      const r = await runCli([...common, '--analysis-model', file]);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    const env = await runCli(common, { PITWALL_ANALYSIS_MODEL: broken });
    expect(env.code).toBe(1);
    expect(env.stderr).toMatch(/broken\.json: not a Pitwall fleet model/);
  });

  it('says plainly when there is nothing to learn from yet, or no telematics API to read', async () => {
    const empty = path.join(data.dir, 'empty');
    await seedStore(empty, []);
    const none = await runCli(['model', 'retrain', '--data-dir', empty, '--telematics', telematicsUrl]);
    expect(none.code).toBe(1);
    expect(none.stderr.trim()).toMatch(/^error: no service findings stored yet: run Pitwall until services complete/);
    expect(none.stderr.trim().split('\n')).toHaveLength(1);

    const down = await runCli(['model', 'retrain', '--data-dir', data.dir, '--telematics', `http://127.0.0.1:${await freePort()}`]);
    expect(down.code).toBe(1);
    expect(down.stderr.trim()).toMatch(/^error: cannot reach the telematics API .*is it running\? pass its URL with --telematics$/);
    expect(down.stderr.trim().split('\n')).toHaveLength(1);

    const nowhere = await runCli(['model', 'retrain', '--data-dir', path.join(data.dir, 'nowhere')]);
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toMatch(/no Pitwall store at .*nowhere.*pitwall\.db; pass the --data-dir Pitwall runs with/);
  });
});
