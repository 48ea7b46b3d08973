/**
 * The customer-engagement agent: turns an EngagementRequest into messages on the owner's channels and
 * reports what was delivered. Idempotent: each message's id is `{idempotency_key}:{channel}`, remembered
 * here and deduplicated by the provider, so a redelivered request never notifies twice.
 */
import { channelAgent, type Agent, type AgentContext } from '../bus/agent.js';
import type { Delivery } from '../bus/port.js';
import { AGENTS, CHANNELS, type Envelope } from '../core/envelope.js';
import type { EngagementKind, EngagementRequest, EngagementResult } from '../core/payloads.js';
import type { Urgency } from '../core/urgency.js';
import { BoundedSet } from '../bus/bounded-set.js';
import { maskEmail, maskPhone } from './mask.js';
import type { Customer, CustomerDirectory, NotificationChannel, NotificationGateway } from './ports.js';
import { parseEngagementRequest } from './request.js';
import { renderEngagement } from './templates.js';

export interface EngagementAgentOptions {
  directory: CustomerDirectory;
  gateway: NotificationGateway;
  /** Base URL of the customer portal, e.g. `http://127.0.0.1:8080`. */
  portalUrl: string;
  /** Notification ids remembered as sent. @default 10 000 */
  rememberIds?: number;
  /** @default 8 */
  concurrency?: number;
  /** Must match the bus's attempts, so the last attempt reports a failure instead of throwing. @default 5 */
  maxAttempts?: number;
  /**
   * Real ms the agent keeps trying, with back-off, while the customer directory or every provider is
   * unreachable, before it reports the delivery failed: an outage of a minute is waited out instead of
   * costing the case its retries. 0 leaves transient failures to the bus's attempts. @default 60 000
   */
  outageBudgetMs?: number;
  /** Real time and waiting, injectable for tests. @default Date.now and setTimeout */
  now?: () => number;
  wait?: (ms: number) => Promise<void>;
}

const FIRST_OUTAGE_PAUSE_MS = 250;
const MAX_OUTAGE_PAUSE_MS = 10_000;

const BY_URGENCY: Record<Urgency, readonly NotificationChannel[]> = {
  critical: ['sms', 'push', 'email'],
  high: ['sms', 'email'],
  medium: ['email'],
  low: ['email'],
};

/** Channels for a message: by urgency, all of them for an escalation, only those the owner can be reached on. */
export function chooseChannels(urgency: Urgency, kind: EngagementKind, customer: Customer): NotificationChannel[] {
  const wanted = kind === 'escalation' ? BY_URGENCY.critical : BY_URGENCY[urgency];
  const reachable = (c: NotificationChannel): boolean =>
    c === 'email' ? customer.email.includes('@') : c === 'sms' ? /\d{6,}/.test(customer.phone.replace(/\D/g, '')) : true;
  const chosen = wanted.filter(reachable);
  return chosen.length > 0 ? chosen : [customer.preferred_channel];
}

function addressOf(customer: Customer, channel: NotificationChannel): string {
  return channel === 'email' ? maskEmail(customer.email) : channel === 'sms' ? maskPhone(customer.phone) : 'app';
}

class TransientError extends Error {
  override readonly name = 'TransientError';
}

