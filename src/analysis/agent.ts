/**
 * The data-analysis agent: reads a request (the message's shape, not a second validation of its samples:
 * see `readRequestSample`), analyses it, answers on the result channel.
 */
import { channelAgent, type Agent, type AgentContext } from '../bus/agent.js';
import type { Envelope } from '../core/envelope.js';
import { AGENTS, CHANNELS } from '../core/envelope.js';
import type { TelemetrySample } from '../core/telemetry.js';
import { analyzeVehicle, type AnalysisResultWithQuality, type AnalyzeOptions } from './analyze.js';
import { DEFAULT_MAX_VEHICLES, HistoryStore } from './history.js';
import { parseAnalysisRequest, readRequestSample } from './request.js';

export interface DataAnalysisAgentOptions extends AnalyzeOptions {
  /** Requests analysed at once. @default 4 */
  concurrency?: number;
  /** @default 5 */
  maxAttempts?: number;
  /** @default 100 000 */
  maxSamples?: number;
  /** A request whose JSON would be larger than this is refused unread. @default MAX_MESSAGE_BYTES (1 MB) */
  maxRequestBytes?: number;
  /** Vehicles whose history and normal the agent remembers; the least recently analysed is forgotten first. @default 100 000 */
  maxTrackedVehicles?: number;
  /** The memory itself, when the caller wants to look into it (tests, diagnostics). @default a new one */
  history?: HistoryStore;
}

export interface AgentFailedPayload {
  agent: string;
  error: string;
  vin: string | null;
}

export function createDataAnalysisAgent(ctx: AgentContext, opts: DataAnalysisAgentOptions = {}): Agent {
  const name = AGENTS.dataAnalysis;
  const log = ctx.log;
  const history = opts.history ?? new HistoryStore({ maxVehicles: opts.maxTrackedVehicles ?? DEFAULT_MAX_VEHICLES, ...(opts.rules ? { rules: opts.rules } : {}) });

  async function handle(env: Envelope): Promise<void> {
    const now = ctx.clock.now();
    const parsed = parseAnalysisRequest(env.payload, opts.maxSamples, opts.maxRequestBytes);
    if (!parsed.ok) {
      // A malformed request fails the same way on every retry: answer it instead of throwing.
      log.warn({ correlation_id: env.header.correlation_id, error: parsed.error }, 'analysis request rejected');
      const payload: AgentFailedPayload = { agent: name, error: parsed.error, vin: parsed.vin };
      await ctx.bus.publish(CHANNELS.systemError, ctx.envelopes.reply(env, 'agent_failed', payload));
      return;
    }
    const { vin, samples, since, memory: snapshot } = parsed.value;
    const valid: TelemetrySample[] = [];
    const rejected = new Map<string, number>();
    for (const raw of samples) {
      const r = readRequestSample(raw, vin, now);
      if (r.ok) {
        valid.push(r.sample);
        // Signals Pitwall does not know are dropped, not fatal; each dropped reading is counted.
        if (r.unknownSignals > 0) rejected.set('unknown_signal', (rejected.get('unknown_signal') ?? 0) + r.unknownSignals);
      } else rejected.set(r.reason, (rejected.get(r.reason) ?? 0) + 1);
    }
    if (rejected.size > 0) {
      log.warn({ correlation_id: env.header.correlation_id, vin, rejected: Object.fromEntries(rejected) }, 'samples excluded from analysis');
    }
    const intake = { received: samples.length, rejected: Object.fromEntries(rejected) };
    // The sender keeps the vehicle's memory (a field present, null for none yet): this agent holds it only
    // for the analysis, so every instance answers alike. Restore, analyse and snapshot run in one turn.
    const keptBySender = snapshot !== undefined;
    if (keptBySender) {
      if (snapshot === null) history.forget(vin);
      else if (!history.restore(vin, snapshot)) log.info({ vin }, 'vehicle memory of another layout dropped; its normal is learned again');
    }
    const memory = { store: history, vin, ...(since !== undefined ? { since } : {}) };
    const result: AnalysisResultWithQuality = { ...analyzeVehicle(valid, now, opts, intake, memory), vin };
    if (keptBySender) {
      result.memory = history.snapshot(vin);
      history.forget(vin);
    }
    log.debug({ vin, samples: valid.length, failures: result.predicted_failures.length }, 'analysis done');
    await ctx.bus.publish(CHANNELS.analysisResult, ctx.envelopes.reply(env, 'analysis_result', result));
  }

  return channelAgent(ctx, name, CHANNELS.analysisRequest, handle, { concurrency: opts.concurrency ?? 4, maxAttempts: opts.maxAttempts ?? 5 });
}
