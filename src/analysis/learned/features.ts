/**
 * Features of one component at one analysis, for the learned days-to-failure model: how far its most
 * advanced signal still is from the limit and the failure point, how fast it moves there and whether it
 * accelerates, how far it has left the vehicle's own normal, and its active trouble codes. Distances and
 * slopes are in units of the rule's `minDelta`, so one model serves every rule.
 */
import { DAY } from '../../core/clock.js';
import type { Component } from '../../core/telemetry.js';
import type { SignalState } from '../predict.js';
import { SIGNAL_RULES, type SignalRule } from '../rules/thresholds.js';
import { daysUntilAccelerating, fitLine } from '../trend.js';

export const FEATURE_NAMES = [
  'rule',
  'margin_to_failure',
  'margin_to_limit',
  'slope_week',
  'slope_all',
  'curvature',
  'r2_week',
  'linear_days',
  'accelerating_days',
  'days_of_data',
  'drift_from_normal',
  'active_dtcs',
] as const;

/** Days beyond which a projection says "not soon" (and features are capped). */
export const FAR_DAYS = 365;

const WEEK = 7;
const CURVE_DAYS = 6;

/** +1 when the signal fails upwards, −1 downwards: every feature then reads "positive = towards failure". */
const sense = (rule: SignalRule): number => (rule.direction === 'above' ? 1 : -1);

function signalFeatures(state: SignalState, now: number, activeDtcs: number, ruleIndex: number): number[] | null {
  const { rule, daily } = state;
  if (daily.length < 3 || !Number.isFinite(state.recentLevel)) return null;
  const k = sense(rule);
  const scale = rule.minDelta;
  const target = rule.failurePoint ?? rule.limit;
  const marginFailure = (k * (target - state.recentLevel)) / scale;
  const marginLimit = (k * (rule.limit - state.recentLevel)) / scale;
  const week = fitLine(daily.slice(-WEEK));
  const all = fitLine(daily);
  const slopeWeek = week ? (k * week.slope) / scale : 0;
  const slopeAll = all ? (k * all.slope) / scale : 0;
  const linear = slopeWeek > 0 ? Math.min(FAR_DAYS, Math.max(0, marginFailure / slopeWeek)) : FAR_DAYS;
  const accel = daysUntilAccelerating(daily.slice(-CURVE_DAYS), target, now);
  const accelerating = accel === null ? FAR_DAYS : Math.min(FAR_DAYS, Math.max(0, accel));
  const recentSlope = fitLine(daily.slice(-3));
  const olderSlope = fitLine(daily.slice(-CURVE_DAYS, -2));
  const curvature = recentSlope && olderSlope ? (k * (recentSlope.slope - olderSlope.slope)) / scale : 0;
  const drift = state.baseline ? (k * (state.recentLevel - state.baseline.level)) / Math.max(state.baseline.spread, rule.resolution) : 0;
  const days = (daily[daily.length - 1]!.t - daily[0]!.t) / DAY + 1;
  return [ruleIndex, marginFailure, marginLimit, slopeWeek, slopeAll, curvature, week?.r2 ?? 0, linear, accelerating, days, drift, activeDtcs];
}

/**
 * The features of a component's most advanced signal (the one projected to fail first), or null when
 * none of its signals has enough days of data.
 */
export function componentFeatures(
  component: Component,
  states: readonly SignalState[],
  now: number,
  activeDtcs: number,
  rules: readonly SignalRule[] = SIGNAL_RULES,
): number[] | null {
  let best: number[] | null = null;
  for (const state of states) {
    if (state.rule.component !== component) continue;
    const f = signalFeatures(state, now, activeDtcs, rules.indexOf(state.rule));
    if (!f) continue;
    // Soonest projected failure first, then the smallest margin.
    if (!best || f[8]! < best[8]! || (f[8] === best[8] && f[1]! < best[1]!)) best = f;
  }
  return best;
}
