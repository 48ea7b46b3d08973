/**
 * Simulated customers. When the gateway delivers a notification, the owner answers at a virtual time
 * chosen by their persona, by calling Pitwall's own API as a real customer's click would.
 */
import { HOUR, isoTime, MINUTE, type Clock } from '../core/clock.js';
import type { Urgency } from '../core/urgency.js';
import type { VirtualTicker } from '../clock/ticker.js';
import type { DeliveredNotification } from './notifications.js';
import { hashString, mix, unit } from './random.js';
import type { Persona } from './vehicles.js';

export type PostJson = (url: string, body: unknown) => Promise<{ status: number }>;

export interface CustomerAnswer {
  path: '/api/customer-responses' | '/api/feedback';
  body: Record<string, unknown>;
}

export interface CustomerSimOptions {
  clock: Clock;
  ticker: VirtualTicker;
  /** Persona of the owner of a vehicle (usually `fleet.info(vin)?.owner.persona`). */
  personaOf: (vin: string) => Persona | undefined;
  /** @default http://127.0.0.1:3000 */
  pitwallUrl?: string;
  /** @default fetch with a JSON body */
  post?: PostJson;
  seed?: number | string;
  /** Virtual delays between attempts when Pitwall cannot be reached. @default 1 min, 5 min, 15 min, 1 h, 3 h, 6 h, 12 h, 24 h */
  retryDelaysMs?: readonly number[];
  onEvent?: (e: CustomerEvent) => void;
}

export type CustomerEvent =
  | { type: 'scheduled'; vin: string; notification_id: string; at: string; answer: CustomerAnswer['path'] }
  | { type: 'ignored'; vin: string; notification_id: string; reason: string }
  | { type: 'answered'; vin: string; notification_id: string; status: number }
  | { type: 'gave_up'; vin: string; notification_id: string; attempts: number };

export interface CustomerPlan {
  /** Null: the customer does not answer this message. */
  delayMs: number | null;
  decision?: 'accept' | 'decline';
  rating?: number;
}

interface PersonaSpec {
  acceptShare: number;
  delayHours: readonly [number, number];
  /** Chance the first message of a conversation is overlooked (answers only a reminder). */
  overlookFirst: number;
  feedbackShare: number;
  rating: readonly [number, number];
}

const PERSONAS: Record<Persona, PersonaSpec | null> = {
  prompt: { acceptShare: 0.95, delayHours: [1, 3], overlookFirst: 0, feedbackShare: 0.9, rating: [4, 5] },
  busy: { acceptShare: 0.8, delayHours: [6, 20], overlookFirst: 0.3, feedbackShare: 0.6, rating: [3, 5] },
  reluctant: { acceptShare: 0.6, delayHours: [3, 12], overlookFirst: 0.1, feedbackShare: 0.5, rating: [2, 4] },
  unreachable: null,
  dependable: { acceptShare: 1, delayHours: [1, 3], overlookFirst: 0, feedbackShare: 1, rating: [4, 5] },
};

/** Critical messages get faster answers than medium ones. */
const URGENCY_SPEEDUP: Record<Urgency, number> = { critical: 0.2, high: 0.5, medium: 1, low: 1.2 };
/** A customer whose click fails tries again, less and less often, for about two days. */
const DEFAULT_RETRIES = [1 * MINUTE, 5 * MINUTE, 15 * MINUTE, HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, 24 * HOUR] as const;

/** Pure: how this owner reacts to this message (deterministic per seed and notification id). */
export function planAnswer(
  persona: Persona,
  n: Pick<DeliveredNotification, 'notification_id' | 'kind' | 'urgency'>,
  seed: number,
  earlierMessages: number,
): CustomerPlan {
  const spec = PERSONAS[persona];
  if (!spec) return { delayMs: null };
  const key = mix(seed, hashString(n.notification_id));
  const [lo, hi] = spec.delayHours;
  if (n.kind === 'feedback') {
    if (unit(key, 1) >= spec.feedbackShare) return { delayMs: null };
    const [rLo, rHi] = spec.rating;
    return { delayMs: (2 + 22 * unit(key, 2)) * HOUR, rating: rLo + Math.floor(unit(key, 3) * (rHi - rLo + 1)) };
  }
  if (earlierMessages === 0 && unit(key, 4) < spec.overlookFirst) return { delayMs: null };
  const speedup = URGENCY_SPEEDUP[n.urgency ?? 'medium'];
  const delayMs = (lo + (hi - lo) * unit(key, 5)) * HOUR * speedup;
  return { delayMs: Math.max(MINUTE, delayMs), decision: unit(key, 6) < spec.acceptShare ? 'accept' : 'decline' };
}

export const defaultPost: PostJson = async (url, body) => {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  await res.arrayBuffer();
  return { status: res.status };
};

