/**
 * Trains the learned days-to-failure model on a *training* fleet of the simulator (its own seed, never
 * the evaluation fleet's), from run-to-failure histories: every planted fault that fails within the
 * simulated days is a `failed` event at its ground-truth `fails_at`; each healthy vehicle contributes a
 * `not_found` event per component at a random time (a part a workshop would have found healthy).
 *
 *   node dist/bench/train-fleet-model.js [--vehicles 400] [--days 90] [--seed train-fleet] [--out FILE]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DAY, HOUR } from '../src/core/clock.js';
import { mulberry32 } from '../src/core/prng.js';
import type { Component, TelemetrySample } from '../src/core/telemetry.js';
import { examplesFromHistory, type LabelledEvent } from '../src/analysis/learned/dataset.js';
import { serializeFleetModel, trainFleetModel, type TrainingRow } from '../src/analysis/learned/model.js';
import { createFleet } from '../src/sim/fleet.js';
import { hashString } from '../src/sim/random.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const VEHICLES = Number(flag('--vehicles') ?? 400);
const DAYS = Number(flag('--days') ?? 90);
const SEED = flag('--seed') ?? 'train-fleet';
const OUT = path.resolve(flag('--out') ?? path.join(here, '..', '..', 'bench', 'results', 'fleet-model.json'));
const START = Date.UTC(2026, 0, 5);
const WINDOW_DAYS = 14;

const t0 = Date.now();
const fleet = createFleet({ seed: SEED, vehicles: VEHICLES, startTime: START, badSampleRate: 0 });
const rand = mulberry32(hashString(`${SEED}:not-found`));
const rows: TrainingRow[] = [];
let histories = 0;
let failed = 0;
let notFound = 0;
const truth = fleet.groundTruth();
for (const [i, gt] of truth.entries()) {
  const end = START + DAYS * DAY;
  const events: LabelledEvent[] = gt.faults
    .map((f) => ({ component: f.component as Component, at: Date.parse(f.fails_at), outcome: 'failed' as const }))
    .filter((e) => e.at > START && e.at <= end);
  if (gt.healthy) {
    const ev = fleet.info(gt.vin)?.powertrain === 'ev';
    const components: Component[] = ['brakes', 'battery', 'tyres', 'transmission', ...(ev ? [] : (['cooling', 'engine_oil'] as const))];
    for (const c of components) events.push({ component: c, at: START + (10 + rand() * (DAYS - 10)) * DAY, outcome: 'not_found' });
  }
  if (events.length === 0) continue;
  const from = Math.min(...events.map((e) => e.at)) - 60 * DAY;
  const samples: TelemetrySample[] = [];
  for (let t = Math.max(START - WINDOW_DAYS * DAY, from); t <= end; t += HOUR) samples.push(fleet.sample(gt.vin, t)!);
  const r = examplesFromHistory(gt.vin, samples, events, { windowDays: WINDOW_DAYS });
  rows.push(...r);
  histories++;
  failed += events.filter((e) => e.outcome === 'failed').length;
  notFound += events.filter((e) => e.outcome === 'not_found').length;
  if ((i + 1) % 50 === 0) process.stderr.write(`\r${i + 1}/${truth.length} vehicles replayed, ${rows.length} rows, ${((Date.now() - t0) / 1000).toFixed(0)} s   `);
}
process.stderr.write('\n');
const model = trainFleetModel(rows, {
  seed: 7,
  histories,
  confirmed: failed,
  notFound,
  onProgress: (p) => {
    if (p.round % 50 === 0) process.stderr.write(`\rtraining: round ${p.round}/${p.rounds}   `);
  },
});
process.stderr.write('\n');
mkdirSync(path.dirname(OUT), { recursive: true });
writeFileSync(OUT, serializeFleetModel(model));
console.log(`fleet model: ${rows.length} rows from ${histories} vehicle histories (${failed} run-to-failure, ${notFound} healthy parts), seed ${SEED}, ${((Date.now() - t0) / 1000).toFixed(1)} s → ${path.relative(process.cwd(), OUT)}`);
