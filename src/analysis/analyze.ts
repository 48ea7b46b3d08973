/** The pure analysis of one vehicle's samples: no I/O, no clock; `now` comes in. */
import { DAY } from '../core/clock.js';
import type { AnalysisResult, Anomaly, PredictedFailure } from '../core/payloads.js';
import type { TelemetrySample } from '../core/telemetry.js';
import { builtInDtcCatalog, type DtcCatalog } from './dtc.js';
import { DEFAULT_PREDICT_OPTIONS, evaluateDtcs, evaluateRule, mergeByComponent } from './predict.js';
import { SIGNAL_RULES, type SignalRule } from './rules/thresholds.js';

export const MODEL_VERSION = 'rules-trend-1.0';

/** Failures at least this likely count towards `predicted_days_to_failure`. */
export const ACTIONABLE_PROBABILITY = 0.5;

export interface AnalyzeOptions {
  /** @default the built-in table of the codes the rules use */
  dtcCatalog?: DtcCatalog;
  /** @default 180 */
  horizonDays?: number;
  /** @default SIGNAL_RULES */
  rules?: readonly SignalRule[];
}

const defaultCatalog = builtInDtcCatalog();

function confidenceOf(samples: readonly TelemetrySample[]): number {
  if (samples.length === 0) return 0;
  let first = Infinity;
  let last = -Infinity;
  for (const s of samples) {
    first = Math.min(first, s.ts);
    last = Math.max(last, s.ts);
  }
  const spanDays = (last - first) / DAY;
  // More history and more readings make both the limit checks and the trends more trustworthy.
  const c = 0.2 + 0.4 * Math.min(1, spanDays / 14) + 0.4 * Math.min(1, samples.length / 100);
  return Math.round(c * 100) / 100;
}

/** Analyses validated samples of one vehicle (any order). */
export function analyzeVehicle(samples: readonly TelemetrySample[], now: number, opts: AnalyzeOptions = {}): AnalysisResult {
  const sorted = [...samples].sort((a, b) => a.ts - b.ts);
  const predictOpts = { ...DEFAULT_PREDICT_OPTIONS, ...(opts.horizonDays !== undefined ? { horizonDays: opts.horizonDays } : {}) };
  const anomalies: Anomaly[] = [];
  const candidates: PredictedFailure[] = [];
  for (const rule of opts.rules ?? SIGNAL_RULES) {
    const f = evaluateRule(rule, sorted, now, predictOpts);
    anomalies.push(...f.anomalies);
    candidates.push(...f.failures);
  }
  const d = evaluateDtcs(sorted, opts.dtcCatalog ?? defaultCatalog);
  anomalies.push(...d.anomalies);
  candidates.push(...d.failures);

  const failures = mergeByComponent(candidates);
  const actionable = failures.filter((f) => f.probability >= ACTIONABLE_PROBABILITY);
  return {
    vin: sorted[0]?.vin ?? '',
    anomalies,
    predicted_failures: failures,
    predicted_days_to_failure: actionable.length === 0 ? null : Math.min(...actionable.map((f) => f.days_to_failure)),
    failure_probability: failures.length === 0 ? 0 : Math.max(...failures.map((f) => f.probability)),
    confidence: confidenceOf(sorted),
    samples_analyzed: sorted.length,
    model_version: MODEL_VERSION,
  };
}
