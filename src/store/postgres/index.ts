/**
 * The PostgreSQL adapter's entry, imported on its own (and lazily by the composition root) so the
 * embedded mode never loads `pg`.
 */
export { createPostgresStore, DEFAULT_POOL_SIZE, DEFAULT_SCHEMA } from './postgres-store.js';
export type { PostgresStoreOptions } from './postgres-store.js';
