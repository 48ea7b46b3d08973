/**
 * The composition root (DESIGN §6): the one place that picks adapters and wires agents, bus, store,
 * orchestrator and API together. Agents are built from factories over ports and meet only on the bus.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import { AGENTS } from '../core/envelope.js';
import { DEFAULT_WORKFLOW_CONFIG } from '../core/workflow.js';
import { ScaledClock, SystemClock } from '../clock/clocks.js';
import type { Agent, AgentContext } from '../bus/agent.js';
import type { Bus } from '../bus/port.js';
import { EnvelopeFactory, keyRingFromSecret, type KeyRing } from '../bus/signing.js';
import type { Store } from '../store/port.js';
import { MainOrchestrationLoop } from '../orchestrator/main-loop.js';
import { createTelematicsClient } from '../orchestrator/telematics-client.js';
import { DEFAULT_REQUEST_TIMEOUT_MS } from '../orchestrator/options.js';
import { createApiServer } from '../api/server.js';
import { cachedCenters } from '../api/centers.js';
import { createDataAnalysisAgent, loadDtcCatalog } from '../analysis/index.js';
import { createEngagementAgent, createHttpGateway, createTelematicsDirectory } from '../engagement/index.js';
import { createSchedulerClient, createSchedulingAgent } from '../scheduling/index.js';
import { createFeedbackAgent } from '../feedback/index.js';
import { ConfigError, type Config } from './config.js';
import { loadAnalysisModel, type LoadedAnalysisModel } from './model.js';
import { busKind, openBus, openStore } from './adapters.js';
import { loadBusSecret } from './bus-secret.js';
export { loadBusSecret };
import { AGENT_KINDS, type AgentKind } from './agent-kinds.js';

export { AGENT_KINDS, type AgentKind };

export interface PitwallSystem {
  loop: MainOrchestrationLoop;
  analysisModel: LoadedAnalysisModel | null;
  api: FastifyInstance;
  apiUrl: string;
  store: Store;
  bus: Bus;
  agents: Agent[];
  stop(): Promise<void>;
}

export interface SystemOptions {
  config: Readonly<Config>;
  clock: Clock;
  log: Logger;
  /** The notification provider (SMS / e-mail / push); the simulator's gateway in a demo. */
  notificationUrl: string;
  /** The fleet model, loaded before anything starts; loaded here from the config when absent. */
  analysisModel?: LoadedAnalysisModel;
  /**
   * The agents this process runs beside its orchestrator. @default every kind on the in-process bus (they
   * could run nowhere else), none on NATS, where each runs as `pitwall agent <kind>`.
   */
  agents?: readonly AgentKind[];
}

/**
 * The clock every process of one deployment agrees on: real time at speed 1 without an epoch,
 * otherwise virtual time `epoch + (real - epoch) × speed`.
 */
export function clockFor(config: Pick<Config, 'speed' | 'clockEpoch'>, fallbackOrigin?: number): Clock {
  if (config.speed === 1 && !config.clockEpoch) return new SystemClock();
  const epoch = config.clockEpoch ? Date.parse(config.clockEpoch) : (fallbackOrigin ?? Date.now());
  return config.clockEpoch
    ? new ScaledClock({ virtualOrigin: epoch, realOrigin: epoch, speed: config.speed })
    : new ScaledClock({ virtualOrigin: epoch, speed: config.speed });
}

/** The generic OBD-II code table shipped with Pitwall (data/dtc, MIT). */
export const DTC_TABLE = fileURLToPath(new URL('../../../data/dtc/dtc_generic.csv', import.meta.url));

const SENDERS = [...Object.values(AGENTS), 'bus'];

/** Real seconds our own processing may take, whatever the clock speed: a timeout shorter than this only measures the machine. */
export const MIN_REAL_TIMEOUT_S = 10;
/** Real seconds a retry waits at least, whatever the clock speed. */
export const MIN_REAL_BACKOFF_S = 1;

/**
 * Timeouts and back-off guard our own processing (HTTP calls, agents), which runs in real time. On a
 * virtual clock at 3600× the default 300 s would be 83 real ms, so they are kept to a real floor.
 */
