/**
 * `npm run eval:fleet`: the rules-based analysis measured on the simulator's ground truth.
 *
 *   node dist/bench/eval-fleet.js [--vehicles 1000] [--days 90] [--every-hours 24] [--seed eval-fleet]
 *                                 [--window-days 14] [--part k/n] [--quiet]
 *
 * A seeded fleet (no bad samples, no repairs) is sampled hourly from `window-days` before its start time.
 * Every `every-hours` from the start time on, each vehicle's last `window-days` of samples go through the
 * pure `analyzeVehicle`. A planted fault is scored only until its `fails_at`; checks after that are not
 * counted for its component (the vehicle is not repaired, so its signals stay broken).
 *
 * Definitions (printed with the table):
 * - a prediction is a predicted_failures entry with probability ≥ 0.5;
 * - precision is per vehicle-check: a prediction of component C is true when the vehicle has a planted
 *   fault of C that has not failed yet, false when it has none, and not counted when its fault of C has
 *   already failed; "per vehicle" counts each (vehicle, component) pair ever predicted once;
 * - recall at lead L: a fault is detected when some check ≥ L days before fails_at predicts its component;
 *   only faults that fail within the evaluated days, and ≥ L days after the first check, count;
 * - days-to-failure error at L: at the last check ≤ L days before fails_at (and within one check interval
 *   of it), |predicted days_to_failure of the component − true days to failure|; misses are counted apart;
 * - urgency: predicted = urgencyFor(the least days_to_failure of the predictions, i.e. the vehicle's
 *   predicted_days_to_failure, leaving out components whose fault already failed) or none; true =
 *   urgencyFor(days until the earliest unfailed fault) or none for healthy vehicles; checks after all
 *   faults failed are left out;
 * - critical faults: those failing less than one day after the first check; "rated critical" means a
 *   check before fails_at predicts the component with days_to_failure < 1.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DAY, HOUR } from '../src/core/clock.js';
import { COMPONENTS, type Component, type TelemetrySample } from '../src/core/telemetry.js';
import { urgencyFor, URGENCY_LEVELS, type Urgency } from '../src/core/urgency.js';
import { analyzeVehicle, ACTIONABLE_PROBABILITY } from '../src/analysis/analyze.js';
import { HistoryStore } from '../src/analysis/history.js';
import { parseFleetModel } from '../src/analysis/learned/model.js';
import { createFleet } from '../src/sim/fleet.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const num = (name: string, dflt: number): number => {
  const v = flag(name);
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number`);
  return n;
};

const VEHICLES = Math.round(num('--vehicles', 1000));
const DAYS = num('--days', 90);
const EVERY_MS = num('--every-hours', 24) * HOUR;
const WINDOW_MS = num('--window-days', 14) * DAY;
const SEED = flag('--seed') ?? 'eval-fleet';
const QUIET = args.includes('--quiet');
/** Without the agent's per-vehicle memory between checks (each check sees only its window). */
const NO_HISTORY = args.includes('--no-history');
/** The learned fleet model to blend in (bench/train-fleet-model.ts writes one). */
const MODEL_FILE = flag('--model');
const learned = MODEL_FILE ? parseFleetModel(readFileSync(MODEL_FILE, 'utf8'), MODEL_FILE) : undefined;
const [PART_K, PART_N] = (flag('--part') ?? '1/1').split('/').map(Number) as [number, number];
const START = Date.UTC(2026, 0, 5);
const LEADS = [30, 7, 1] as const;
const RECALL_LEADS = [7, 1, 0] as const;

type Level = Urgency | 'none';
const LEVELS: readonly Level[] = ['none', ...URGENCY_LEVELS];

