/**
 * Training rows from a vehicle's history and what became of its parts: the history is replayed through
 * the same analysis the agent runs (same window, same per-vehicle memory), and at each checkpoint before
 * a labelled event the component's features are paired with the days left until it.
 *
 * - `failed` (a run-to-failure history, e.g. the simulator's ground truth or a breakdown): the target is
 *   the days until the failure.
 * - `confirmed` (the technician found the predicted fault): the service ended the part's life, so the
 *   target is the days until the service. The true failure would have come somewhat later, so a model
 *   trained on services alone errs on the early side, which is the side a workshop prefers.
 * - `not_found` (a false alarm): the part was healthy, so every checkpoint before it says "not soon"
 *   (the model's cap).
 */
import { DAY, HOUR } from '../../core/clock.js';
import type { Component, TelemetrySample } from '../../core/telemetry.js';
import { analyzeInDetail, type AnalyzeOptions } from '../analyze.js';
import { HistoryStore } from '../history.js';
import { componentFeatures } from './features.js';
import { DEFAULT_CAP_DAYS, type TrainingRow } from './model.js';

export type LabelOutcome = 'failed' | 'confirmed' | 'not_found';

export interface LabelledEvent {
  component: Component;
  /** epoch ms of the failure or service */
  at: number;
  outcome: LabelOutcome;
}

export interface ExampleOptions {
  /** @default 24 */
  everyHours?: number;
  /** samples per analysis, as the orchestrator sends them. @default 14 */
  windowDays?: number;
  /** checkpoints this long before an event are used. @default 45 */
  lookbackDays?: number;
  /** @default 60 */
  capDays?: number;
  analyze?: AnalyzeOptions;
}

/** Rows of one vehicle; `samples` sorted oldest first and already validated. */
export function examplesFromHistory(vin: string, samples: readonly TelemetrySample[], events: readonly LabelledEvent[], opts: ExampleOptions = {}): TrainingRow[] {
  if (samples.length === 0 || events.length === 0) return [];
  const every = (opts.everyHours ?? 24) * HOUR;
  const window = (opts.windowDays ?? 14) * DAY;
  const lookback = (opts.lookbackDays ?? 45) * DAY;
  const cap = opts.capDays ?? DEFAULT_CAP_DAYS;
  const first = Math.max(samples[0]!.ts + DAY, Math.min(...events.map((e) => e.at)) - lookback);
  const last = Math.max(...events.map((e) => e.at));
  const memory = { store: new HistoryStore({ maxVehicles: 1 }), vin };
  const rows: TrainingRow[] = [];
  let lo = 0;
  let hi = 0;
  for (let t = first; t < last; t += every) {
    while (hi < samples.length && samples[hi]!.ts <= t) hi++;
    while (lo < hi && samples[lo]!.ts <= t - window) lo++;
    if (hi === lo) continue;
    const pending = events.filter((e) => e.at > t && e.at - t <= lookback);
    if (pending.length === 0) continue;
    const { signals, activeDtcs } = analyzeInDetail(samples.slice(lo, hi), t, opts.analyze, undefined, memory);
    for (const e of pending) {
      const features = componentFeatures(e.component, signals, t, activeDtcs.get(e.component) ?? 0, opts.analyze?.rules);
      if (!features) continue;
      rows.push({ features, days: e.outcome === 'not_found' ? cap : Math.min(cap, (e.at - t) / DAY) });
    }
  }
  return rows;
}
