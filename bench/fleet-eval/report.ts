/**
 * The fleet evaluation's figures from a Tally: recall by lead, precision, days-to-failure error, urgency
 * confusion, false alarms, critical faults, and the issue's targets. Definitions:
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
import { DAY, HOUR } from '../../src/core/clock.js';
import { COMPONENTS, type Component } from '../../src/core/telemetry.js';
import { ERROR_LEADS, LEVELS, type Counts, type EvalOptions, type FaultRecord, type Tally } from './tally.js';

/** Leads (days before failure) at which recall is measured. */
export const RECALL_LEADS = [7, 1, 0] as const;

export interface Row {
  component: string;
  faults: number;
  recall: Record<string, { detected: number; eligible: number; recall: number | null }>;
  precision_per_check: { tp: number; fp: number; precision: number | null };
  precision_per_vehicle: { tp: number; fp: number; precision: number | null };
  /** at each lead: errors measured (n), faults not predicted then (missed), and how many had begun to drift by then */
  dtf_error: Record<string, { n: number; missed: number; drifting: number; median: number | null; p90: number | null }>;
}

export interface Targets {
  recall_7d_ge_0_95: boolean;
  precision_ge_0_9: boolean;
  no_healthy_high_or_critical: boolean;
  every_critical_rated_critical: boolean;
}

export interface Summary {
  rows: Row[];
  critical: { total: number; rated_critical: number; missed: FaultRecord[] };
  /** faults eligible at 7 days that were not predicted 7 days ahead */
  missed7d: FaultRecord[];
  targets: Targets;
}

const ratio = (a: number, b: number): number | null => (b === 0 ? null : a / b);

/** The q-quantile by nearest rank, or null for no values. */
export function percentile(xs: readonly number[], q: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * (s.length - 1) + 0.5))]!;
}

/** The fault fails within the evaluated days, at least `lead` days after the first check: it can be found that early. */
function eligibleAt(f: FaultRecord, opts: EvalOptions, lead: number): boolean {
  return f.failsAt - opts.start >= lead * DAY && f.failsAt > opts.start && f.failsAt <= opts.start + opts.days * DAY;
}

/** Some check at least `lead` days before the failure predicted the fault's component. */
function detectedAt(f: FaultRecord, lead: number): boolean {
  return f.firstLeadDays !== null && f.firstLeadDays >= lead;
}

