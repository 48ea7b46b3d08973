/**
 * Where a channel's messages live on NATS JetStream. One stream per channel family (`channel.<family>.>`),
 * so a family's messages share one dedupe window and one retention. Each message's subject carries its
 * priority and the partition of its key after the channel (`channel.scheduling.request.4.3`), so a
 * consumer can filter one priority (critical first) and, for ordered groups, one partition.
 */
import type { Priority } from '../../core/envelope.js';
import { BusConfigError } from '../errors.js';

const TOKEN = /^[A-Za-z0-9_-]+$/;
/** No `_` or capitals, so one namespace's stream names can never be another's (`PITWALL-<NS>_<FAMILY>`). */
const NAMESPACE = /^[a-z0-9]+$/;

export interface Naming {
  /** Prefixes stream names (`PITWALL-<NS>_<FAMILY>`) and subjects (`<ns>.channel.…`); empty in production. */
  namespace: string;
  /** Partitions of the key space for ordered groups; every process must use the same count. */
  partitions: number;
}

export function checkNaming(n: Naming): Naming {
  if (n.namespace !== '' && (!NAMESPACE.test(n.namespace) || n.namespace === 'channel')) {
    throw new BusConfigError(`namespace must be lower-case letters and digits (and not "channel"): ${JSON.stringify(n.namespace)}`);
  }
  if (!Number.isInteger(n.partitions) || n.partitions < 1 || n.partitions > 64) {
    throw new BusConfigError('partitions must be an integer from 1 to 64');
  }
  return n;
}

function checkChannel(channel: string): string[] {
  const tokens = channel.split('.');
  if (tokens.some((t) => !TOKEN.test(t))) throw new BusConfigError(`not a channel name NATS can carry: ${JSON.stringify(channel)}`);
  return tokens;
}

/** `channel.data_analysis.request` → `data_analysis`; a channel outside `channel.` is its own first token. */
export function familyOf(channel: string): string {
  const tokens = checkChannel(channel);
  return tokens[0] === 'channel' && tokens.length > 1 ? tokens[1]! : tokens[0]!;
}

function withNamespace(n: Naming, subject: string): string {
  return n.namespace === '' ? subject : `${n.namespace}.${subject}`;
}

export function streamName(n: Naming, family: string): string {
  return `${streamPrefix(n)}${family.toUpperCase()}`;
}

/** What every stream name of the namespace starts with, and no other namespace's. */
export function streamPrefix(n: Naming): string {
  return n.namespace === '' ? 'PITWALL_' : `PITWALL-${n.namespace.toUpperCase()}_`;
}

/** What the family's stream takes in. */
export function streamSubject(n: Naming, channel: string): string {
  const tokens = checkChannel(channel);
  const head = tokens[0] === 'channel' && tokens.length > 1 ? `channel.${tokens[1]}` : tokens[0]!;
  return withNamespace(n, `${head}.>`);
}

export function messageSubject(n: Naming, channel: string, priority: Priority, partition: number): string {
  return withNamespace(n, `${channel}.${priority}.${partition}`);
}

/** An unordered lane takes every partition of one priority; an ordered lane one partition of it. */
export function laneFilter(n: Naming, channel: string, priority: Priority, partition: number | null): string {
  return withNamespace(n, `${channel}.${priority}.${partition ?? '*'}`);
}

/** The durable consumer of one lane of a queue group: every process in the group binds to the same name. */
export function durableName(queue: string, channel: string, priority: Priority, partition: number | null): string {
  if (!TOKEN.test(queue)) throw new BusConfigError(`queue must be letters, digits, _ or -: ${JSON.stringify(queue)}`);
  const lane = partition === null ? `p${priority}` : `p${priority}k${partition}`;
  return `${queue}__${checkChannel(channel).join('-')}__${lane}`;
}

/** FNV-1a: cheap, stable across processes and versions, spreads short keys (VINs, case ids) evenly. */
export function partitionOf(key: string, partitions: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % partitions;
}
