/**
 * `pitwall model retrain`: the fleet's learned days-to-failure model, trained on what the workshops
 * found. Every stored service finding (a label) is an event of its vehicle: `confirmed` ended the part's
 * life at the service, `not_found` says the part was healthy then. Each labelled vehicle's telemetry is
 * read back from the telematics API and replayed through the agent's own analysis (`examplesFromHistory`),
 * so the model learns from exactly the features it will see in service.
 *
 * Also here: loading the model the running agent uses (`--analysis-model`, or the data directory's
 * `fleet-model.json` when there is one).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DAY } from '../core/clock.js';
import type { ServiceLabel } from '../core/payloads.js';
import { validateSample, type TelemetrySample } from '../core/telemetry.js';
import { examplesFromHistory, type LabelledEvent } from '../analysis/learned/dataset.js';
import { parseFleetModel, serializeFleetModel, trainFleetModel, type FleetModel, type TrainingRow } from '../analysis/learned/model.js';
import { TelematicsError, type TelematicsClient } from '../orchestrator/telematics-client.js';
import type { Store } from '../store/port.js';
import { ConfigError, type Config } from './config.js';

/** The model file a data directory holds when nothing else is named. */
export const FLEET_MODEL_FILE = 'fleet-model.json';

export const RetrainErrorCodes = {
  noLabels: 'PW_RETRAIN_NO_LABELS',
  telematics: 'PW_RETRAIN_TELEMATICS',
  noRows: 'PW_RETRAIN_NO_ROWS',
} as const;
export type RetrainErrorCode = (typeof RetrainErrorCodes)[keyof typeof RetrainErrorCodes];

