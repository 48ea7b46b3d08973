/**
 * Removing what one test or bench run made on the shared services (DESIGN §8): its PostgreSQL schema
 * and its NATS namespace's streams. Runs name both after one id, so they never see each other's data.
 */
import { connect } from '@nats-io/transport-node';
import pg from 'pg';
import { deleteNamespace } from '../bus/nats/index.js';

/** Drops the schema and everything in it; a schema that does not exist is fine. */
export async function dropSchema(pgUrl: string, schema: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(schema)) throw new RangeError(`not a schema name this project makes: ${JSON.stringify(schema)}`);
  const client = new pg.Client({ connectionString: pgUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** Deletes the namespace's streams (and with them its consumers and messages). */
export async function dropNamespace(natsUrl: string, namespace: string): Promise<void> {
  const nc = await connect({ servers: natsUrl.split(',') });
  try {
    await deleteNamespace(nc, namespace);
  } finally {
    await nc.close();
  }
}

/** Both, for a run that named its schema and its namespace alike. */
export async function dropCorner(pgUrl: string, natsUrl: string, id: string): Promise<void> {
  await dropSchema(pgUrl, id);
  await dropNamespace(natsUrl, id);
}
