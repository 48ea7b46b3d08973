/** HMAC-SHA256 envelope signatures (DESIGN §5), one key per sender derived from a master secret. */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { isoTime } from '../core/clock.js';
import { SCHEMA_VERSION, signingInput, type Envelope, type EnvelopeHeader, type Priority } from '../core/envelope.js';
import { formatUuidV7 } from '../core/ids.js';

export interface KeyRing {
  /** The signing key of a sender, or null when the sender is unknown. */
  keyFor(sender: string): Buffer | null;
}

/** Derives each sender's key as HMAC(master, "pitwall-bus:" + sender): one secret to configure, no key shared between agents. */
export function keyRingFromSecret(master: string, senders?: readonly string[]): KeyRing {
  if (master.length < 16) throw new RangeError('the bus secret must be at least 16 characters');
  const allowed = senders ? new Set(senders) : null;
  const cache = new Map<string, Buffer>();
  return {
    keyFor(sender) {
      if (allowed && !allowed.has(sender)) return null;
      let k = cache.get(sender);
      if (!k) {
        k = createHmac('sha256', master).update(`pitwall-bus:${sender}`).digest();
        cache.set(sender, k);
      }
      return k;
    },
  };
}

export function signEnvelope(env: { header: Omit<EnvelopeHeader, 'signature'>; payload: unknown }, key: Buffer): string {
  return createHmac('sha256', key).update(signingInput(env)).digest('hex');
}

export type VerifyResult = { ok: true } | { ok: false; reason: string };

export function verifyEnvelope(env: Envelope, keys: KeyRing): VerifyResult {
  const key = keys.keyFor(env.header.sender);
  if (!key) return { ok: false, reason: `unknown sender ${env.header.sender}` };
  const sig = env.header.signature;
  if (typeof sig !== 'string' || !/^[0-9a-f]{64}$/.test(sig)) return { ok: false, reason: 'missing or malformed signature' };
  const expected = Buffer.from(signEnvelope(env, key), 'hex');
  if (!timingSafeEqual(expected, Buffer.from(sig, 'hex'))) return { ok: false, reason: 'bad signature' };
  return { ok: true };
}

export function newMessageId(clock: Clock): string {
  return formatUuidV7(clock.now(), randomBytes(10));
}

export interface EnvelopeSpec<P> {
  messageType: string;
  receiver: string;
  correlationId: string;
  causationId?: string | null;
  priority?: Priority;
  payload: P;
  /** @default 24 h of (virtual) time */
  ttlMs?: number;
  /** Fixed by the outbox so a re-send keeps the id; new otherwise. */
  messageId?: string;
  attempt?: number;
}

export const DEFAULT_TTL_MS = 24 * 3600 * 1000;

/** Builds and signs envelopes for one sender. Every publisher on the bus holds one. */
export class EnvelopeFactory {
  constructor(
    readonly sender: string,
    private readonly key: Buffer,
    private readonly clock: Clock,
  ) {}

  static fromKeyRing(sender: string, keys: KeyRing, clock: Clock): EnvelopeFactory {
    const key = keys.keyFor(sender);
    if (!key) throw new Error(`no bus key for sender ${sender}`);
    return new EnvelopeFactory(sender, key, clock);
  }

  create<P>(spec: EnvelopeSpec<P>): Envelope<P> {
    const header: Omit<EnvelopeHeader, 'signature'> = {
      message_id: spec.messageId ?? newMessageId(this.clock),
      correlation_id: spec.correlationId,
      causation_id: spec.causationId ?? null,
      sender: this.sender,
      receiver: spec.receiver,
      message_type: spec.messageType,
      priority: spec.priority ?? 2,
      timestamp: isoTime(this.clock.now()),
      ttl_ms: spec.ttlMs ?? DEFAULT_TTL_MS,
      attempt: spec.attempt ?? 1,
      schema_version: SCHEMA_VERSION,
    };
    return { header: { ...header, signature: signEnvelope({ header, payload: spec.payload }, this.key) }, payload: spec.payload };
  }

  /** A reply on the same correlation, caused by `request`, to its sender, at its priority. */
  reply<P>(request: Envelope, messageType: string, payload: P): Envelope<P> {
    return this.create({
      messageType,
      receiver: request.header.sender,
      correlationId: request.header.correlation_id,
      causationId: request.header.message_id,
      priority: request.header.priority,
      payload,
    });
  }
}