export class RetrainError extends Error {
  override readonly name = 'RetrainError';
  constructor(
    readonly code: RetrainErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export function isRetrainError(err: unknown): err is RetrainError {
  return err instanceof RetrainError;
}

export type RetrainProgress =
  | { phase: 'fetch'; vehicles: number; of: number; rows: number }
  | { phase: 'train'; round: number; rounds: number };

export interface RetrainOptions {
  /** @default 7 */
  seed?: number;
  /** days before each finding whose checkpoints become training rows. @default 45 */
  lookbackDays?: number;
  /** days of samples per analysis, as the orchestrator sends them. @default 14 */
  windowDays?: number;
  /** samples asked for per history request (the mock serves at most 5000). @default 5000 */
  pageSize?: number;
  /** histories fetched at once. @default 4 */
  concurrency?: number;
  /** the receiver's clock for the future-timestamp check. @default Date.now() */
  now?: number;
  trainedAt?: Date;
  onProgress?: (p: RetrainProgress) => void;
}

export interface RetrainResult {
  model: FleetModel;
  labels: { confirmed: number; not_found: number };
  /** labelled vehicles, and those of them the telematics API had no usable history of */
  vehicles: number;
  vehiclesWithoutHistory: number;
  rows: number;
  samples: number;
  invalidSamples: number;
}

/** Every label of the store, oldest service first (all pages). */
export async function readAllLabels(store: Store, pageSize = 1000): Promise<ServiceLabel[]> {
  const out: ServiceLabel[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.listLabels({ limit: pageSize, ...(cursor ? { cursor } : {}) });
    out.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return out;
}

/** Labels as the dataset's events, per VIN, VINs sorted so the rows (and the model) do not depend on store order. */
export function eventsByVin(labels: readonly ServiceLabel[]): Map<string, LabelledEvent[]> {
  const byVin = new Map<string, LabelledEvent[]>();
  for (const l of [...labels].sort((a, b) => (a.vin < b.vin ? -1 : a.vin > b.vin ? 1 : 0))) {
    const events = byVin.get(l.vin) ?? [];
    events.push({ component: l.component, at: l.serviced_at, outcome: l.finding });
    byVin.set(l.vin, events);
  }
  for (const events of byVin.values()) events.sort((a, b) => a.at - b.at || (a.component < b.component ? -1 : 1));
  return byVin;
}

interface History {
  samples: TelemetrySample[];
  invalid: number;
  /** false when the API does not know the vehicle */
  known: boolean;
}

/**
 * Samples of one vehicle in (since, until], validated and sorted. The API answers at most `pageSize`
 * samples per request, oldest first, so a full page is followed from its newest timestamp.
 */
export async function fetchValidHistory(
  telematics: TelematicsClient,
  vin: string,
  since: number,
  until: number,
  now: number,
  pageSize: number,
): Promise<History> {
  const samples: TelemetrySample[] = [];
  let invalid = 0;
  let from = since;
  for (;;) {
    let page: unknown[];
    try {
      page = await telematics.fetchHistory(vin, from, pageSize);
    } catch (err) {
      if (err instanceof TelematicsError && err.status === 404) return { samples: [], invalid: 0, known: false };
      throw err;
    }
    let newest = -Infinity;
    for (const item of page) {
      const stamped = Date.parse(String((item as { timestamp?: unknown } | null)?.timestamp));
      // Readings after the last finding teach nothing; they are neither kept nor counted as bad.
      if (Number.isFinite(stamped) && stamped > until) {
        newest = Math.max(newest, stamped);
        continue;
      }
      const r = validateSample(item, now);
      if (r.ok && r.sample.vin === vin) {
        samples.push(r.sample);
        newest = Math.max(newest, r.sample.ts);
      } else {
        invalid++;
      }
    }
    if (page.length < pageSize || !(newest > from) || newest >= until) break;
    from = newest;
  }
  samples.sort((a, b) => a.ts - b.ts);
  // Pages meet at their boundary timestamp; a sample served twice must not count twice.
  const unique = samples.filter((s, i) => i === 0 || s.ts !== samples[i - 1]!.ts);
  return { samples: unique, invalid, known: true };
}

function describeTelematicsFailure(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  return err instanceof TelematicsError && err.status === null
    ? `cannot reach the telematics API (${msg}); is it running? pass its URL with --telematics`
    : `the telematics API failed: ${msg}`;
}

/** Reads the labels, fetches and replays each labelled vehicle's history, and trains the fleet model. */
export async function retrainFromStore(store: Store, telematics: TelematicsClient, opts: RetrainOptions = {}): Promise<RetrainResult> {
  const labels = await readAllLabels(store);
  if (labels.length === 0) {
    throw new RetrainError(
      RetrainErrorCodes.noLabels,
      'no service findings stored yet: run Pitwall until services complete (each one stores what the technician found), then retrain',
    );
  }
  const counts = { confirmed: 0, not_found: 0 };
  for (const l of labels) counts[l.finding]++;
  const byVin = [...eventsByVin(labels)];
  const lookbackDays = opts.lookbackDays ?? 45;
  const windowDays = opts.windowDays ?? 14;
  const pageSize = opts.pageSize ?? 5000;
  const concurrency = Math.max(1, opts.concurrency ?? 4);

  const perVehicle: TrainingRow[][] = new Array<TrainingRow[]>(byVin.length);
  let done = 0;
  let rowsSoFar = 0;
  let samples = 0;
  let invalid = 0;
  let withoutHistory = 0;
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < byVin.length && !failed) {
      const i = next++;
      const [vin, events] = byVin[i]!;
      const first = Math.min(...events.map((e) => e.at));
      const last = Math.max(...events.map((e) => e.at));
      const now = Math.max(opts.now ?? Date.now(), last);
      // A checkpoint `lookback` days before the first finding analyses the `window` days before it.
      const since = first - (lookbackDays + windowDays) * DAY;
      let history: History;
      try {
        history = await fetchValidHistory(telematics, vin, since, last, now, pageSize);
      } catch (err) {
        // The other workers stop at their next vehicle: one unreachable API fails them all alike.
        failed = true;
        throw new RetrainError(RetrainErrorCodes.telematics, describeTelematicsFailure(err), { cause: err });
      }
      if (history.samples.length === 0) withoutHistory++;
      samples += history.samples.length;
      invalid += history.invalid;
      const rows = examplesFromHistory(vin, history.samples, events, { windowDays, lookbackDays });
      perVehicle[i] = rows;
      rowsSoFar += rows.length;
      done++;
      opts.onProgress?.({ phase: 'fetch', vehicles: done, of: byVin.length, rows: rowsSoFar });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, byVin.length) }, worker));

  const rows = perVehicle.flat();
  if (rows.length === 0) {
    throw new RetrainError(
      RetrainErrorCodes.noRows,
      `the ${byVin.length} labelled vehicles gave no training rows: the telematics API had ${samples} usable samples ` +
        `of them in the ${lookbackDays + windowDays} days before their services`,
    );
  }
  const model = trainFleetModel(rows, {
    seed: opts.seed ?? 7,
    histories: byVin.length - withoutHistory,
    confirmed: counts.confirmed,
    notFound: counts.not_found,
    ...(opts.trainedAt ? { trainedAt: opts.trainedAt } : {}),
    ...(opts.onProgress ? { onProgress: (p: { round: number; rounds: number }) => opts.onProgress?.({ phase: 'train', ...p }) } : {}),
  });
  return {
    model,
    labels: counts,
    vehicles: byVin.length,
    vehiclesWithoutHistory: withoutHistory,
    rows: rows.length,
    samples,
    invalidSamples: invalid,
  };
}

