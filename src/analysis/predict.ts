/**
 * Candidate failures from signal rules (limit already passed, or a trend heading for it) and from
 * trouble codes, merged to one prediction per component.
 */
import { DAY, HOUR } from '../core/clock.js';
import type { Anomaly, PredictedFailure } from '../core/payloads.js';
import type { Component, TelemetrySample } from '../core/telemetry.js';
import type { DtcCatalog, DtcSeverity } from './dtc.js';
import { driftFromBaseline, type Baseline, type HistoryStore, type VehicleHistory } from './history.js';
import { beyondLimit, comparableReadings, type SignalRule } from './rules/thresholds.js';
import { dailyMedians, daysUntil, daysUntilAccelerating, fitLine, isSignificant, quantile, valueAt, type LinearFit, type Point } from './trend.js';

export interface PredictOptions {
  /** Trends reaching their limit later than this are not reported. @default 180 */
  horizonDays: number;
}

export const DEFAULT_PREDICT_OPTIONS: PredictOptions = { horizonDays: 180 };

/** Readings this close to the newest one count as "now" for a limit check. */
const RECENT_WINDOW_MS = 6 * HOUR;
/** ...or this close, when the short window holds too few (a car driven two hours a day, sampled hourly). */
const RECENT_WINDOW_WIDE_MS = 24 * HOUR;
const RECENT_MAX = 15;
/** Fewer recent readings than this beyond a limit is a glitch to report, not a failure to predict. */
const MIN_RECENT = 3;
/** A trend needs this many days with readings. */
const MIN_TREND_DAYS = 4;
/** Days of the recent-trend fit. */
const RECENT_TREND_DAYS = 7;
/** A trend is not extrapolated further than this many times the span it was fitted on. */
const MAX_EXTRAPOLATION = 3;
/** Trouble codes seen this long before the newest sample still count as active. */
const DTC_ACTIVE_MS = 3 * DAY;

const DTC_IMPACT: Record<DtcSeverity, { probability: number; days: number } | null> = {
  critical: { probability: 0.9, days: 0.5 },
  high: { probability: 0.75, days: 5 },
  medium: { probability: 0.55, days: 20 },
  low: null,
};

export interface Findings {
  anomalies: Anomaly[];
  failures: PredictedFailure[];
  /** every signal the rule looked at (empty for trouble codes) */
  signals: SignalState[];
}

const clamp01 = (x: number): number => Math.min(1, Math.max(0, x));
const round = (x: number, digits = 2): number => Math.round(x * 10 ** digits) / 10 ** digits;

function shortName(path: string): string {
  return path.replace(/^Vehicle\.(Powertrain\.|Chassis\.Axle\.)?/, '');
}

/** What one signal looked like in an analysis: the input of the learned model's features. */
export interface SignalState {
  rule: SignalRule;
  signal: string;
  /** daily levels, remembered days first, oldest first */
  daily: Point[];
  /** the level of the recent readings */
  recentLevel: number;
  baseline: Baseline | null;
}

/** Where a rule's signals are remembered between requests (the agent's per-vehicle history). */
export interface RuleMemory {
  store: HistoryStore;
  vehicle: VehicleHistory;
  /** epoch day of `now` */
  today: number;
}

/** A level this many spreads of the vehicle's own normal away from it (and at least `minDelta`) is a drift. */
const DRIFT_SPREADS = 4;

/**
 * Limit check on recent readings and trend extrapolation over daily medians, for each signal of a rule.
 * With `memory`, the days remembered from earlier requests extend the series, and a level far from the
 * vehicle's own learned normal is reported as a drift.
 */
