/**
 * The NATS JetStream bus (distributed mode): the bus layer over the JetStream transport, so it behaves
 * as the in-process bus does and passes the same busContract against a real nats-server (2.9 or later).
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createBus, type BusLayerOptions, type LayeredBus } from '../layer.js';
import { createJetStreamTransport, type JetStreamTransportOptions } from './jetstream-transport.js';

export interface NatsBusOptions extends Omit<BusLayerOptions, 'transport'>, Omit<JetStreamTransportOptions, 'onError'> {
  /** `nats://host:port`, or several for a cluster. Ignored when `connection` is given. */
  servers?: string | string[];
  /** An open connection to use instead; the bus then leaves it open on close. */
  connection?: NatsConnection;
  /** The connection's name, as the server's monitoring shows it. @default 'pitwall' */
  name?: string;
}

/**
 * Connects (retrying while the server restarts, for ever) and returns the bus. Streams and consumers are
 * created on first use. `close()` waits for the handlers in hand, then drains and closes the connection.
 */
export async function createNatsBus(opts: NatsBusOptions): Promise<LayeredBus> {
  const { servers, connection, name, namespace, partitions, ackWaitMs, duplicateWindowMs, maxAgeMs, pollExpiresMs, publishTimeoutMs, ...layer } =
    opts;
  if (!connection && (servers === undefined || servers.length === 0)) throw new RangeError('createNatsBus needs servers or a connection');
  const nc =
    connection ??
    (await connect({
      servers: servers!,
      name: name ?? 'pitwall',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1000,
    }));
  try {
    const transport = await createJetStreamTransport(
      nc,
      { namespace, partitions, ackWaitMs, duplicateWindowMs, maxAgeMs, pollExpiresMs, publishTimeoutMs, onError: (err) => layer.onError?.(err) },
      !connection,
    );
    return createBus({ ...layer, transport });
  } catch (err) {
    if (!connection) await nc.close();
    throw err;
  }
}

export { NATS_DEFAULTS, createJetStreamTransport, type JetStreamTransportOptions } from './jetstream-transport.js';
export { deleteNamespace } from './admin.js';