/**
 * Real seconds a claimed timer or outbox row stays reserved for its orchestrator, whatever the clock
 * speed. Shorter than the state-timeout floor: after a crash, a restarted orchestrator must take its
 * unsent rows back before the workflows waiting on them time out.
 */
export const MIN_REAL_LEASE_S = 3;

/** Real seconds sent outbox rows and inbox ids are kept at least, whatever the clock speed. */
export const MIN_REAL_RETENTION_S = 3600;

/** Retention is clock time; on a fast clock it keeps a real-time floor so redelivery after a restart is still recognised. */
export function retentionFor(config: Pick<Config, 'speed'>): number {
  return Math.max(7 * 86_400, MIN_REAL_RETENTION_S * config.speed) * 1000;
}

/** Leases are clock time; on a fast clock they keep a real-time floor so a busy process keeps its work. */
export function leaseFor(config: Pick<Config, 'speed'>): number {
  return Math.max(600, MIN_REAL_LEASE_S * config.speed) * 1000;
}

export function workflowTimingFor(config: Pick<Config, 'stateTimeout' | 'speed'>): { stateTimeoutMs: number; retryBaseMs: number } {
  return {
    stateTimeoutMs: Math.max(config.stateTimeout, MIN_REAL_TIMEOUT_S * config.speed) * 1000,
    retryBaseMs: Math.max(DEFAULT_WORKFLOW_CONFIG.retryBaseMs / 1000, MIN_REAL_BACKOFF_S * config.speed) * 1000,
  };
}

/** What an agent process needs beside the bus: its ports to the outside. */
export interface AgentDeps {
  config: Readonly<Config>;
  log: Logger;
  notificationUrl: string;
  /** For the analysis agent; loaded from the config when absent. */
  analysisModel?: LoadedAnalysisModel;
}

/** The bus key ring every process of one deployment shares (the bus secret in the data dir or environment). */
export function keyRingFor(config: Pick<Config, 'dataDir'>): KeyRing {
  return keyRingFromSecret(loadBusSecret(config.dataDir), SENDERS);
}

/** Builds (does not start) the agents of the given kinds over one bus. */
export function createAgents(kinds: readonly AgentKind[], bus: Bus, clock: Clock, keys: KeyRing, deps: AgentDeps): Agent[] {
  const { config, log } = deps;
  const ctx = (name: string): AgentContext => ({
    bus,
    clock,
    log: log.child({ agent: name }),
    envelopes: EnvelopeFactory.fromKeyRing(name, keys, clock),
  });
  const portalUrl = config.pitwallUrl;
  const gateway = createHttpGateway(deps.notificationUrl);
  const make: Record<AgentKind, () => Agent> = {
    analysis: () => {
      const model = deps.analysisModel ?? loadAnalysisModel(config);
      const dtc = loadDtcCatalog(DTC_TABLE);
      if (dtc.warning) log.warn(dtc.warning);
      return createDataAnalysisAgent(ctx(AGENTS.dataAnalysis), { dtcCatalog: dtc.catalog, ...(model.model ? { learned: model.model } : {}) });
    },
    engagement: () =>
      createEngagementAgent(ctx(AGENTS.customerEngagement), { directory: createTelematicsDirectory(config.telematicsUrl), gateway, portalUrl }),
    scheduling: () =>
      createSchedulingAgent(ctx(AGENTS.scheduling), { client: createSchedulerClient(config.schedulerUrl, { timeoutMs: 5000 }) }),
    feedback: () => createFeedbackAgent(ctx(AGENTS.feedback), { gateway, portalUrl }),
  };
  return kinds.map((k) => make[k]());
}

export interface AgentProcess {
  agents: Agent[];
  bus: Bus;
  stop(): Promise<void>;
}