interface Counts {
  tp: number;
  fp: number;
}
interface FaultRecord {
  component: Component;
  failsAt: number;
  /** earliest lead (days before fails_at) at which the component was predicted, or null */
  firstLeadDays: number | null;
  ratedCritical: boolean;
  errors: Partial<Record<(typeof LEADS)[number], number | null>>;
  /** what the analysis said about the component about 7 days before fails_at (for --misses) */
  at7?: string;
  /** what the analysis said about the component at the last check before fails_at (for --misses) */
  last?: string;
}

const checkPrecision = new Map<Component, Counts>(COMPONENTS.map((c) => [c, { tp: 0, fp: 0 }]));
const vehiclePrecision = new Map<Component, Counts>(COMPONENTS.map((c) => [c, { tp: 0, fp: 0 }]));
const confusion = new Map<Level, Map<Level, number>>(LEVELS.map((t) => [t, new Map(LEVELS.map((p) => [p, 0]))]));
const faults: FaultRecord[] = [];
const healthy = { vehicles: 0, alarmed: 0, highOrCritical: 0, checks: 0, alarmedChecks: 0 };
const fpExamples: string[] = [];
const overrated: string[] = [];
let samplesAnalyzed = 0;
let analysisSeconds = 0;

const fleet = createFleet({ seed: SEED, vehicles: VEHICLES, startTime: START, badSampleRate: 0 });
const truth = fleet.groundTruth();
const firstCheck = START;
const lastCheck = START + DAYS * DAY;
const t0 = process.hrtime.bigint();

