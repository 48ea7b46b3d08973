/** Housekeeping on a NATS server: tests and tools remove the streams of their namespace when done. */
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { checkNaming, streamPrefix } from './names.js';

/** Deletes every stream (and with them their consumers) of a namespace; returns their names. */
export async function deleteNamespace(nc: NatsConnection, namespace: string): Promise<string[]> {
  if (namespace === '') throw new RangeError('refusing to delete the streams of the default namespace');
  const prefix = streamPrefix(checkNaming({ namespace, partitions: 1 }));
  const jsm = await jetstreamManager(nc);
  const names: string[] = [];
  for await (const name of jsm.streams.names()) if (name.startsWith(prefix)) names.push(name);
  for (const name of names) await jsm.streams.delete(name);
  return names;
}
