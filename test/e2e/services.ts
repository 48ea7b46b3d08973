/**
 * A distributed deployment's own corner of the shared services (scripts/services.sh): a PostgreSQL
 * schema and a NATS namespace named for one test run, removed again afterwards, so runs never see
 * each other's workflows or messages.
 */
import { randomBytes } from 'node:crypto';
import { dropCorner } from '../../src/testing/corner.js';
import { requireService, serviceUrl } from '../../src/testing/services.js';

export interface DistributedCorner {
  busUrl: string;
  dbUrl: string;
  env: NodeJS.ProcessEnv;
  /** The namespace and schema name. */
  id: string;
  remove(): Promise<void>;
}

/** Whether PostgreSQL and NATS answer (fails under CI=true when one does not; see requireService). */
export async function distributedServicesUp(): Promise<boolean> {
  const [db, bus] = await Promise.all([requireService('pg'), requireService('nats')]);
  return db && bus;
}

export function distributedCorner(): DistributedCorner {
  const id = `e2e${randomBytes(5).toString('hex')}`;
  const pgUrl = serviceUrl('pg');
  const dbUrl = `${pgUrl}${pgUrl.includes('?') ? '&' : '?'}schema=${id}`;
  const busUrl = serviceUrl('nats');
  return {
    id,
    busUrl,
    dbUrl,
    env: { PITWALL_BUS_NAMESPACE: id },
    remove: () => dropCorner(pgUrl, busUrl, id),
  };
}