for (let vi = 0; vi < truth.length; vi++) {
  if (vi % PART_N !== PART_K - 1) continue;
  const gt = truth[vi]!;
  const planted = gt.faults.map((f) => ({ component: f.component, failsAt: Date.parse(f.fails_at) }));
  const records: FaultRecord[] = planted.map((f) => ({ ...f, firstLeadDays: null, ratedCritical: false, errors: {} }));
  const samples: TelemetrySample[] = [];
  for (let t = firstCheck - WINDOW_MS; t <= lastCheck; t += HOUR) samples.push(fleet.sample(gt.vin, t)!);
  const everPredicted = new Set<Component>();
  let alarmed = false;
  const history = NO_HISTORY ? undefined : { store: new HistoryStore({ maxVehicles: 1 }), vin: gt.vin };
  let lo = 0;
  let hi = 0;
  for (let now = firstCheck; now <= lastCheck; now += EVERY_MS) {
    while (hi < samples.length && samples[hi]!.ts <= now) hi++;
    while (lo < hi && samples[lo]!.ts <= now - WINDOW_MS) lo++;
    const window = samples.slice(lo, hi);
    const a0 = process.hrtime.bigint();
    const result = analyzeVehicle(window, now, learned ? { learned } : {}, undefined, history);
    analysisSeconds += Number(process.hrtime.bigint() - a0) / 1e9;
    samplesAnalyzed += window.length;

    const predicted = result.predicted_failures.filter((f) => f.probability >= ACTIONABLE_PROBABILITY);
    for (const p of predicted) {
      const fault = planted.find((f) => f.component === p.component);
      if (fault && now >= fault.failsAt) continue;
      const counts = checkPrecision.get(p.component)!;
      if (fault) counts.tp++;
      else {
        counts.fp++;
        if (fpExamples.length < 40) fpExamples.push(`${gt.vin} day ${((now - START) / DAY).toFixed(1)}: ${p.component} ${p.days_to_failure}d p=${p.probability} ${p.evidence?.[0] ?? ''}`);
      }
      everPredicted.add(p.component);
    }
    for (const r of records) {
      if (now >= r.failsAt) continue;
      const lead = (r.failsAt - now) / DAY;
      const p = result.predicted_failures.find((f) => f.component === r.component);
      const actionable = p !== undefined && p.probability >= ACTIONABLE_PROBABILITY;
      if (actionable && (r.firstLeadDays === null || lead > r.firstLeadDays)) r.firstLeadDays = lead;
      if (actionable && p.days_to_failure < 1) r.ratedCritical = true;
      for (const L of LEADS) {
        if (lead >= L && lead < L + EVERY_MS / DAY) r.errors[L] = p ? Math.abs(p.days_to_failure - lead) : null;
      }
      r.last = `${gt.vin} ${r.component} fails day ${((r.failsAt - START) / DAY).toFixed(2)}, at lead ${lead.toFixed(2)}: ${p ? `p=${p.probability} dtf=${p.days_to_failure} ${p.evidence?.join(' | ')}` : 'no prediction'}`;
      if (lead >= 7 && lead < 7 + EVERY_MS / DAY) {
        r.at7 = `${gt.vin} ${r.component} fails day ${((r.failsAt - START) / DAY).toFixed(1)}, at lead ${lead.toFixed(1)}: ${p ? `p=${p.probability} dtf=${p.days_to_failure} ${p.evidence?.join(' | ')}` : 'no prediction'}`;
      }
    }

    const pending = planted.filter((f) => now < f.failsAt);
    if (gt.healthy || pending.length > 0) {
      const trueLevel: Level = gt.healthy ? 'none' : urgencyFor(Math.min(...pending.map((f) => (f.failsAt - now) / DAY)));
      // A component whose fault already failed stays broken (no repairs here): its prediction is right but no longer scored.
      const failed = new Set(planted.filter((f) => now >= f.failsAt).map((f) => f.component));
      const live = predicted.filter((p) => !failed.has(p.component));
      const predLevel: Level = live.length === 0 ? 'none' : urgencyFor(Math.min(...live.map((p) => p.days_to_failure)));
      const row = confusion.get(trueLevel)!;
      if (URGENCY_LEVELS.indexOf(predLevel as Urgency) >= 0 && trueLevel !== 'none' && URGENCY_LEVELS.indexOf(predLevel as Urgency) > URGENCY_LEVELS.indexOf(trueLevel) && overrated.length < 40) {
        const first = live.sort((a, b) => a.days_to_failure - b.days_to_failure)[0]!;
        const trueDays = Math.min(...pending.map((f) => (f.failsAt - now) / DAY));
        overrated.push(`${gt.vin} day ${((now - START) / DAY).toFixed(1)}: true ${trueLevel} (${trueDays.toFixed(2)} d) rated ${predLevel}: ${first.component} dtf=${first.days_to_failure} ${first.evidence?.join(' | ') ?? ''}`);
      }
      row.set(predLevel, row.get(predLevel)! + 1);
      if (gt.healthy) {
        healthy.checks++;
        if (predicted.length > 0) healthy.alarmedChecks++;
        if (predicted.length > 0) alarmed = true;
        if (predLevel === 'high' || predLevel === 'critical') healthy.highOrCritical++;
      }
    }
  }
  for (const c of everPredicted) {
    const real = planted.some((f) => f.component === c);
    const counts = vehiclePrecision.get(c)!;
    if (real) counts.tp++;
    else counts.fp++;
  }
  if (gt.healthy) {
    healthy.vehicles++;
    if (alarmed) healthy.alarmed++;
  }
  faults.push(...records);
  if (!QUIET && (vi + 1) % 50 === 0) {
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    process.stderr.write(`\r${vi + 1}/${truth.length} vehicles, ${s.toFixed(0)} s, ${Math.round(samplesAnalyzed / analysisSeconds)} samples/s analysed   `);
  }
}
if (!QUIET) process.stderr.write('\n');

// ---- summary
const ratio = (a: number, b: number): number | null => (b === 0 ? null : a / b);
const fmt = (x: number | null, digits = 3): string => (x === null ? '—' : x.toFixed(digits));
const pct = (xs: number[], q: number): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * (s.length - 1) + 0.5))]!;
};

interface Row {
  component: string;
  faults: number;
  recall: Record<string, { detected: number; eligible: number; recall: number | null }>;
  precision_per_check: { tp: number; fp: number; precision: number | null };
  precision_per_vehicle: { tp: number; fp: number; precision: number | null };
  dtf_error: Record<string, { n: number; missed: number; median: number | null; p90: number | null }>;
}