export function evaluateRule(rule: SignalRule, samples: readonly TelemetrySample[], now: number, opts: PredictOptions, memory?: RuleMemory): Findings {
  const out: Findings = { anomalies: [], failures: [], signals: [] };
  for (const signal of rule.signals) {
    const readings = comparableReadings(rule, signal, samples);
    if (readings.length === 0) continue;
    const name = shortName(signal);
    const latest = readings[readings.length - 1]!.t;
    let recent = readings.filter((r) => r.t >= latest - RECENT_WINDOW_MS).slice(-RECENT_MAX);
    if (recent.length < MIN_RECENT) recent = readings.filter((r) => r.t >= latest - RECENT_WINDOW_WIDE_MS).slice(-MIN_RECENT);
    const level = rule.level ?? 0.5;
    const recentLevel = quantile(recent.map((r) => r.v), level);
    const beyond = recent.filter((r) => beyondLimit(rule, r.v)).length;

    const requestDaily = dailyMedians(readings, level);
    const slot = memory?.store.slot(rule, signal);
    let daily = requestDaily;
    let baseline: Baseline | null = null;
    if (memory && slot) {
      const firstDay = Math.floor(requestDaily[0]!.t / DAY);
      daily = [...memory.vehicle.older(slot, firstDay), ...requestDaily];
      memory.vehicle.record(slot, requestDaily, memory.today);
      baseline = memory.vehicle.baseline(slot);
    }
    out.signals.push({ rule, signal, daily, recentLevel, baseline });
    const normal = baseline && !rule.cumulative ? baselineNote(rule, signal, baseline, recentLevel) : null;

    if (beyondLimit(rule, recentLevel)) {
      const message = `${name} ${level === 0.5 ? 'median' : `p${Math.round(level * 100)}`} ${round(recentLevel, 1)} ${rule.unit} over ${recent.length} recent readings (${rule.conditionLabel}) is ${rule.direction} the limit ${rule.limit} ${rule.unit}`;
      out.anomalies.push({ signal, kind: 'threshold', value: round(recentLevel, 2), message });
      if (recent.length >= MIN_RECENT) {
        const { days, why } = daysPastLimit(rule, daily, readings, recentLevel, now);
        out.failures.push({
          component: rule.component,
          mode: rule.mode,
          probability: round(0.7 + 0.25 * (beyond / recent.length)),
          days_to_failure: round(days),
          days_to_failure_low: 0,
          days_to_failure_high: round(Math.max(days, rule.exceededDays) * 2),
          evidence: normal ? [message + why, normal.message] : [message + why],
        });
      }
      continue;
    }

    if (daily.length >= MIN_TREND_DAYS) {
      // The whole history, and the last week alone: a fault that accelerates shows in the recent slope first.
      const fits = [fitLine(daily), daily.length >= 2 * RECENT_TREND_DAYS ? fitLine(daily.slice(-RECENT_TREND_DAYS)) : null];
      const found = fits
        .map((fit) => (fit ? trendFinding(rule, signal, fit, daily, now, opts) : null))
        .filter((f): f is TrendFinding => f !== null)
        .sort((a, b) => a.failure.days_to_failure - b.failure.days_to_failure)[0];
      if (found) {
        out.anomalies.push(found.anomaly);
        if (normal) found.failure.evidence = [...(found.failure.evidence ?? []), normal.message];
        out.failures.push(found.failure);
        continue;
      }
    }
    if (normal && normal.drift >= Math.max(DRIFT_SPREADS * normal.baseline.spread, rule.minDelta)) {
      out.anomalies.push({ signal, kind: 'drift', value: round(normal.drift, 2), message: normal.message });
    }
  }
  return out;
}

/** How far the recent level is from the vehicle's own normal, in words a technician can check. */
function baselineNote(rule: SignalRule, signal: string, baseline: Baseline, level: number): { drift: number; baseline: Baseline; message: string } {
  const drift = driftFromBaseline(rule, baseline, level);
  const away = rule.direction === 'above' ? (drift >= 0 ? 'above' : 'below') : drift >= 0 ? 'below' : 'above';
  const at = rule.adjust ? ` at ${rule.adjust.reference} ${rule.adjust.label}` : '';
  return {
    drift,
    baseline,
    message: `${shortName(signal)}${at} ${round(Math.abs(drift), 2)} ${rule.unit} ${away} this vehicle's own normal of ${round(baseline.level, 2)} ± ${round(baseline.spread, 2)} ${rule.unit} (learned over ${baseline.days} days)`,
  };
}

/** A trend due sooner than this is re-projected with its acceleration. */
const ACCELERATION_HORIZON_DAYS = 30;

/** Days of daily values whose course rates how fast a signal already past its limit is still moving. */
const PAST_LIMIT_TREND_DAYS = 6;

/** Hours of raw readings whose course is projected beside the daily levels' for a signal past its limit. */
const PAST_LIMIT_RAW_HOURS = 72;