/** `pitwall agent <kind>`: agents of the given kinds on a shared bus, and nothing else. */
export async function startAgents(kinds: readonly AgentKind[], opts: AgentDeps & { clock: Clock }): Promise<AgentProcess> {
  const { config, clock, log } = opts;
  if (busKind(config) === 'memory') {
    throw new ConfigError('an agent process needs a bus it can share with the orchestrator: give --bus nats://host:port (the in-process bus reaches no other process)');
  }
  const keys = keyRingFor(config);
  const bus = await openBus(config, { clock, keys, log, name: `pitwall-agent-${kinds.join('-')}-${process.pid}` });
  const agents = createAgents(kinds, bus, clock, keys, opts);
  try {
    for (const a of agents) await a.start();
  } catch (err) {
    await bus.close();
    throw err;
  }
  let stopped: Promise<void> | null = null;
  return {
    agents,
    bus,
    stop: () =>
      (stopped ??= (async () => {
        for (const a of agents) await a.stop();
        await bus.close();
      })()),
  };
}

/**
 * The orchestrator's instance id: the configured one; on the in-process bus (one orchestrator per store,
 * the data directory's lock sees to it) always the same, so a process restarted after a crash holds its
 * VIN partitions again at once instead of waiting for its old lease to expire; else a new random one.
 */
export function instanceIdOf(config: Pick<Config, 'instanceId' | 'bus'>): { instanceId?: string } {
  if (config.instanceId) return { instanceId: config.instanceId };
  return busKind(config) === 'memory' ? { instanceId: EMBEDDED_INSTANCE_ID } : {};
}

export const EMBEDDED_INSTANCE_ID = 'embedded';

export async function startSystem(opts: SystemOptions): Promise<PitwallSystem> {
  const { config, clock, log } = opts;
  const kinds = opts.agents ?? (busKind(config) === 'memory' ? AGENT_KINDS : []);
  // First, so a missing or broken model file stops the start before anything is opened.
  const analysisModel = kinds.includes('analysis') ? (opts.analysisModel ?? loadAnalysisModel(config)) : null;
  if (analysisModel) {
    log.info({ model_file: analysisModel.file, trained_at: analysisModel.model?.trained_at ?? null }, analysisModel.description);
  }
  mkdirSync(config.dataDir, { recursive: true });
  const keys = keyRingFor(config);
  const store = await openStore(config);
  const bus = await openBus(config, { clock, keys, log, name: `pitwall-orchestrator-${process.pid}` }).catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  const agents = createAgents(kinds, bus, clock, keys, {
    config,
    log,
    notificationUrl: opts.notificationUrl,
    ...(analysisModel ? { analysisModel } : {}),
  });
  for (const a of agents) await a.start();

  const loop = new MainOrchestrationLoop({
    telematicsApiUrl: config.telematicsUrl,
    schedulerApiUrl: config.schedulerUrl,
    telematicsClient: createTelematicsClient(config.telematicsUrl, DEFAULT_REQUEST_TIMEOUT_MS),
    ...instanceIdOf(config),
    pollingInterval: config.pollingInterval,
    analysisIntervalMs: config.analysisInterval * 1000,
    fetchConcurrency: config.fetchConcurrency,
    workflow: workflowTimingFor(config),
    leaseMs: leaseFor(config),
    retentionMs: retentionFor(config),
    store,
    bus,
    clock,
    keys,
    log: log.child({ component: 'orchestrator' }),
  });
  await loop.initialize();
  const api = await createApiServer({
    loop,
    bus,
    store,
    clock,
    envelopes: EnvelopeFactory.fromKeyRing(AGENTS.api, keys, clock),
    log: log.child({ component: 'api' }),
    // A customer may name only a centre the scheduler has (issue 7); a short timeout, as a customer waits.
    knownCenters: cachedCenters(() => createSchedulerClient(config.schedulerUrl, { timeoutMs: 2000 }).centers()),
  });
  const apiUrl = await api.listen({ port: config.port, host: config.host });
  await loop.start();

  let stopped: Promise<void> | null = null;
  return {
    loop,
    analysisModel,
    api,
    apiUrl,
    store,
    bus,
    agents,
    // Order matters: stop taking input (API), let the loop finish what is in flight, then the agents
    // and the bus, and close the store last so every decision in flight is committed.
    stop: () =>
      (stopped ??= (async () => {
        await api.close();
        await loop.stop();
        for (const a of agents) await a.stop();
        await bus.close();
        await store.close();
      })()),
  };
}
