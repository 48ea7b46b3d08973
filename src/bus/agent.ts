/** What every agent gets from the composition root, and what it gives back. Agents meet only on the bus. */
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { Bus } from './port.js';
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