/**
 * Days to failure of a signal already past its service limit: `exceededDays`, or sooner when its course
 * (with its acceleration) reaches the rule's failure point first (0 once it is there). The course is read
 * twice, from the last days' levels and from the last three days' raw readings, and the earlier crossing
 * counts: past the service limit, calling the failure a few hours early costs a booking moved forward,
 * calling it late costs the part.
 */
function daysPastLimit(rule: SignalRule, daily: readonly Point[], readings: readonly Point[], current: number, now: number): { days: number; why: string } {
  const fallback = { days: rule.exceededDays, why: `, failure expected within ${rule.exceededDays} days of passing the limit` };
  if (rule.failurePoint === undefined) return fallback;
  const point = `failure point ${rule.failurePoint} ${rule.unit}`;
  if (beyondLimit({ direction: rule.direction, limit: rule.failurePoint }, current)) return { days: 0, why: `, past its ${point}` };
  const latest = readings[readings.length - 1]!.t;
  const raw = readings.filter((r) => r.t > latest - PAST_LIMIT_RAW_HOURS * HOUR);
  const courses = [
    { days: daysUntilAccelerating(daily.slice(-PAST_LIMIT_TREND_DAYS), rule.failurePoint, now), over: `the last ${Math.min(daily.length, PAST_LIMIT_TREND_DAYS)} days' levels` },
    { days: daysUntilAccelerating(raw, rule.failurePoint, now), over: `its readings of the last ${PAST_LIMIT_RAW_HOURS} hours` },
  ].filter((c): c is { days: number; over: string } => c.days !== null && c.days < rule.exceededDays);
  if (courses.length === 0) return fallback;
  const soonest = courses.reduce((a, b) => (b.days < a.days ? b : a));
  const days = Math.max(0, soonest.days);
  return { days, why: days === 0 ? `, through its ${point} by ${soonest.over}` : `, ${point} in ${round(days, 1)} days by ${soonest.over}` };
}

interface TrendFinding {
  anomaly: Anomaly;
  failure: PredictedFailure;
}

/** A degrading, significant trend that reaches the limit within the horizon, or null. */
function trendFinding(
  rule: SignalRule,
  signal: string,
  fit: LinearFit,
  daily: readonly Point[],
  now: number,
  opts: PredictOptions,
): TrendFinding | null {
  const degrading = rule.direction === 'above' ? fit.slope > 0 : fit.slope < 0;
  const change = Math.abs(fit.slope * fit.spanDays);
  const significant = isSignificant(fit);
  if (!degrading || !significant || change < rule.minDelta) return null;
  // The fitted line may already be past the limit while the recent readings are not yet: due now.
  const toLimit = beyondLimit(rule, valueAt(fit, now)) ? 0 : daysUntil(fit, fit.slope, rule.limit, now);
  // Extrapolating far beyond the observed span is guessing: healthy signals drift for weeks (seasons, use).
  if (toLimit === null || toLimit > opts.horizonDays || toLimit > MAX_EXTRAPOLATION * Math.max(1, fit.spanDays)) return null;
  // The service limit is where to act; the part fails later, at its failure point, when it has one.
  const target = rule.failurePoint ?? rule.limit;
  const linear = beyondLimit({ direction: rule.direction, limit: target }, valueAt(fit, now)) ? 0 : (daysUntil(fit, fit.slope, target, now) ?? toLimit);
  // Close to the end, the last days' acceleration tells the remaining time better than the straight line.
  const recentDays = daily.slice(-PAST_LIMIT_TREND_DAYS);
  const accelerating = linear < ACCELERATION_HORIZON_DAYS ? daysUntilAccelerating(recentDays, target, now) : null;
  const dueDays = Math.max(0, accelerating === null ? linear : Math.min(linear, accelerating));
  // The limit crossing shown beside it comes from the same course, so it is never after the failure.
  const limitAccelerating = accelerating === null ? null : daysUntilAccelerating(recentDays, rule.limit, now);
  const limitDays = Math.min(dueDays, Math.max(0, limitAccelerating === null ? toLimit : Math.min(toLimit, limitAccelerating)));
  // A 95 % band on the slope gives the earliest and latest crossing; a slope that may be flat has no upper bound.
  const fast = daysUntil(fit, fit.slope + Math.sign(fit.slope) * 1.96 * fit.slopeStdErr, target, now) ?? 0;
  const slow = daysUntil(fit, fit.slope - Math.sign(fit.slope) * 1.96 * fit.slopeStdErr, target, now);
  const high = slow === null ? Math.max(dueDays, opts.horizonDays) : Math.max(dueDays, Math.min(slow, 2 * opts.horizonDays));
  const closeness = 1 - Math.min(1, dueDays / opts.horizonDays);
  const perDay = round(fit.slope, 3);
  const name = shortName(signal);
  const at = rule.adjust ? ` at ${rule.adjust.reference} ${rule.adjust.label}` : '';
  const message = `${name}${at} trending ${perDay > 0 ? '+' : ''}${perDay} ${rule.unit}/day over ${fit.n} days (r²=${round(fit.r2)})${accelerating !== null && accelerating < linear ? ', accelerating' : ''}, now ${round(valueAt(fit, now), 1)} ${rule.unit}, limit ${rule.limit} ${rule.unit} in ${round(limitDays, 1)} days${rule.failurePoint === undefined ? '' : `, failure point ${rule.failurePoint} ${rule.unit} in ${round(dueDays, 1)} days`}`;
  return {
    anomaly: { signal, kind: 'trend', value: perDay, message },
    failure: {
      component: rule.component,
      mode: rule.mode,
      probability: round(clamp01(fit.r2 * (0.6 + 0.4 * closeness))),
      days_to_failure: round(dueDays),
      days_to_failure_low: round(Math.min(dueDays, Math.max(0, fast))),
      days_to_failure_high: round(high),
      evidence: [message],
    },
  };
}

