/** The pure analysis of one vehicle's samples: no I/O, no clock; `now` comes in. */
import { DAY } from '../core/clock.js';
import type { AnalysisResult, Anomaly, PredictedFailure } from '../core/payloads.js';
import type { Component, TelemetrySample } from '../core/telemetry.js';
import { builtInDtcCatalog, type DtcCatalog } from './dtc.js';
import type { HistoryStore } from './history.js';
import { componentFeatures } from './learned/features.js';
import { predictFleetDays, type FleetModel } from './learned/model.js';
import { DEFAULT_PREDICT_OPTIONS, evaluateDtcs, evaluateRule, mergeByComponent, type RuleMemory, type SignalState } from './predict.js';
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

/** Days to failure below which a workflow is critical (src/core/urgency.ts). */
const CRITICAL_DAYS = 1;

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
  /** the fleet's learned days-to-failure model, when one was trained (`pitwall model retrain`) */
  learned?: FleetModel;
}

const defaultCatalog = builtInDtcCatalog();

/** The agent's memory of a vehicle, for an analysis that extends and updates it. */
export interface VehicleMemory {
  store: HistoryStore;
  vin: string;
  /** epoch ms of the vehicle's last service: what is remembered from before it is forgotten */
  since?: number;
}

function recall(memory: VehicleMemory, now: number): RuleMemory {
  const vehicle = memory.store.vehicle(memory.vin);
  if (memory.since !== undefined) vehicle.forgetBefore(Math.floor(memory.since / DAY));
  return { store: memory.store, vehicle, today: Math.floor(now / DAY) };
}

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

/** An analysis with what the learned model and its training need besides the wire result. */
export interface DetailedAnalysis {
  result: AnalysisResultWithQuality;
  /** every rule signal looked at */
  signals: SignalState[];
  /** active trouble codes concerning each component */
  activeDtcs: Map<Component, number>;
}

/**
 * Analyses validated samples of one vehicle (any order). Stuck and spiking readings are excluded first;
 * `intake` (default: every sample received was valid) completes the data-quality report. With `memory`,
 * the vehicle's remembered days extend the trends and its learned normal is compared (and both are
 * updated); with `opts.learned`, the fleet model's days to failure are blended into every prediction.
 */
export function analyzeVehicle(
  samples: readonly TelemetrySample[],
  now: number,
  opts: AnalyzeOptions = {},
  intake: Intake = { received: samples.length, rejected: {} },
  memory?: VehicleMemory,
): AnalysisResultWithQuality {
  return analyzeInDetail(samples, now, opts, intake, memory).result;
}

export function analyzeInDetail(
  samples: readonly TelemetrySample[],
  now: number,
  opts: AnalyzeOptions = {},
  intake: Intake = { received: samples.length, rejected: {} },
  memory?: VehicleMemory,
): DetailedAnalysis {
  const screened = screenSamples(samples, opts.screen);
  const sorted = screened.samples.filter(isUsable);
  const ruleMemory = memory ? recall(memory, now) : undefined;
  const predictOpts = { ...DEFAULT_PREDICT_OPTIONS, ...(opts.horizonDays !== undefined ? { horizonDays: opts.horizonDays } : {}) };
  const anomalies: Anomaly[] = [];
  const candidates: PredictedFailure[] = [];
  const signals: SignalState[] = [];
  const rules = opts.rules ?? SIGNAL_RULES;
  for (const rule of rules) {
    const f = evaluateRule(rule, sorted, now, predictOpts, ruleMemory);
    anomalies.push(...f.anomalies);
    candidates.push(...f.failures);
    signals.push(...f.signals);
  }
  const d = evaluateDtcs(sorted, opts.dtcCatalog ?? defaultCatalog);
  anomalies.push(...d.anomalies);
  candidates.push(...d.failures);
  const activeDtcs = new Map<Component, number>();
  for (const f of d.failures) activeDtcs.set(f.component, (activeDtcs.get(f.component) ?? 0) + 1);

  const merged = mergeByComponent(candidates);
  const failures = opts.learned ? merged.map((f) => withLearnedDays(f, opts.learned!, signals, activeDtcs, now, rules)).sort((a, b) => a.days_to_failure - b.days_to_failure) : merged;
  const actionable = failures.filter((f) => f.probability >= ACTIONABLE_PROBABILITY);
  const result: AnalysisResultWithQuality = {
    vin: sorted[0]?.vin ?? '',
    anomalies,
    predicted_failures: failures,
    predicted_days_to_failure: actionable.length === 0 ? null : Math.min(...actionable.map((f) => f.days_to_failure)),
    failure_probability: failures.length === 0 ? 0 : Math.max(...failures.map((f) => f.probability)),
    confidence: confidenceOf(sorted),
    samples_analyzed: sorted.length,
    model_version: opts.learned ? `${MODEL_VERSION}+fleet-${opts.learned.trained_at}` : MODEL_VERSION,
    data_quality: {
      samples_received: intake.received,
      samples_used: sorted.length,
      excluded: excludedCounts(intake.rejected, screened.excluded),
      signals_stuck: screened.signalsStuck,
      gaps: screened.gaps,
      coverage_days: coverageDays(sorted),
    },
  };
  return { result, signals, activeDtcs };
}

/**
 * The rules' days to failure and the learned model's, blended on a log scale (an error of a day matters
 * at two days, not at sixty); the band widens to cover both. The rules keep deciding *whether* a
 * component fails, so the model cannot raise an alarm on its own.
 */
function withLearnedDays(
  f: PredictedFailure,
  model: FleetModel,
  signals: readonly SignalState[],
  activeDtcs: ReadonlyMap<Component, number>,
  now: number,
  rules: readonly SignalRule[],
): PredictedFailure {
  const features = componentFeatures(f.component, signals, now, activeDtcs.get(f.component) ?? 0, rules);
  if (!features) return f;
  const learned = predictFleetDays(model, features);
  // A critical call of the rules (less than a day) stands unless the model says sooner still: calling a
  // failure due tomorrow that comes tonight is the one error a blend must never introduce.
  const blended = Math.expm1((Math.log1p(f.days_to_failure) + Math.log1p(learned)) / 2);
  const days = f.days_to_failure < CRITICAL_DAYS ? Math.min(f.days_to_failure, blended) : blended;
  const r = (x: number): number => Math.round(x * 100) / 100;
  return {
    ...f,
    days_to_failure: r(days),
    days_to_failure_low: r(Math.min(f.days_to_failure_low ?? days, learned, days)),
    days_to_failure_high: r(Math.max(f.days_to_failure_high ?? days, learned, days)),
    evidence: [
      ...(f.evidence ?? []),
      `learned fleet model (trained ${model.trained_at.slice(0, 10)} on ${model.training.histories} vehicle histories): ${r(learned)} days; rules: ${f.days_to_failure} days`,
    ],
  };
}
