/** What every agent gets from the composition root, and what it gives back. Agents meet only on the bus. */
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { Bus, Handler, Subscription } from './port.js';
import type { EnvelopeFactory } from './signing.js';

export interface AgentContext {
  bus: Bus;
  clock: Clock;
  /** Signs with this agent's own key. */
  envelopes: EnvelopeFactory;
  log: Logger;
}

export interface Agent {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface ChannelAgentOptions {
  concurrency: number;
  maxAttempts: number;
}

/**
 * An agent that serves one request channel in its own queue group: the start/stop every agent needs,
 * written once. `start` twice subscribes once; `stop` lets go of the subscription.
 */
export function channelAgent(ctx: AgentContext, name: string, channel: string, handle: Handler, opts: ChannelAgentOptions): Agent {
  let sub: Subscription | null = null;
  return {
    name,
    async start() {
      if (sub) return;
      sub = await ctx.bus.subscribe(channel, handle, { queue: name, concurrency: opts.concurrency, maxAttempts: opts.maxAttempts });
    },
    async stop() {
      const s = sub;
      sub = null;
      await s?.unsubscribe();
    },
  };
}