function rowFor(name: string, comps: readonly Component[]): Row {
  const fs = faults.filter((f) => comps.includes(f.component));
  const recall: Row['recall'] = {};
  for (const L of RECALL_LEADS) {
    const eligible = fs.filter((f) => f.failsAt - firstCheck >= L * DAY && f.failsAt > firstCheck && f.failsAt <= lastCheck);
    const detected = eligible.filter((f) => f.firstLeadDays !== null && f.firstLeadDays >= L).length;
    recall[`${L}d`] = { detected, eligible: eligible.length, recall: ratio(detected, eligible.length) };
  }
  const sum = (m: Map<Component, Counts>): Counts =>
    comps.reduce((acc, c) => ({ tp: acc.tp + m.get(c)!.tp, fp: acc.fp + m.get(c)!.fp }), { tp: 0, fp: 0 });
  const pc = sum(checkPrecision);
  const pv = sum(vehiclePrecision);
  const dtf: Row['dtf_error'] = {};
  for (const L of LEADS) {
    const seen = fs.filter((f) => f.errors[L] !== undefined);
    const errs = seen.map((f) => f.errors[L]).filter((e): e is number => e !== null && e !== undefined);
    dtf[`${L}d`] = { n: errs.length, missed: seen.length - errs.length, median: pct(errs, 0.5), p90: pct(errs, 0.9) };
  }
  return {
    component: name,
    faults: fs.length,
    recall,
    precision_per_check: { ...pc, precision: ratio(pc.tp, pc.tp + pc.fp) },
    precision_per_vehicle: { ...pv, precision: ratio(pv.tp, pv.tp + pv.fp) },
    dtf_error: dtf,
  };
}

const rows = [...COMPONENTS.map((c) => rowFor(c, [c])), rowFor('overall', COMPONENTS)];
const critical = faults.filter((f) => f.failsAt > firstCheck && f.failsAt - firstCheck < DAY);
const criticalRated = critical.filter((f) => f.ratedCritical).length;
const elapsed = Number(process.hrtime.bigint() - t0) / 1e9;