/** Active trouble codes (seen recently) become anomalies, and failures when they concern a component. */
export function evaluateDtcs(samples: readonly TelemetrySample[], catalog: DtcCatalog): Findings {
  const out: Findings = { anomalies: [], failures: [], signals: [] };
  if (samples.length === 0) return out;
  const newest = Math.max(...samples.map((s) => s.ts));
  const seen = new Map<string, number>();
  for (const s of samples) {
    if (s.ts < newest - DTC_ACTIVE_MS) continue;
    for (const code of s.dtcs) seen.set(code, (seen.get(code) ?? 0) + 1);
  }
  for (const [code, count] of seen) {
    const info = catalog.lookup(code);
    const description = info?.description ?? 'code not in the catalog';
    const message = `DTC ${code}: ${description} (in ${count} sample${count === 1 ? '' : 's'})`;
    out.anomalies.push({ signal: 'dtc', kind: 'dtc', value: code, message });
    const impact = info?.component ? DTC_IMPACT[info.severity] : null;
    if (!info?.component || !impact) continue;
    out.failures.push({
      component: info.component,
      mode: `dtc_${code}`,
      probability: impact.probability,
      days_to_failure: impact.days,
      days_to_failure_low: 0,
      days_to_failure_high: impact.days * 3,
      evidence: [message],
    });
  }
  return out;
}

/**
 * One prediction per component: the earliest candidate, with the evidence of all. Independent sources
 * agreeing (a trend and a trouble code, say) raise the probability.
 */
export function mergeByComponent(failures: readonly PredictedFailure[]): PredictedFailure[] {
  const byComponent = new Map<Component, PredictedFailure[]>();
  for (const f of failures) {
    const list = byComponent.get(f.component);
    if (list) list.push(f);
    else byComponent.set(f.component, [f]);
  }
  const merged: PredictedFailure[] = [];
  for (const list of byComponent.values()) {
    const sorted = [...list].sort((a, b) => a.days_to_failure - b.days_to_failure || b.probability - a.probability);
    const first = sorted[0]!;
    const maxP = Math.max(...list.map((f) => f.probability));
    const evidence = [...new Set(list.flatMap((f) => f.evidence ?? []))];
    merged.push({
      ...first,
      probability: round(Math.min(0.99, maxP + 0.05 * (list.length - 1))),
      days_to_failure_low: Math.min(...list.map((f) => f.days_to_failure_low ?? f.days_to_failure)),
      evidence,
    });
  }
  return merged.sort((a, b) => a.days_to_failure - b.days_to_failure);
}
