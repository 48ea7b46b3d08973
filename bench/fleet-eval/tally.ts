/**
 * One slice of the fleet evaluation: each vehicle of the slice sampled hourly, analysed at every check with
 * the agent's memory between checks, and every check scored against the simulator's hidden ground truth.
 * What comes out is raw counts (a Tally), so slices run in parallel processes add up exactly.
 */
import { DAY, HOUR } from '../../src/core/clock.js';
import { COMPONENTS, type Component, type TelemetrySample } from '../../src/core/telemetry.js';
import { urgencyFor, URGENCY_LEVELS, type Urgency } from '../../src/core/urgency.js';
import { analyzeVehicle, ACTIONABLE_PROBABILITY } from '../../src/analysis/analyze.js';
import { HistoryStore } from '../../src/analysis/history.js';
import type { FleetModel } from '../../src/analysis/learned/model.js';
import { createFleet } from '../../src/sim/fleet.js';

export type Level = Urgency | 'none';
export const LEVELS: readonly Level[] = ['none', ...URGENCY_LEVELS];
/** Leads (days before failure) at which the days-to-failure error is measured. */
export const ERROR_LEADS = [30, 7, 1] as const;
export type ErrorLead = (typeof ERROR_LEADS)[number];

export interface EvalOptions {
  seed: string;
  vehicles: number;
  /** simulated days evaluated after `start` */
  days: number;
  /** ms between two analyses of a vehicle */
  everyMs: number;
  /** ms of samples in each analysis request */
  windowMs: number;
  /** without the agent's per-vehicle memory between checks */
  noHistory: boolean;
  learned?: FleetModel;
  /** epoch ms of the first check */
  start: number;
}

export interface Counts {
  tp: number;
  fp: number;
}

export interface FaultRecord {
  component: Component;
  /** when the planted degradation began (ground truth) */
  onsetAt: number;
  failsAt: number;
  /** earliest lead (days before fails_at) at which the component was predicted, or null */
  firstLeadDays: number | null;
  ratedCritical: boolean;
  /** |predicted − true days to failure| at the check nearest each lead; null when not predicted then */
  errors: Partial<Record<ErrorLead, number | null>>;
  /** what the analysis said about the component about 7 days before fails_at (for --misses) */
  at7?: string;
  /** what the analysis said about the component at the last check before fails_at (for --misses) */
  last?: string;
}

export interface HealthyCounts {
  vehicles: number;
  alarmed: number;
  highOrCritical: number;
  checks: number;
  alarmedChecks: number;
}

export interface Tally {
  faults: FaultRecord[];
  checkPrecision: Record<Component, Counts>;
  vehiclePrecision: Record<Component, Counts>;
  /** vehicle-checks, true level → predicted level */
  confusion: Record<Level, Record<Level, number>>;
  healthy: HealthyCounts;
  /** a few examples of each kind of error, to read the cases behind the numbers */
  fpExamples: string[];
  overrated: string[];
  samplesAnalyzed: number;
  analysisSeconds: number;
}

const EXAMPLES = 40;

const perComponent = (): Record<Component, Counts> => Object.fromEntries(COMPONENTS.map((c) => [c, { tp: 0, fp: 0 }])) as Record<Component, Counts>;

export function emptyTally(): Tally {
  return {
    faults: [],
    checkPrecision: perComponent(),
    vehiclePrecision: perComponent(),
    confusion: Object.fromEntries(LEVELS.map((t) => [t, Object.fromEntries(LEVELS.map((p) => [p, 0]))])) as Tally['confusion'],
    healthy: { vehicles: 0, alarmed: 0, highOrCritical: 0, checks: 0, alarmedChecks: 0 },
    fpExamples: [],
    overrated: [],
    samplesAnalyzed: 0,
    analysisSeconds: 0,
  };
}

export function mergeTallies(parts: readonly Tally[]): Tally {
  const out = emptyTally();
  for (const t of parts) {
    out.faults.push(...t.faults);
    for (const c of COMPONENTS) {
      for (const k of ['tp', 'fp'] as const) {
        out.checkPrecision[c][k] += t.checkPrecision[c][k];
        out.vehiclePrecision[c][k] += t.vehiclePrecision[c][k];
      }
    }
    for (const a of LEVELS) for (const b of LEVELS) out.confusion[a][b] += t.confusion[a][b];
    for (const k of Object.keys(out.healthy) as (keyof HealthyCounts)[]) out.healthy[k] += t.healthy[k];
    out.fpExamples.push(...t.fpExamples.slice(0, EXAMPLES - out.fpExamples.length));
    out.overrated.push(...t.overrated.slice(0, EXAMPLES - out.overrated.length));
    out.samplesAnalyzed += t.samplesAnalyzed;
    out.analysisSeconds += t.analysisSeconds;
  }
  return out;
}

const rank = (l: Level): number => LEVELS.indexOf(l);

/**
 * Evaluates the vehicles whose index i has i % n === k − 1 (part k of n). `onVehicle` is called after
 * each vehicle, for progress.
 */
