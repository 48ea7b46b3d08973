/**
 * The learned days-to-failure model of the fleet: boosted trees (the same trainer as the C-MAPSS RUL
 * model) from component features to log(1 + days to failure), capped at `cap_days` (early in a fault
 * nothing shows yet, and "later than two months" is all a workshop needs to know). Trained from the
 * fleet's own run-to-failure and service histories (`dataset.ts`), stored as plain JSON.
 */
import { RulErrorCodes, RulInputError } from '../rul/errors.js';
import { DEFAULT_GBT_PARAMS, predictGbt, trainGbt, type GbtModel, type GbtParams, type TrainProgress } from '../rul/gbt.js';
import { isTree } from '../rul/model.js';
import { FEATURE_NAMES } from './features.js';

export const FLEET_MODEL_FORMAT = 'pitwall-fleet-model';
export const FLEET_MODEL_VERSION = 1;
export const DEFAULT_CAP_DAYS = 60;

export interface TrainingRow {
  features: number[];
  /** days from the features' time to the failure (capped), or the cap for a part found healthy */
  days: number;
}

export interface FleetModel {
  format: typeof FLEET_MODEL_FORMAT;
  version: typeof FLEET_MODEL_VERSION;
  trained_at: string;
  seed: number;
  cap_days: number;
  feature_names: string[];
  /** what it learned from */
  training: { rows: number; histories: number; confirmed: number; not_found: number };
  gbt: GbtModel;
}

/** Small data, few features: shallower trees and larger leaves than the C-MAPSS model. */
export const FLEET_GBT_PARAMS: GbtParams = { ...DEFAULT_GBT_PARAMS, rounds: 250, maxDepth: 4, minLeaf: 20, learningRate: 0.06 };

export interface FleetTrainOptions {
  seed?: number;
  capDays?: number;
  params?: GbtParams;
  trainedAt?: Date;
  /** counts reported in the model file */
  histories?: number;
  confirmed?: number;
  notFound?: number;
  onProgress?: (p: TrainProgress) => void;
}

export function trainFleetModel(rows: readonly TrainingRow[], opts: FleetTrainOptions = {}): FleetModel {
  if (rows.length === 0) throw new RulInputError(RulErrorCodes.noTrainingData, 'no training rows: the fleet has no labelled history to learn from yet');
  const cols = FEATURE_NAMES.length;
  const cap = opts.capDays ?? DEFAULT_CAP_DAYS;
  const data = new Float64Array(rows.length * cols);
  const y = new Float64Array(rows.length);
  rows.forEach((r, i) => {
    if (r.features.length !== cols) throw new RulInputError(RulErrorCodes.badInput, `row ${i} has ${r.features.length} features, expected ${cols}`);
    data.set(r.features, i * cols);
    y[i] = Math.log1p(Math.min(cap, Math.max(0, r.days)));
  });
  const seed = opts.seed ?? 7;
  const gbt = trainGbt({ rows: rows.length, cols, data }, y, opts.params ?? FLEET_GBT_PARAMS, seed, opts.onProgress);
  return {
    format: FLEET_MODEL_FORMAT,
    version: FLEET_MODEL_VERSION,
    trained_at: (opts.trainedAt ?? new Date()).toISOString(),
    seed,
    cap_days: cap,
    feature_names: [...FEATURE_NAMES],
    training: { rows: rows.length, histories: opts.histories ?? 0, confirmed: opts.confirmed ?? 0, not_found: opts.notFound ?? 0 },
    gbt,
  };
}

/** Predicted days to failure, in [0, cap_days]. */
export function predictFleetDays(model: FleetModel, features: readonly number[]): number {
  const out = predictGbt(model.gbt, { rows: 1, cols: features.length, data: Float64Array.from(features) })[0]!;
  return Math.min(model.cap_days, Math.max(0, Math.expm1(out)));
}

export function serializeFleetModel(model: FleetModel): string {
  return `${JSON.stringify(model)}\n`;
}

/** Parses and checks a model file: a wrong or stale file fails here with one clear line, not in the agent. */
export function parseFleetModel(text: string, source: string): FleetModel {
  const bad = (why: string): RulInputError => new RulInputError(RulErrorCodes.badModel, `${source}: not a Pitwall fleet model (${why})`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw bad('not JSON');
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw bad('not a JSON object');
  const m = raw as Record<string, unknown>;
  if (m['format'] !== FLEET_MODEL_FORMAT) throw bad(`format is ${JSON.stringify(m['format'])}, expected "${FLEET_MODEL_FORMAT}"`);
  if (m['version'] !== FLEET_MODEL_VERSION) {
    throw new RulInputError(RulErrorCodes.badModel, `${source}: fleet model version ${JSON.stringify(m['version'])} is not supported (this Pitwall reads ${FLEET_MODEL_VERSION}); retrain it with \`pitwall model retrain\``);
  }
  const names = m['feature_names'];
  if (!Array.isArray(names) || names.length !== FEATURE_NAMES.length || names.some((n, i) => n !== FEATURE_NAMES[i])) {
    throw bad('its features are not the ones this Pitwall computes; retrain it with `pitwall model retrain`');
  }
  const cap = m['cap_days'];
  if (typeof cap !== 'number' || !(cap > 0)) throw bad('cap_days');
  if (typeof m['trained_at'] !== 'string' || typeof m['seed'] !== 'number') throw bad('trained_at or seed');
  const t = m['training'] as Record<string, unknown> | undefined;
  if (!t || ['rows', 'histories', 'confirmed', 'not_found'].some((k) => typeof t[k] !== 'number')) throw bad('training');
  const gbt = m['gbt'] as Record<string, unknown> | undefined;
  if (!gbt || typeof gbt['base'] !== 'number' || !Array.isArray(gbt['trees'])) throw bad('gbt');
  (gbt['trees'] as unknown[]).forEach((tree, i) => {
    if (!isTree(tree, FEATURE_NAMES.length)) throw bad(`gbt.trees[${i}]`);
  });
  return raw as FleetModel;
}
