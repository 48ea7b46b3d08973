/**
 * The thin port under the bus layer (DESIGN §2): moves envelopes to the consumers of a queue group and
 * takes back each one's outcome. Everything else a bus does (signatures and the other middleware, TTL,
 * attempts and dead letters, critical-first order) is the layer's, written once in layer.ts, so the
 * in-process transport and NATS JetStream behave alike.
 */
import type { Envelope, Priority } from '../core/envelope.js';

/** The order the layer asks for messages in: critical first. */
export const PRIORITIES_HIGH_FIRST: readonly Priority[] = [4, 3, 2, 1];

export interface TransportPublish {
  /** A second publish of the same id (within the transport's window) is taken once. The envelope's `message_id`. */
  msgId: string;
  priority: Priority;
  /** Messages of one key reach an ordered consumer group one at a time, in publish order (within a priority). */
  key: string;
}

export interface ConsumerSpec {
  /** The queue group: consumers of one group share the channel's messages; each group gets them all. */
  queue: string;
  /** Whether the group takes the messages of one key one at a time, in order. Every member must agree. */
  ordered: boolean;
  /** Deliveries after which the layer gives a message up (the transport may stop redelivering a little later). */
  maxAttempts: number;
}

/** One delivered message, held by the layer until it settles it exactly once. */
export interface TransportMessage {
  readonly envelope: Envelope;
  /** 1 on the first delivery to this group, one more on each redelivery. */
  readonly deliveryCount: number;
  /** Done: never deliver it to this group again. */
  ack(): void;
  /** Failed: deliver it again (to any member of the group) after `delayMs` real milliseconds. */
  nak(delayMs: number): void;
  /** Given up (the layer has dead-lettered it): never deliver it again. */
  term(): void;
}

export interface TransportConsumer {
  /**
   * Up to `max` messages of `priority` that are waiting now; never waits for more to arrive. An array
   * when the answer is at hand (the in-process transport), so a message can be handed over in the same
   * turn it was published.
   */
  take(priority: Priority, max: number): TransportMessage[] | Promise<TransportMessage[]>;
  /** Nothing was waiting at any priority: call `ready` once messages may be waiting again. */
  listen(): void;
  /** Takes nothing more. Messages already taken stay with the layer to settle. */
  close(): Promise<void>;
}

export interface Transport {
  /**
   * Every consumer lives in this process (the memory transport). Publish then resolves only after the
   * consumers settled the message, and drain/close wait for the whole bus; a durable transport's publish
   * resolves once the message is stored, and its close waits only for this process's handlers.
   */
  readonly inProcess: boolean;
  /**
   * Resolves once the transport will not lose the message. An in-process transport has accepted it
   * (queued it for each group) before this returns, even though the promise settles later.
   */
  publish(channel: string, env: Envelope, opts: TransportPublish): Promise<void>;
  /** Joins `spec.queue` on `channel`; `ready` is called whenever messages may be waiting to be taken. */
  consume(channel: string, spec: ConsumerSpec, ready: () => void): Promise<TransportConsumer>;
  /** Resolves when nothing accepted is still to be delivered or settled (for the groups this process serves). */
  drain(): Promise<void>;
  close(): Promise<void>;
}