export function evaluatePart(opts: EvalOptions, k: number, n: number, onVehicle?: (t: Tally) => void): Tally {
  const tally = emptyTally();
  const fleet = createFleet({ seed: opts.seed, vehicles: opts.vehicles, startTime: opts.start, badSampleRate: 0 });
  const truth = fleet.groundTruth();
  const firstCheck = opts.start;
  const lastCheck = opts.start + opts.days * DAY;
  const dayOf = (t: number): string => ((t - opts.start) / DAY).toFixed(2);

  for (let vi = k - 1; vi < truth.length; vi += n) {
    const gt = truth[vi]!;
    const planted = gt.faults.map((f) => ({ component: f.component, onsetAt: Date.parse(f.onset_at), failsAt: Date.parse(f.fails_at) }));
    const records: FaultRecord[] = planted.map((f) => ({ ...f, firstLeadDays: null, ratedCritical: false, errors: {} }));
    const samples: TelemetrySample[] = [];
    for (let t = firstCheck - opts.windowMs; t <= lastCheck; t += HOUR) samples.push(fleet.sample(gt.vin, t)!);
    const everPredicted = new Set<Component>();
    let alarmed = false;
    const memory = opts.noHistory ? undefined : { store: new HistoryStore({ maxVehicles: 1 }), vin: gt.vin };
    let lo = 0;
    let hi = 0;
    for (let now = firstCheck; now <= lastCheck; now += opts.everyMs) {
      while (hi < samples.length && samples[hi]!.ts <= now) hi++;
      while (lo < hi && samples[lo]!.ts <= now - opts.windowMs) lo++;
      const window = samples.slice(lo, hi);
      const a0 = process.hrtime.bigint();
      const result = analyzeVehicle(window, now, opts.learned ? { learned: opts.learned } : {}, undefined, memory);
      tally.analysisSeconds += Number(process.hrtime.bigint() - a0) / 1e9;
      tally.samplesAnalyzed += window.length;

      const predicted = result.predicted_failures.filter((f) => f.probability >= ACTIONABLE_PROBABILITY);
      for (const p of predicted) {
        const fault = planted.find((f) => f.component === p.component);
        if (fault && now >= fault.failsAt) continue;
        const counts = tally.checkPrecision[p.component];
        if (fault) counts.tp++;
        else {
          counts.fp++;
          if (tally.fpExamples.length < EXAMPLES) tally.fpExamples.push(`${gt.vin} day ${dayOf(now)}: ${p.component} ${p.days_to_failure}d p=${p.probability} ${p.evidence?.[0] ?? ''}`);
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
        for (const L of ERROR_LEADS) {
          if (lead >= L && lead < L + opts.everyMs / DAY) r.errors[L] = p ? Math.abs(p.days_to_failure - lead) : null;
        }
        const said = `${gt.vin} ${r.component} fails day ${dayOf(r.failsAt)}, at lead ${lead.toFixed(2)}: ${p ? `p=${p.probability} dtf=${p.days_to_failure} ${p.evidence?.join(' | ')}` : 'no prediction'}`;
        r.last = said;
        if (lead >= 7 && lead < 7 + opts.everyMs / DAY) r.at7 = said;
      }

      const pending = planted.filter((f) => now < f.failsAt);
      if (!gt.healthy && pending.length === 0) continue;
      const trueDays = Math.min(...pending.map((f) => (f.failsAt - now) / DAY));
      const trueLevel: Level = gt.healthy ? 'none' : urgencyFor(trueDays);
      // A component whose fault already failed stays broken (no repairs here): its prediction is right but no longer scored.
      const failed = new Set(planted.filter((f) => now >= f.failsAt).map((f) => f.component));
      const live = predicted.filter((p) => !failed.has(p.component)).sort((a, b) => a.days_to_failure - b.days_to_failure);
      const predLevel: Level = live.length === 0 ? 'none' : urgencyFor(live[0]!.days_to_failure);
      tally.confusion[trueLevel][predLevel]++;
      if (trueLevel !== 'none' && rank(predLevel) > rank(trueLevel) && tally.overrated.length < EXAMPLES) {
        const first = live[0]!;
        tally.overrated.push(`${gt.vin} day ${dayOf(now)}: true ${trueLevel} (${trueDays.toFixed(2)} d) rated ${predLevel}: ${first.component} dtf=${first.days_to_failure} ${first.evidence?.join(' | ') ?? ''}`);
      }
      if (gt.healthy) {
        tally.healthy.checks++;
        if (predicted.length > 0) {
          tally.healthy.alarmedChecks++;
          alarmed = true;
        }
        if (predLevel === 'high' || predLevel === 'critical') tally.healthy.highOrCritical++;
      }
    }
    for (const c of everPredicted) tally.vehiclePrecision[c][planted.some((f) => f.component === c) ? 'tp' : 'fp']++;
    if (gt.healthy) {
      tally.healthy.vehicles++;
      if (alarmed) tally.healthy.alarmed++;
    }
    tally.faults.push(...records);
    onVehicle?.(tally);
  }
  return tally;
}
