/**
 * `npm run eval:fleet`: the data-analysis agent measured on the simulator's hidden ground truth.
 *
 *   node dist/bench/eval-fleet.js [--vehicles 1000] [--days 90] [--every-hours 6] [--seed eval-fleet]
 *                                 [--window-days 14] [--model FILE] [--jobs N] [--no-history]
 *                                 [--misses] [--overrated] [--fp] [--quiet]
 *
 * A seeded fleet (no bad samples, no repairs) is sampled hourly from `window-days` before its start time.
 * Every `every-hours` (default: Pitwall's own analysis interval) from the start time on, each vehicle's
 * last `window-days` of samples go through the agent's analysis, with its per-vehicle memory between
 * checks; every check is scored against the planted faults (definitions in fleet-eval/report.ts). The
 * vehicles are shared among `jobs` worker processes (default: one per core) whose raw counts add up.
 */
import { fork } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DAY, HOUR } from '../src/core/clock.js';
import { parseFleetModel } from '../src/analysis/learned/model.js';
import { DEFAULTS } from '../src/cli/config.js';
import { formatMisses, formatSummary, summarize } from './fleet-eval/report.js';
import { evaluatePart, mergeTallies, type EvalOptions, type Tally } from './fleet-eval/tally.js';

const self = fileURLToPath(import.meta.url);
const here = path.dirname(self);
const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const num = (name: string, dflt: number): number => {
  const v = flag(name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${v}`);
  return n;
};

const MODEL_FILE = flag('--model');
const opts: EvalOptions = {
  seed: flag('--seed') ?? 'eval-fleet',
  vehicles: Math.round(num('--vehicles', 1000)),
  days: num('--days', 90),
  everyMs: num('--every-hours', DEFAULTS.analysisInterval / 3600) * HOUR,
  windowMs: num('--window-days', 14) * DAY,
  noHistory: args.includes('--no-history'),
  start: Date.UTC(2026, 0, 5),
  ...(MODEL_FILE ? { learned: parseFleetModel(readFileSync(MODEL_FILE, 'utf8'), MODEL_FILE) } : {}),
};
const modelLabel = MODEL_FILE ? `rules + learned fleet model ${MODEL_FILE}` : 'rules only';

type ToParent = { kind: 'progress'; vehicles: number; samples: number; seconds: number } | { kind: 'done'; tally: Tally };

const worker = flag('--worker');
if (worker !== undefined) {
  const [k, n] = worker.split('/').map(Number) as [number, number];
  let vehicles = 0;
  const send = (m: ToParent): void => void process.send?.(m);
  const tally = evaluatePart(opts, k, n, (t) => {
    vehicles++;
    if (vehicles % 10 === 0) send({ kind: 'progress', vehicles, samples: t.samplesAnalyzed, seconds: t.analysisSeconds });
  });
  // The channel closes only once the tally is written to it; exiting earlier could lose it.
  process.send?.({ kind: 'done', tally } satisfies ToParent, () => process.disconnect?.());
} else {
  await main();
}

async function main(): Promise<void> {
  const jobs = Math.max(1, Math.min(Math.round(num('--jobs', os.availableParallelism())), opts.vehicles));
  const quiet = args.includes('--quiet');
  const t0 = process.hrtime.bigint();
  const progress = new Map<number, { vehicles: number; samples: number; seconds: number }>();
  const tty = process.stderr.isTTY;
  let shown = 0;
  const show = (): void => {
    if (quiet) return;
    const all = [...progress.values()];
    const vehicles = all.reduce((a, p) => a + p.vehicles, 0);
    // Into a log file, a line per tenth of the fleet; on a terminal, one line kept up to date.
    if (!tty && vehicles < shown + opts.vehicles / 10) return;
    shown = vehicles;
    const rate = all.reduce((a, p) => a + p.samples / Math.max(p.seconds, 1e-9), 0) / Math.max(1, all.length);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const line = `${vehicles}/${opts.vehicles} vehicles, ${s.toFixed(0)} s, ${jobs} worker${jobs === 1 ? '' : 's'}, ${Math.round(rate)} samples/s analysed per worker`;
    process.stderr.write(tty ? `\r${line}   ` : `${line}\n`);
  };
  const parts = await Promise.all(
    Array.from({ length: jobs }, (_, i) => {
      return new Promise<Tally>((resolve, reject) => {
        const child = fork(self, [...args, '--worker', `${i + 1}/${jobs}`], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
        let tally: Tally | undefined;
        child.on('message', (m: ToParent) => {
          if (m.kind === 'progress') {
            progress.set(i, m);
            show();
          } else tally = m.tally;
        });
        child.on('error', reject);
        // 'close' comes after the IPC channel has delivered everything, unlike 'exit'.
        child.on('close', (code) => (tally ? resolve(tally) : reject(new Error(`evaluation worker ${i + 1}/${jobs} exited with ${code} before reporting`))));
      });
    }),
  );
  if (!quiet && tty) process.stderr.write('\n');
  const tally = mergeTallies(parts);
  const summary = summarize(tally, opts);
  const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;
  const perWorker = Math.round(tally.samplesAnalyzed / tally.analysisSeconds);
  console.log(formatSummary(summary, tally, opts, modelLabel));
  console.log(`${tally.samplesAnalyzed} samples analysed at ${perWorker} samples/s per worker; ${elapsed.toFixed(0)} s in all on ${jobs} worker${jobs === 1 ? '' : 's'}`);
  if (args.includes('--misses')) console.log(`\n${formatMisses(summary)}`);
  if (args.includes('--overrated')) console.log(`\nrated more urgent than true (first ${tally.overrated.length}):\n${tally.overrated.join('\n')}`);
  if (args.includes('--fp')) console.log(`\nfalse positives (first ${tally.fpExamples.length}):\n${tally.fpExamples.join('\n')}`);

  const outDir = path.resolve(here, '..', '..', 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const file = path.join(outDir, `eval-fleet-${opts.seed}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  const record = {
    seed: opts.seed,
    vehicles: opts.vehicles,
    days: opts.days,
    no_history: opts.noHistory,
    check_every_hours: opts.everyMs / HOUR,
    window_days: opts.windowMs / DAY,
    model: MODEL_FILE ?? null,
    jobs,
    rows: summary.rows,
    urgency_confusion: tally.confusion,
    healthy: tally.healthy,
    critical_faults: { total: summary.critical.total, rated_critical: summary.critical.rated_critical },
    samples_analyzed: tally.samplesAnalyzed,
    samples_per_second_per_worker: perWorker,
    seconds: elapsed,
    targets: summary.targets,
    false_positive_examples: tally.fpExamples,
  };
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  console.log(`wrote ${path.relative(process.cwd(), file)}`);
}