export function createEngagementAgent(ctx: AgentContext, opts: EngagementAgentOptions): Agent {
  const name = AGENTS.customerEngagement;
  const log = ctx.log;
  const sent = new BoundedSet<string>(opts.rememberIds ?? 10_000);
  const maxAttempts = opts.maxAttempts ?? 5;
  const outageBudgetMs = opts.outageBudgetMs ?? 60_000;
  const now = opts.now ?? Date.now;
  const wait = opts.wait ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let stopping = false;

  async function publishResult(env: Envelope, result: EngagementResult): Promise<void> {
    await ctx.bus.publish(CHANNELS.engagementResult, ctx.envelopes.reply(env, 'engagement_result', result));
  }

  /**
   * Delivers, waiting out an outage of the directory or of every provider for up to `outageBudgetMs`;
   * once that is spent (or the agent stops), the next failure is reported rather than retried.
   */
  async function deliver(env: Envelope, req: EngagementRequest, delivery: Delivery): Promise<EngagementResult> {
    if (outageBudgetMs <= 0) return notify(env, req, delivery.attempt >= maxAttempts);
    const started = now();
    let pause = FIRST_OUTAGE_PAUSE_MS;
    for (;;) {
      const left = outageBudgetMs - (now() - started);
      try {
        return await notify(env, req, left <= 0 || stopping);
      } catch (err) {
        if (!(err instanceof TransientError)) throw err;
        log.debug({ vin: req.vin, err: err.message, left_ms: left }, 'engagement waits out an outage');
        await wait(Math.min(pause, Math.max(left, 0)));
        pause = Math.min(pause * 2, MAX_OUTAGE_PAUSE_MS);
      }
    }
  }

  async function notify(env: Envelope, req: EngagementRequest, lastTry: boolean): Promise<EngagementResult> {
    const base = { vin: req.vin, kind: req.kind, attempt: req.attempt };
    let customer: Customer | null;
    try {
      customer = await opts.directory.lookup(req.vin);
    } catch (err) {
      const why = `customer directory unavailable: ${err instanceof Error ? err.message : String(err)}`;
      if (!lastTry) throw new TransientError(why, { cause: err });
      return { ...base, delivered: false, channels: [], error: why };
    }
    if (!customer) return { ...base, delivered: false, channels: [], error: 'no contact details for this vehicle' };

    const msg = renderEngagement({
      vin: req.vin,
      urgency: req.urgency,
      kind: req.kind,
      predictedFailures: req.predicted_failures,
      predictedDaysToFailure: req.predicted_days_to_failure,
      respondBy: req.respond_by,
      correlationId: env.header.correlation_id,
      portalUrl: opts.portalUrl,
      customerName: customer.name,
    });
    const delivered: NotificationChannel[] = [];
    const errors: string[] = [];
    let retryable = false;
    for (const channel of chooseChannels(req.urgency, req.kind, customer)) {
      const id = `${req.idempotency_key}:${channel}`;
      if (sent.has(id)) {
        delivered.push(channel);
        continue;
      }
      const outcome = await opts.gateway.send({
        notification_id: id,
        vin: req.vin,
        correlation_id: env.header.correlation_id,
        channel,
        kind: 'engagement',
        urgency: req.urgency,
        subject: msg.subject,
        body: channel === 'email' ? msg.body : msg.short,
        respond_by: req.respond_by,
      });
      if (outcome.accepted) {
        sent.add(id);
        delivered.push(channel);
        log.info({ vin: req.vin, kind: req.kind, urgency: req.urgency, channel, to: addressOf(customer, channel), notification_id: id }, 'notification sent');
      } else {
        errors.push(`${channel}: ${outcome.error ?? 'refused'}`);
        retryable ||= outcome.retryable === true;
      }
    }
    // Reaching the owner on one channel is enough; with none reached, a transient failure is worth a retry.
    if (delivered.length === 0 && retryable && !lastTry) throw new TransientError(errors.join('; '));
    return delivered.length > 0 ? { ...base, delivered: true, channels: delivered } : { ...base, delivered: false, channels: [], error: errors.join('; ') };
  }

  async function handle(env: Envelope, delivery: Delivery): Promise<void> {
    const parsed = parseEngagementRequest(env.payload);
    if (!parsed.ok) {
      log.warn({ correlation_id: env.header.correlation_id, error: parsed.error }, 'engagement request rejected');
      const { vin, kind, attempt } = parsed.partial;
      if (vin && kind && attempt !== null) {
        await publishResult(env, { vin, kind, attempt, delivered: false, channels: [], error: parsed.error });
      } else {
        await ctx.bus.publish(CHANNELS.systemError, ctx.envelopes.reply(env, 'agent_failed', { agent: name, error: parsed.error, vin }));
      }
      return;
    }
    const result = await deliver(env, parsed.value, delivery);
    if (!result.delivered) log.warn({ vin: result.vin, kind: result.kind, error: result.error }, 'engagement not delivered');
    await publishResult(env, result);
  }

  const agent = channelAgent(ctx, name, CHANNELS.engagementRequest, handle, { concurrency: opts.concurrency ?? 8, maxAttempts });
  return {
    name: agent.name,
    start: () => {
      stopping = false;
      return agent.start();
    },
    // Requests waiting out an outage stop waiting: each reports at its next try, so a stop is prompt.
    stop: () => {
      stopping = true;
      return agent.stop();
    },
  };
}
