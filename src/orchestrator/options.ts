/** What the orchestrator is given, its defaults, and the check that refuses a bad value at start. */
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { DAY, SECOND } from '../core/clock.js';
import { DEFAULT_WORKFLOW_CONFIG, type WorkflowConfig } from '../core/workflow.js';
import type { Bus } from '../bus/port.js';
import type { KeyRing } from '../bus/signing.js';
import type { Store } from '../store/port.js';
import type { TelematicsClient } from './telematics-client.js';
import { newInstanceId } from './partition-keeper.js';

/**
 * Virtual seconds between fleet polls, for every command: a minute suits a real fleet at real time, and
 * on the embedded demo's fast clock the orchestrator's real-time floor between polls (1 s) decides anyway.
 */
export const DEFAULT_POLLING_INTERVAL_S = 60;

/** Real ms a telematics request may take before it counts as failed. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 5000;

export interface OrchestratorOptions {
  telematicsApiUrl: string;
  /** Passed on to the scheduling agent by the composition root; kept here for the seed's contract. */
  schedulerApiUrl: string;
  /** Seconds of clock time between fleet polls. @default DEFAULT_POLLING_INTERVAL_S */
  pollingInterval?: number;
  store: Store;
  bus: Bus;
  clock: Clock;
  keys: KeyRing;
  log?: Logger;
  workflow?: Partial<WorkflowConfig>;
  /** Clock time between two analysis cycles of one vehicle. @default 12 h */
  analysisIntervalMs?: number;
  /** History sent to analysis. @default 14 days */
  analysisWindowMs?: number;
  /** @default 100 */
  pageSize?: number;
  /** Timeout of each telematics request, real ms. @default 5000 */
  requestTimeoutMs?: number;
  /** Concurrent per-vehicle telemetry fetches. @default 8 */
  fetchConcurrency?: number;
  /** Real ms between loop ticks. @default 50 */
  tickMs?: number;
  /** Real ms between two fleet polls at least, however fast the clock runs. @default 1000 */
  minPollGapMs?: number;
  /**
   * How long (clock time) a claimed timer or outbox row is reserved for this process before another
   * orchestrator may take it over. @default 10 min
   */
  leaseMs?: number;
  /**
   * Clock time that sent outbox rows and processed inbound message ids are kept before `Store.purge`
   * deletes them; a redelivered message older than this is no longer recognised as a duplicate.
   * @default 7 days
   */
  retentionMs?: number;
  /**
   * Real ms before the first probe of a telematics API found down (after 3 failed calls in a row);
   * doubles at each failed probe, up to 30 s. @default 1000
   */
  outageProbeMs?: number;
  telematicsClient?: TelematicsClient;
  /**
   * This instance's id among the orchestrators sharing the store's VIN partitions: unique per running
   * instance. @default `orchestrator-<hostname>-<pid>-<random>` (newInstanceId)
   */
  instanceId?: string;
}

export interface ResolvedOrchestratorOptions extends Required<
  Omit<OrchestratorOptions, 'telematicsClient' | 'log' | 'workflow'>
> {
  workflow: WorkflowConfig;
}

export function resolveOptions(opts: OrchestratorOptions): ResolvedOrchestratorOptions {
  const r: ResolvedOrchestratorOptions = {
    telematicsApiUrl: opts.telematicsApiUrl,
    schedulerApiUrl: opts.schedulerApiUrl,
    pollingInterval: opts.pollingInterval ?? DEFAULT_POLLING_INTERVAL_S,
    store: opts.store,
    bus: opts.bus,
    clock: opts.clock,
    keys: opts.keys,
    workflow: { ...DEFAULT_WORKFLOW_CONFIG, ...opts.workflow },
    analysisIntervalMs: opts.analysisIntervalMs ?? DAY / 2,
    analysisWindowMs: opts.analysisWindowMs ?? 14 * DAY,
    pageSize: opts.pageSize ?? 100,
    requestTimeoutMs: opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    fetchConcurrency: opts.fetchConcurrency ?? 8,
    tickMs: opts.tickMs ?? 50,
    minPollGapMs: opts.minPollGapMs ?? 1000,
    leaseMs: opts.leaseMs ?? 10 * 60 * SECOND,
    retentionMs: opts.retentionMs ?? 7 * DAY,
    outageProbeMs: opts.outageProbeMs ?? 1000,
    instanceId: opts.instanceId ?? newInstanceId(),
  };
  if (r.instanceId.trim() === '') throw new RangeError('instanceId must be a non-empty string');
  for (const [name, v] of Object.entries({
    pollingInterval: r.pollingInterval,
    analysisIntervalMs: r.analysisIntervalMs,
    analysisWindowMs: r.analysisWindowMs,
    pageSize: r.pageSize,
    requestTimeoutMs: r.requestTimeoutMs,
    fetchConcurrency: r.fetchConcurrency,
    tickMs: r.tickMs,
    leaseMs: r.leaseMs,
    retentionMs: r.retentionMs,
    outageProbeMs: r.outageProbeMs,
  })) {
    if (!(typeof v === 'number' && Number.isFinite(v) && v > 0))
      throw new RangeError(`${name} must be a positive number, got ${v}`);
  }
  for (const [name, url] of [
    ['telematicsApiUrl', r.telematicsApiUrl],
    ['schedulerApiUrl', r.schedulerApiUrl],
  ] as const) {
    if (!URL.canParse(url)) throw new RangeError(`${name} must be an absolute URL, got ${JSON.stringify(url)}`);
  }
  return Object.freeze(r);
}