const lines: string[] = [];
const pad = (s: string, n: number): string => s.padEnd(n);
lines.push(`fleet eval: seed ${SEED}, ${VEHICLES} vehicles${PART_N > 1 ? ` (part ${PART_K}/${PART_N})` : ''}, ${DAYS} days, check every ${EVERY_MS / HOUR} h on the last ${WINDOW_MS / DAY} days of hourly samples${NO_HISTORY ? ', no memory between checks' : ', with the agent\'s per-vehicle memory between checks'}${learned ? `, learned fleet model ${MODEL_FILE}` : ', rules only'}`);
lines.push(
  `${pad('component', 13)}${pad('faults', 7)}${pad('rec≥7d', 14)}${pad('rec≥1d', 14)}${pad('rec>0d', 14)}${pad('prec/check', 18)}${pad('prec/vehicle', 16)}dtf |err| median/p90 (missed) at 30d · 7d · 1d`,
);
for (const r of rows) {
  const rec = (k: string): string => `${fmt(r.recall[k]!.recall)} ${r.recall[k]!.detected}/${r.recall[k]!.eligible}`;
  const err = (k: string): string => {
    const e = r.dtf_error[k]!;
    return `${fmt(e.median, 1)}/${fmt(e.p90, 1)} (${e.missed})`;
  };
  lines.push(
    `${pad(r.component, 13)}${pad(String(r.faults), 7)}${pad(rec('7d'), 14)}${pad(rec('1d'), 14)}${pad(rec('0d'), 14)}` +
      `${pad(`${fmt(r.precision_per_check.precision)} ${r.precision_per_check.tp}/${r.precision_per_check.tp + r.precision_per_check.fp}`, 18)}` +
      `${pad(`${fmt(r.precision_per_vehicle.precision)} ${r.precision_per_vehicle.tp}/${r.precision_per_vehicle.tp + r.precision_per_vehicle.fp}`, 16)}` +
      `${err('30d')} · ${err('7d')} · ${err('1d')}`,
  );
}
lines.push('');
lines.push('urgency confusion (rows true, columns predicted; vehicle-checks)');
lines.push(`${pad('', 10)}${LEVELS.map((l) => pad(l, 9)).join('')}`);
for (const t of LEVELS) lines.push(`${pad(t, 10)}${LEVELS.map((p) => pad(String(confusion.get(t)!.get(p)), 9)).join('')}`);
lines.push('');
lines.push(
  `healthy vehicles: ${healthy.vehicles}, with any prediction ≥ 0.5: ${healthy.alarmed} (false-alarm rate ${fmt(ratio(healthy.alarmed, healthy.vehicles))} per vehicle, ${fmt(ratio(healthy.alarmedChecks, healthy.checks), 4)} per check), checks rated high or critical: ${healthy.highOrCritical}`,
);
lines.push(`critical faults (fail < 1 day after the first check) rated critical before failing: ${criticalRated}/${critical.length}`);
lines.push(`${samplesAnalyzed} samples analysed at ${Math.round(samplesAnalyzed / analysisSeconds)} samples/s; ${elapsed.toFixed(0)} s in all`);
const targets = {
  recall_7d_ge_0_95: (rows.at(-1)!.recall['7d']!.recall ?? 0) >= 0.95,
  precision_ge_0_9: (rows.at(-1)!.precision_per_check.precision ?? 0) >= 0.9,
  no_healthy_high_or_critical: healthy.highOrCritical === 0,
  every_critical_rated_critical: criticalRated === critical.length,
};
lines.push(`targets: ${Object.entries(targets).map(([k, v]) => `${k} ${v ? 'met' : 'NOT met'}`).join(', ')}`);
console.log(lines.join('\n'));
if (args.includes('--misses')) {
  const missed = faults.filter((f) => f.failsAt - firstCheck >= 7 * DAY && f.failsAt <= lastCheck && (f.firstLeadDays === null || f.firstLeadDays < 7));
  console.log(`\nmissed at ≥ 7 days (${missed.length}):\n${missed.map((f) => f.at7 ?? `${f.component} (no check at lead 7)`).join('\n')}`);
  const notCritical = critical.filter((f) => !f.ratedCritical);
  console.log(`\ncritical faults not rated critical (${notCritical.length}):\n${notCritical.map((f) => f.last ?? f.component).join('\n')}`);
}
if (args.includes('--overrated')) console.log(`\nrated more urgent than true (first ${overrated.length}):\n${overrated.join('\n')}`);
if (args.includes('--fp')) console.log(`\nfalse positives (first ${fpExamples.length}):\n${fpExamples.join('\n')}`);

const outDir = path.resolve(here, '..', '..', 'bench', 'results');
mkdirSync(outDir, { recursive: true });
const file = path.join(outDir, `eval-fleet-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
writeFileSync(
  file,
  `${JSON.stringify(
    {
      seed: SEED,
      vehicles: VEHICLES,
      part: `${PART_K}/${PART_N}`,
      days: DAYS,
      check_every_hours: EVERY_MS / HOUR,
      window_days: WINDOW_MS / DAY,
      rows,
      urgency_confusion: Object.fromEntries([...confusion].map(([t, m]) => [t, Object.fromEntries(m)])),
      healthy,
      critical_faults: { total: critical.length, rated_critical: criticalRated },
      samples_analyzed: samplesAnalyzed,
      samples_per_second: Math.round(samplesAnalyzed / analysisSeconds),
      targets,
      false_positive_examples: fpExamples,
    },
    null,
    2,
  )}\n`,
);
console.log(`wrote ${path.relative(process.cwd(), file)}`);