function rowFor(t: Tally, opts: EvalOptions, name: string, comps: readonly Component[]): Row {
  const fs = t.faults.filter((f) => comps.includes(f.component));
  const recall: Row['recall'] = {};
  for (const L of RECALL_LEADS) {
    const eligible = fs.filter((f) => eligibleAt(f, opts, L));
    const detected = eligible.filter((f) => detectedAt(f, L)).length;
    recall[`${L}d`] = { detected, eligible: eligible.length, recall: ratio(detected, eligible.length) };
  }
  const sum = (m: Record<Component, Counts>): Counts => comps.reduce((acc, c) => ({ tp: acc.tp + m[c].tp, fp: acc.fp + m[c].fp }), { tp: 0, fp: 0 });
  const pc = sum(t.checkPrecision);
  const pv = sum(t.vehiclePrecision);
  const dtf: Row['dtf_error'] = {};
  for (const L of ERROR_LEADS) {
    const seen = fs.filter((f) => f.errors[L] !== undefined);
    const errs = seen.map((f) => f.errors[L]).filter((e): e is number => e !== null && e !== undefined);
    const drifting = seen.filter((f) => f.onsetAt <= f.failsAt - L * DAY).length;
    dtf[`${L}d`] = { n: errs.length, missed: seen.length - errs.length, drifting, median: percentile(errs, 0.5), p90: percentile(errs, 0.9) };
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

export function summarize(t: Tally, opts: EvalOptions): Summary {
  const rows = [...COMPONENTS.map((c) => rowFor(t, opts, c, [c])), rowFor(t, opts, 'overall', COMPONENTS)];
  const critical = t.faults.filter((f) => f.failsAt > opts.start && f.failsAt - opts.start < DAY);
  const missedCritical = critical.filter((f) => !f.ratedCritical);
  const missed7d = t.faults.filter((f) => eligibleAt(f, opts, 7) && !detectedAt(f, 7));
  const overall = rows.at(-1)!;
  return {
    rows,
    critical: { total: critical.length, rated_critical: critical.length - missedCritical.length, missed: missedCritical },
    missed7d,
    targets: {
      recall_7d_ge_0_95: (overall.recall['7d']!.recall ?? 0) >= 0.95,
      precision_ge_0_9: (overall.precision_per_check.precision ?? 0) >= 0.9,
      no_healthy_high_or_critical: t.healthy.highOrCritical === 0,
      every_critical_rated_critical: missedCritical.length === 0,
    },
  };
}

const fmt = (x: number | null, digits = 3): string => (x === null ? '—' : x.toFixed(digits));
const pad = (s: string, n: number): string => s.padEnd(n);

/** The printed report: per-component table, urgency confusion, false alarms, critical faults, targets. */
export function formatSummary(s: Summary, t: Tally, opts: EvalOptions, modelLabel: string): string {
  const lines: string[] = [];
  lines.push(
    `fleet eval: seed ${opts.seed}, ${opts.vehicles} vehicles, ${opts.days} days, check every ${opts.everyMs / HOUR} h on the last ${opts.windowMs / DAY} days of hourly samples` +
      `${opts.noHistory ? ', no memory between checks' : ", with the agent's per-vehicle memory between checks"}, ${modelLabel}`,
  );
  lines.push(`${pad('component', 13)}${pad('faults', 7)}${pad('rec≥7d', 14)}${pad('rec≥1d', 14)}${pad('rec>0d', 14)}${pad('prec/check', 18)}${pad('prec/vehicle', 16)}dtf |err| median/p90 (missed) at 30d · 7d · 1d`);
  for (const r of s.rows) {
    const rec = (k: string): string => `${fmt(r.recall[k]!.recall)} ${r.recall[k]!.detected}/${r.recall[k]!.eligible}`;
    const err = (k: string): string => {
      const e = r.dtf_error[k]!;
      return `${fmt(e.median, 1)}/${fmt(e.p90, 1)} (${e.missed})`;
    };
    const prec = (p: Row['precision_per_check']): string => `${fmt(p.precision)} ${p.tp}/${p.tp + p.fp}`;
    lines.push(
      `${pad(r.component, 13)}${pad(String(r.faults), 7)}${pad(rec('7d'), 14)}${pad(rec('1d'), 14)}${pad(rec('0d'), 14)}` +
        `${pad(prec(r.precision_per_check), 18)}${pad(prec(r.precision_per_vehicle), 16)}${err('30d')} · ${err('7d')} · ${err('1d')}`,
    );
  }
  const overall = s.rows.at(-1)!;
  for (const L of ERROR_LEADS) {
    const e = overall.dtf_error[`${L}d`]!;
    lines.push(`${L} day${L === 1 ? '' : 's'} before failure: ${e.n + e.missed} faults checked, ${e.drifting} of them already degrading (planted onset), ${e.n} predicted`);
  }
  lines.push('', 'urgency confusion (rows true, columns predicted; vehicle-checks)');
  lines.push(`${pad('', 10)}${LEVELS.map((l) => pad(l, 9)).join('')}`);
  for (const a of LEVELS) lines.push(`${pad(a, 10)}${LEVELS.map((b) => pad(String(t.confusion[a][b]), 9)).join('')}`);
  const h = t.healthy;
  lines.push(
    '',
    `healthy vehicles: ${h.vehicles}, with any prediction ≥ 0.5: ${h.alarmed} (false-alarm rate ${fmt(ratio(h.alarmed, h.vehicles))} per vehicle, ${fmt(ratio(h.alarmedChecks, h.checks), 4)} per check), checks rated high or critical: ${h.highOrCritical}`,
  );
  lines.push(`critical faults (fail < 1 day after the first check) rated critical before failing: ${s.critical.rated_critical}/${s.critical.total}`);
  lines.push(`targets: ${Object.entries(s.targets).map(([k, v]) => `${k} ${v ? 'met' : 'NOT met'}`).join(', ')}`);
  return lines.join('\n');
}

/** The cases behind the misses: what the analysis said 7 days before, or at the last check. */
export function formatMisses(s: Summary): string {
  return [
    `missed at ≥ 7 days (${s.missed7d.length}):`,
    ...s.missed7d.map((f) => f.at7 ?? `${f.component} (no check at lead 7)`),
    '',
    `critical faults not rated critical (${s.critical.missed.length}):`,
    ...s.critical.missed.map((f) => f.last ?? f.component),
  ].join('\n');
}
