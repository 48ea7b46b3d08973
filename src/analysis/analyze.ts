/** The pure analysis of one vehicle's samples: no I/O, no clock; `now` comes in. */
import { DAY } from '../core/clock.js';
import type { AnalysisResult, Anomaly, PredictedFailure } from '../core/payloads.js';
import type { TelemetrySample } from '../core/telemetry.js';
import { builtInDtcCatalog, type DtcCatalog } from './dtc.js';
import { DEFAULT_PREDICT_OPTIONS, evaluateDtcs, evaluateRule, mergeByComponent } from './predict.js';
import { coverageDays, isUsable, screenSamples, type ScreenOptions } from './quality.js';
import { SIGNAL_RULES, type SignalRule } from './rules/thresholds.js';

/** The analysis result; `data_quality` is part of the wire contract (src/core/payloads.ts). */
export type AnalysisResultWithQuality = AnalysisResult;

/** What happened to a request's samples before they reached the analysis (counted by the agent). */
export interface Intake {
  /** samples in the request */
  received: number;
  /** samples rejected before analysis, by reason */
  rejected: Readonly<Record<string, number>>;
}

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
  /** thresholds of the stuck-sensor test */
  screen?: ScreenOptions;
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

function excludedCounts(...parts: ReadonlyArray<Readonly<Record<string, number>>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const part of parts) {
    for (const [reason, n] of Object.entries(part)) if (n > 0) out[reason] = (out[reason] ?? 0) + n;
  }
  return out;
}

/**
 * Analyses validated samples of one vehicle (any order). Stuck and spiking readings are excluded first;
 * `intake` (default: every sample received was valid) completes the data-quality report.
 */
export function analyzeVehicle(
  samples: readonly TelemetrySample[],
  now: number,
  opts: AnalyzeOptions = {},
  intake: Intake = { received: samples.length, rejected: {} },
): AnalysisResultWithQuality {
  const screened = screenSamples(samples, opts.screen);
  const sorted = screened.samples.filter(isUsable);
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
    data_quality: {
      samples_received: intake.received,
      samples_used: sorted.length,
      excluded: excludedCounts(intake.rejected, screened.excluded),
      signals_stuck: screened.signalsStuck,
      gaps: screened.gaps,
      coverage_days: coverageDays(sorted),
    },
  };
}
