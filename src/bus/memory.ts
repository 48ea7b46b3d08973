/**
 * The in-process Bus (embedded mode): the bus layer (signatures and other middleware, TTL, attempts,
 * dead letters, critical first) over the memory transport, so it behaves as the NATS bus does.
 */
import type { Envelope } from '../core/envelope.js';
import { createBus, type BusLayerOptions, type LayeredBus } from './layer.js';
import { createMemoryTransport } from './memory-transport.js';
import type { DeadLetter, Handler, PublishOptions, SubscribeOptions, Subscription } from './port.js';

export interface MemoryBusOptions extends Omit<BusLayerOptions, 'transport'> {
  /** Message ids remembered to take a second publish of the same id once. @default 10000 */
  dedupeWindow?: number;
}

export function createMemoryBus(opts: MemoryBusOptions): LayeredBus {
  const { dedupeWindow, ...layer } = opts;
  return createBus({ ...layer, transport: createMemoryTransport(dedupeWindow === undefined ? {} : { dedupeWindow }) });
}

/** `createMemoryBus` as a class, for the callers that construct the embedded bus with `new`. */
export class MemoryBus implements LayeredBus {
  private readonly bus: LayeredBus;

  constructor(opts: MemoryBusOptions) {
    this.bus = createMemoryBus(opts);
  }

  get deadLetters(): DeadLetter[] {
    return this.bus.deadLetters;
  }

  publish(channel: string, env: Envelope, opts?: PublishOptions): Promise<void> {
    return this.bus.publish(channel, env, opts);
  }

  subscribe(channel: string, handler: Handler, opts: SubscribeOptions): Promise<Subscription> {
    return this.bus.subscribe(channel, handler, opts);
  }

  drain(): Promise<void> {
    return this.bus.drain();
  }

  close(): Promise<void> {
    return this.bus.close();
  }
}
