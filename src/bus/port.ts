/** The Bus port (DESIGN §2): the memory and NATS adapters both implement it and pass one contract suite. */
import type { Envelope } from '../core/envelope.js';

export interface Delivery {
  channel: string;
  /** 1 on first delivery; a handler that throws is retried up to `maxAttempts`. */
  attempt: number;
}

export type Handler = (env: Envelope, delivery: Delivery) => Promise<void>;

export interface PublishOptions {
  /**
   * Messages of one key reach an `ordered` subscription one at a time, in publish order (within a
   * priority). @default the envelope's `correlation_id`: one workflow's messages stay in order
   */
  key?: string;
}

export interface SubscribeOptions {
  /**
   * Consumers sharing a queue name split the messages of the channel between them (a NATS queue group);
   * consumers with different names each get every message.
   */
  queue: string;
  /** Messages handled at once by this subscription. @default 8 */
  concurrency?: number;
  /** Attempts before a failing message goes to `channel.dead_letter`. @default 5 */
  maxAttempts?: number;
  /**
   * The group takes the messages of one key (`PublishOptions.key`) one at a time, in publish order
   * within a priority, across all its members and processes. Every member of a group must agree.
   * @default false
   */
  ordered?: boolean;
}

export interface Subscription {
  unsubscribe(): Promise<void>;
}

export interface Bus {
  /**
   * Resolves once the bus will not lose the message: stored by a durable adapter (JetStream), handled by
   * every consumer group for the in-process one. The outbox marks a row sent only then.
   */
  publish(channel: string, env: Envelope, opts?: PublishOptions): Promise<void>;
  subscribe(channel: string, handler: Handler, opts: SubscribeOptions): Promise<Subscription>;
  /**
   * Resolves when every accepted message has been handled or dead-lettered (tests, graceful stop): on
   * the in-process bus, every message; on a broker, those of the queue groups this process serves.
   */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Sees every envelope on publish and before delivery. Signature checks and the UEBA monitor are middleware.
 * Throwing from `beforeDeliver` rejects the message (it goes to the dead-letter channel with the reason).
 */
export interface BusMiddleware {
  onPublish?(channel: string, env: Envelope): void | Promise<void>;
  beforeDeliver?(channel: string, env: Envelope, consumer: string): void | Promise<void>;
}

export interface DeadLetter {
  channel: string;
  original: Envelope;
  consumer: string | null;
  reason: string;
  attempts: number;
}
