/**
 * `npm run eval`: the learned RUL model on NASA C-MAPSS FD001, measured once on the test set
 * against RUL_FD001.txt and printed beside the published figures of the data set's SOURCE.md.
 *
 *   node dist/bench/eval-rul.js [--data DIR] [--seed S]   final measurement (train on train, score test)
 *   node dist/bench/eval-rul.js --cv [--grid]             cross-validation by engine on train only
 *
 * The method and its settings were chosen with --cv/--grid alone; the test files are read only by
 * the final measurement.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { crossValidate, DEFAULT_CV_OPTIONS } from '../src/analysis/rul/cv.js';
import { parseRulList, readCmapss } from '../src/analysis/rul/cmapss.js';
import { nasaScore, rmse } from '../src/analysis/rul/metrics.js';
import { DEFAULT_FEATURE_OPTIONS } from '../src/analysis/rul/features.js';
import { DEFAULT_GBT_PARAMS } from '../src/analysis/rul/gbt.js';
import {
  DEFAULT_RUL_TRAIN_OPTIONS,
  predictRul,
  trainRulModel,
  type RulTrainOptions,
} from '../src/analysis/rul/model.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
// dist/bench → repo → /work/shared/data: the data set sits beside the checkout.
const dataDir = flag('--data') ?? path.resolve(here, '../../../shared/data/cmapss-fd001');
const seed = Number(flag('--seed') ?? DEFAULT_RUL_TRAIN_OPTIONS.seed);

/** Settings compared by --grid (each a change from the defaults); kept so the choice can be re-run. */
const GRID: [string, Partial<RulTrainOptions>][] = [
  ['defaults', {}],
  ['no drift', { features: { ...DEFAULT_FEATURE_OPTIONS, kinds: ['mean', 'recent', 'slope'] } }],
  [
    '+ min, max',
    { features: { ...DEFAULT_FEATURE_OPTIONS, kinds: ['mean', 'recent', 'slope', 'drift', 'min', 'max'] } },
  ],
  ['window 20', { features: { ...DEFAULT_FEATURE_OPTIONS, window: 20 } }],
  ['window 40', { features: { ...DEFAULT_FEATURE_OPTIONS, window: 40 } }],
  ['recent 10', { features: { ...DEFAULT_FEATURE_OPTIONS, recentWindow: 10 } }],
  ['depth 4', { gbt: { ...DEFAULT_GBT_PARAMS, maxDepth: 4 } }],
  ['depth 6', { gbt: { ...DEFAULT_GBT_PARAMS, maxDepth: 6 } }],
  ['minLeaf 60', { gbt: { ...DEFAULT_GBT_PARAMS, minLeaf: 60 } }],
  ['rounds 200', { gbt: { ...DEFAULT_GBT_PARAMS, rounds: 200 } }],
  ['rounds 800, lr 0.025', { gbt: { ...DEFAULT_GBT_PARAMS, rounds: 800, learningRate: 0.025 } }],
  ['cap 130', { cap: 130 }],
  ['cap 120', { cap: 120 }],
  ['1 member', { members: 1 }],
  ['5 members', { members: 5 }],
];

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

async function runCv(): Promise<void> {
  const train = await readCmapss(path.join(dataDir, 'train_FD001.txt'));
  // --part k/n runs every n-th setting from the k-th, so a grid can use both cores as two processes.
  const [k, n] = (flag('--part') ?? '0/1').split('/').map(Number) as [number, number];
  const configs = (args.includes('--grid') ? GRID : GRID.slice(0, 1)).filter((_, i) => i % n === k);
  console.log(
    `cross-validation by engine on train_FD001 (${train.length} units, ${DEFAULT_CV_OPTIONS.folds} folds, test-like points: ≥ ${DEFAULT_CV_OPTIONS.minSeen} cycles seen, true RUL ≤ ${DEFAULT_CV_OPTIONS.maxTrueRul})`,
  );
  for (const [name, overrides] of configs) {
    const t0 = Date.now();
    const r = crossValidate(train, { ...overrides, seed });
    console.log(
      `${name.padEnd(28)} RMSE test-like ${r.rmseTestLike.toFixed(2)}  score/100 engines ${r.scorePer100.toFixed(0)}  RMSE capped all cycles ${r.rmseCappedAllCycles.toFixed(2)}  folds ${r.perFold.map((x) => x.toFixed(1)).join(' ')}  (${seconds(Date.now() - t0)})`,
    );
  }
}

interface Published {
  method: string;
  rmse: string;
  score: string;
}

/** The baseline table of SOURCE.md, read rather than copied so the two cannot drift apart. */
function publishedBaselines(): Published[] {
  const text = readFileSync(path.join(dataDir, 'SOURCE.md'), 'utf8');
  const section = text.split('## Published FD001 baselines')[1]?.split('\n## ')[0] ?? '';
  const out: Published[] = [];
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 5 || cells[1] === 'method' || /^-+$/.test(cells[1] ?? '')) continue;
    out.push({ method: cells[1]!, rmse: cells[2]!, score: cells[3]! });
  }
  return out;
}

async function runFinal(): Promise<void> {
  const train = await readCmapss(path.join(dataDir, 'train_FD001.txt'));
  const t0 = Date.now();
  let lastShown = 0;
  const model = trainRulModel(train, { seed }, (p) => {
    if (Date.now() - lastShown > 2000 || p.round === p.rounds) {
      lastShown = Date.now();
      process.stderr.write(`  training: member ${p.member}/${p.members}, round ${p.round}/${p.rounds}\n`);
    }
  });
  const trainMs = Date.now() - t0;
  const test = await readCmapss(path.join(dataDir, 'test_FD001.txt'));
  const truth = parseRulList(readFileSync(path.join(dataDir, 'RUL_FD001.txt'), 'utf8'), 'RUL_FD001.txt');
  const predicted = predictRul(model, test).map((p) => p.rul);
  if (predicted.length !== truth.length)
    throw new Error(`${predicted.length} test units but ${truth.length} true RULs`);
  const r = rmse(predicted, truth);
  const s = nasaScore(predicted, truth);
  console.log(`\nNASA C-MAPSS FD001, test set (${test.length} engines, RUL at each engine's last cycle)`);
  console.log(
    `training: ${train.length} units, ${model.training_rows} rows, ${model.members.length} × ${model.gbt.rounds} trees, seed ${seed}, ${seconds(trainMs)}\n`,
  );
  const rows: [string, string, string][] = [['Pitwall GBT ensemble (this run)', r.toFixed(2), s.toFixed(1)]];
  for (const p of publishedBaselines()) rows.push([p.method, p.rmse, p.score]);
  const w = Math.max(...rows.map((x) => x[0].length));
  console.log(`${'method'.padEnd(w)}  ${'RMSE'.padStart(7)}  ${'score'.padStart(24)}`);
  for (const [m, a, b] of rows) console.log(`${m.padEnd(w)}  ${a.padStart(7)}  ${b.padStart(24)}`);
  console.log(
    `\ntarget: RMSE ≤ 13 and score ≤ 300 → ${r <= 13 ? 'RMSE met' : 'RMSE missed'}, ${s <= 300 ? 'score met' : 'score missed'}`,
  );
}

await (args.includes('--cv') ? runCv() : runFinal());