export interface CustomerSim {
  /** Feed a delivered notification (wire this to the gateway's listener). */
  onNotification(n: DeliveredNotification): void;
  /** Answers sent so far (for tests and demos). */
  readonly answered: readonly { vin: string; notification_id: string; path: string; status: number }[];
}

export function createCustomers(opts: CustomerSimOptions): CustomerSim {
  const base = (opts.pitwallUrl ?? 'http://127.0.0.1:3000').replace(/\/$/, '');
  const post = opts.post ?? defaultPost;
  const seed = typeof opts.seed === 'number' ? opts.seed : hashString(String(opts.seed ?? 'customers'));
  const retries = opts.retryDelaysMs ?? DEFAULT_RETRIES;
  const emit = opts.onEvent ?? (() => {});
  /** Messages seen and the decision sent, per conversation (small: one entry per open workflow). */
  const conversations = new Map<string, { messages: number; seen: Set<string>; decision?: 'accept' | 'decline' }>();
  const answered: { vin: string; notification_id: string; path: string; status: number }[] = [];

  // Returns its promise so a ticker (and a test calling runDue) waits for the POST and its outcome.
  const send = async (n: DeliveredNotification, answer: CustomerAnswer, attempt: number): Promise<void> => {
    {
      let status = 0;
      try {
        status = (await post(base + answer.path, answer.body)).status;
      } catch {
        status = 0;
      }
      // Pitwall down or overloaded: retry; a 4xx means it understood and refused, so a retry cannot help.
      const retryable = status === 0 || status >= 500 || status === 429 || status === 408;
      if (!retryable) {
        answered.push({ vin: n.vin, notification_id: n.notification_id, path: answer.path, status });
        emit({ type: 'answered', vin: n.vin, notification_id: n.notification_id, status });
        return;
      }
      const wait = retries[attempt];
      if (wait === undefined) {
        emit({ type: 'gave_up', vin: n.vin, notification_id: n.notification_id, attempts: attempt + 1 });
        return;
      }
      opts.ticker.at(opts.clock.now() + wait, () => send(n, answer, attempt + 1));
    }
  };

  return {
    answered,
    onNotification(n) {
      const persona = opts.personaOf(n.vin);
      if (!persona) return emit({ type: 'ignored', vin: n.vin, notification_id: n.notification_id, reason: 'unknown owner' });
      const convKey = `${n.kind}:${n.correlation_id}`;
      const conv = conversations.get(convKey) ?? { messages: 0, seen: new Set<string>() };
      conversations.set(convKey, conv);
      // One message sent on several channels arrives as several notifications ({key}:{channel}); a person reads it once.
      const messageKey = n.notification_id.replace(/:(email|sms|push)$/, '');
      if (conv.seen.has(messageKey)) {
        return emit({ type: 'ignored', vin: n.vin, notification_id: n.notification_id, reason: 'same message on another channel' });
      }
      conv.seen.add(messageKey);
      const earlier = conv.messages++;
      // Someone who already accepted (or rated) does not answer reminders; a decliner may reconsider an escalation.
      if (conv.decision === 'accept' || (n.kind === 'feedback' && earlier > 0)) {
        return emit({ type: 'ignored', vin: n.vin, notification_id: n.notification_id, reason: 'already answered' });
      }
      const plan = planAnswer(persona, n, seed, earlier);
      if (plan.delayMs === null) {
        return emit({ type: 'ignored', vin: n.vin, notification_id: n.notification_id, reason: `persona ${persona}` });
      }
      const at = opts.clock.now() + plan.delayMs;
      const answer: CustomerAnswer =
        n.kind === 'feedback'
          ? {
              path: '/api/feedback',
              body: { vin: n.vin, correlation_id: n.correlation_id, rating: plan.rating ?? 4, comment: feedbackComment(plan.rating ?? 4) },
            }
          : {
              path: '/api/customer-responses',
              body: {
                vin: n.vin,
                correlation_id: n.correlation_id,
                decision: plan.decision ?? 'accept',
                ...(plan.decision === 'decline' ? { comment: 'Not convenient right now.' } : {}),
              },
            };
      if (n.kind === 'engagement') conv.decision = plan.decision;
      emit({ type: 'scheduled', vin: n.vin, notification_id: n.notification_id, at: isoTime(at), answer: answer.path });
      opts.ticker.at(at, () => send(n, answer, 0));
    },
  };
}

function feedbackComment(rating: number): string {
  if (rating >= 5) return 'Quick and friendly, thanks for the heads-up.';
  if (rating >= 4) return 'Good service.';
  if (rating >= 3) return 'Fine, but the wait was long.';
  return 'Not happy with how this was handled.';
}