/** Writes beside the target and renames, so a running Pitwall never reads half a model. */
export function writeFileAtomic(file: string, text: string): void {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, text);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

export interface RetrainArgs {
  dataDir: string;
  telematicsUrl: string;
  out?: string;
  seed: number;
  lookbackDays: number;
}

/** The CLI command: progress to `err`, the summary to `out`. */
export async function retrainCommand(
  args: RetrainArgs,
  out: NodeJS.WritableStream = process.stdout,
  err: NodeJS.WritableStream = process.stderr,
): Promise<void> {
  const { STORE_FILE } = await import('./inspect.js');
  const file = path.join(args.dataDir, STORE_FILE);
  if (!existsSync(file)) throw new Error(`no Pitwall store at ${file}; pass the --data-dir Pitwall runs with`);
  const target = args.out ?? path.join(args.dataDir, FLEET_MODEL_FILE);
  const { createSqliteStore } = await import('../store/index.js');
  const { createTelematicsClient } = await import('../orchestrator/telematics-client.js');
  const store = createSqliteStore({ path: file });
  const t0 = Date.now();
  let shown = 0;
  let result: RetrainResult;
  try {
    await store.migrate();
    result = await retrainFromStore(store, createTelematicsClient(args.telematicsUrl, 30_000), {
      seed: args.seed,
      lookbackDays: args.lookbackDays,
      onProgress: (p) => {
        const now = Date.now();
        const final = p.phase === 'fetch' ? p.vehicles === p.of : p.round === p.rounds;
        if (!final && now - shown < 1000) return;
        shown = now;
        err.write(
          p.phase === 'fetch'
            ? `histories: ${p.vehicles}/${p.of} vehicles fetched and replayed, ${p.rows} rows\n`
            : `training: round ${p.round}/${p.rounds}\n`,
        );
      },
    });
  } finally {
    await store.close();
  }
  writeFileAtomic(target, serializeFleetModel(result.model));
  const { labels, model } = result;
  out.write(
    [
      `fleet model written to ${target}`,
      `  labels    ${labels.confirmed + labels.not_found} (${labels.confirmed} confirmed, ${labels.not_found} not found)`,
      `  vehicles  ${result.vehicles}${result.vehiclesWithoutHistory > 0 ? ` (${result.vehiclesWithoutHistory} without telemetry history)` : ''}`,
      `  samples   ${result.samples}${result.invalidSamples > 0 ? ` (${result.invalidSamples} invalid, skipped)` : ''}`,
      `  rows      ${result.rows}`,
      `  trees     ${model.gbt.trees.length} (seed ${model.seed})`,
      `  took      ${((Date.now() - t0) / 1000).toFixed(1)} s`,
      args.out
        ? `Start Pitwall with --analysis-model ${target} to use it.`
        : 'Pitwall loads it at its next start (restart a running one).',
      '',
    ].join('\n'),
  );
}

export interface LoadedAnalysisModel {
  model: FleetModel | null;
  file: string | null;
  /** one line for the start-up log */
  description: string;
}

/**
 * The model the analysis agent uses: the named file, else the data directory's `fleet-model.json` when
 * it exists, else none (the rules alone). A file that is named but missing, or present but unreadable,
 * stops the start: running silently without the model someone trained would be worse.
 */
export function loadAnalysisModel(config: Pick<Config, 'analysisModel' | 'dataDir'>): LoadedAnalysisModel {
  const named = config.analysisModel !== '';
  const file = named ? config.analysisModel : path.join(config.dataDir, FLEET_MODEL_FILE);
  if (!existsSync(file)) {
    if (named) throw new ConfigError(`analysis-model: no fleet model at ${file}; train one with \`pitwall model retrain\``);
    return { model: null, file: null, description: 'analysis: rules only (no fleet model; `pitwall model retrain` trains one)' };
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`analysis-model: cannot read ${file}: ${(err as Error).message}`);
  }
  const model = parseFleetModel(text, file);
  const t = model.training;
  return {
    model,
    file,
    description:
      `analysis: rules + fleet model ${file} (trained ${model.trained_at} on ${t.histories} vehicle histories, ` +
      `${t.confirmed} confirmed, ${t.not_found} not found)`,
  };
}
