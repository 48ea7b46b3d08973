/**
 * A tiny in-memory Bus for agent unit tests: records every publish, delivers to subscribers at once,
 * retries a throwing handler up to `maxAttempts`, then records a dead letter. No priorities, no TTL:
 * the real adapter (src/bus/memory.ts) has its own contract tests.
 */
import type { Envelope } from '../../core/envelope.js';
import type { Bus, Handler, SubscribeOptions, Subscription } from '../port.js';
import { EnvelopeFactory, keyRingFromSecret } from '../signing.js';
import type { Clock } from '../../core/clock.js';
import pino from 'pino';
import type { AgentContext } from '../agent.js';

export const TEST_SECRET = 'test-secret-0123456789';

interface Sub {
  channel: string;
  handler: Handler;
  opts: SubscribeOptions;
}

export interface Published {
  channel: string;
  env: Envelope;
}

export class FakeBus implements Bus {
  readonly published: Published[] = [];
  readonly deadLetters: { channel: string; env: Envelope; reason: string }[] = [];
  private subs: Sub[] = [];
  private pending = new Set<Promise<void>>();

  async publish(channel: string, env: Envelope): Promise<void> {
    this.published.push({ channel, env });
    // One delivery per queue group, as a queue-group bus would do.
    const seen = new Set<string>();
    for (const sub of this.subs) {
      if (sub.channel !== channel || seen.has(sub.opts.queue)) continue;
      seen.add(sub.opts.queue);
      const p = this.deliver(sub, channel, env);
      this.pending.add(p);
      void p.finally(() => this.pending.delete(p));
    }
  }

  /** Delivers `env` again, as a bus does after a crash before acknowledgement. */
  async redeliver(channel: string, env: Envelope): Promise<void> {
    await this.publish(channel, env);
    await this.drain();
  }

  async subscribe(channel: string, handler: Handler, opts: SubscribeOptions): Promise<Subscription> {
    const sub: Sub = { channel, handler, opts };
    this.subs.push(sub);
    return {
      unsubscribe: async () => {
        this.subs = this.subs.filter((s) => s !== sub);
      },
    };
  }

  async drain(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  async close(): Promise<void> {
    await this.drain();
    this.subs = [];
  }

  on(channel: string): Envelope[] {
    return this.published.filter((p) => p.channel === channel).map((p) => p.env);
  }

  get subscriptionCount(): number {
    return this.subs.length;
  }

  private async deliver(sub: Sub, channel: string, env: Envelope): Promise<void> {
    const max = sub.opts.maxAttempts ?? 5;
    let lastError = '';
    for (let attempt = 1; attempt <= max; attempt++) {
      try {
        await sub.handler(env, { channel, attempt });
        return;
      } catch (err) {
        lastError = err instanceof Error ? err.message : String(err);
      }
    }
    this.deadLetters.push({ channel, env, reason: lastError });
  }
}

export function testEnvelopes(sender: string, clock: Clock): EnvelopeFactory {
  return EnvelopeFactory.fromKeyRing(sender, keyRingFromSecret(TEST_SECRET), clock);
}

export function testContext(sender: string, bus: FakeBus, clock: Clock): AgentContext {
  return { bus, clock, envelopes: testEnvelopes(sender, clock), log: pino({ level: 'silent' }) };
}

/** An orchestrator-signed request envelope. */
export function requestEnvelope<P>(clock: Clock, messageType: string, receiver: string, payload: P, correlationId = 'workflow-TEST-1'): Envelope<P> {
  return testEnvelopes('orchestrator', clock).create({ messageType, receiver, correlationId, payload });
}
