/**
 * The feedback agent: after a service, sends the owner a survey link and reports that it did. The answer
 * itself arrives through the HTTP API; `record` feeds it into the running statistics.
 */
import { BoundedSet } from '../bus/bounded-set.js';
import { channelAgent, type Agent, type AgentContext } from '../bus/agent.js';
import type { Delivery } from '../bus/port.js';
import { AGENTS, CHANNELS, type Envelope } from '../core/envelope.js';
import type { Feedback, FeedbackRequest } from '../core/payloads.js';
import type { FeedbackChannel, FeedbackGateway, FeedbackRequested, PreferredChannelLookup } from './ports.js';
import { parseFeedbackRequest } from './request.js';
import { FeedbackStats } from './stats.js';

export interface FeedbackAgentOptions {
  gateway: FeedbackGateway;
  /** Base URL of the customer portal. */
  portalUrl: string;
  /** @default every survey by e-mail */
  directory?: PreferredChannelLookup;
  /** Survey ids remembered as sent. @default 10 000 */
  rememberIds?: number;
  /** @default 4 */
  concurrency?: number;
  /** @default 5 */
  maxAttempts?: number;
}

export interface FeedbackAgent extends Agent {
  readonly stats: FeedbackStats;
  /** Feeds one customer answer into the statistics; false when it was a repeat or out of range. */
  record(feedback: Feedback): boolean;
}

export function feedbackLink(portalUrl: string, correlationId: string): string {
  return `${portalUrl.replace(/\/+$/, '')}/portal/${encodeURIComponent(correlationId)}/feedback`;
}

export function renderSurvey(vin: string, link: string, respondBy: string): { subject: string; body: string } {
  return {
    subject: `How was the service of your vehicle ${vin}?`,
    body: [
      `Thank you for bringing your vehicle ${vin} in for service.`,
      `How did it go? Rate your visit from 1 to 5, and tell us anything we should know: ${link}`,
      `The survey is open until ${respondBy.replace(/\.\d{3}Z$/, 'Z')}.`,
    ].join('\n\n'),
  };
}

export function createFeedbackAgent(ctx: AgentContext, opts: FeedbackAgentOptions): FeedbackAgent {
  const name = AGENTS.feedback;
  const log = ctx.log;
  const stats = new FeedbackStats();
  const sent = new BoundedSet<string>(opts.rememberIds ?? 10_000);
  const maxAttempts = opts.maxAttempts ?? 5;

  async function survey(env: Envelope, req: FeedbackRequest, delivery: Delivery): Promise<FeedbackRequested> {
    const base = { vin: req.vin, appointment_id: req.appointment_id };
    let channel: FeedbackChannel = 'email';
    if (opts.directory) {
      try {
        channel = (await opts.directory.lookup(req.vin))?.preferred_channel ?? 'email';
      } catch (err) {
        // The preference is a nicety; e-mail still reaches the owner.
        log.warn({ vin: req.vin, err: err instanceof Error ? err.message : String(err) }, 'preferred channel unknown; using e-mail');
      }
    }
    const id = `${req.idempotency_key}:${channel}`;
    if (sent.has(id)) return { ...base, sent: true, channels: [channel] };
    const { subject, body } = renderSurvey(req.vin, feedbackLink(opts.portalUrl, env.header.correlation_id), req.respond_by);
    const outcome = await opts.gateway.send({
      notification_id: id,
      vin: req.vin,
      correlation_id: env.header.correlation_id,
      channel,
      kind: 'feedback',
      subject,
      body,
      respond_by: req.respond_by,
    });
    if (outcome.accepted) {
      sent.add(id);
      log.info({ vin: req.vin, appointment_id: req.appointment_id, channel, notification_id: id }, 'feedback survey sent');
      return { ...base, sent: true, channels: [channel] };
    }
    const error = `${channel}: ${outcome.error ?? 'refused'}`;
    if (outcome.retryable && delivery.attempt < maxAttempts) throw new Error(error);
    return { ...base, sent: false, channels: [], error };
  }

  async function handle(env: Envelope, delivery: Delivery): Promise<void> {
    const parsed = parseFeedbackRequest(env.payload);
    if (!parsed.ok) {
      log.warn({ correlation_id: env.header.correlation_id, error: parsed.error }, 'feedback request rejected');
      await ctx.bus.publish(CHANNELS.systemError, ctx.envelopes.reply(env, 'agent_failed', { agent: name, error: parsed.error, vin: parsed.vin }));
      return;
    }
    const result = await survey(env, parsed.value, delivery);
    if (!result.sent) log.warn({ vin: result.vin, error: result.error }, 'feedback survey not sent');
    await ctx.bus.publish(CHANNELS.feedbackResult, ctx.envelopes.reply(env, 'feedback_requested', result));
  }

  return {
    ...channelAgent(ctx, name, CHANNELS.feedbackRequest, handle, { concurrency: opts.concurrency ?? 4, maxAttempts }),
    stats,
    record: (feedback) => stats.record(feedback),
  };
}
