/** Public entry of the store: the ports' types, the adapters' factories, cursors and errors. */
export { createSqliteStore, DEFAULT_BUSY_TIMEOUT_MS, SQLITE_CACHE_KIB } from './sqlite/sqlite-store.js';
export { QUARANTINE_RAW_MAX_CHARS } from './sql-store.js';
export {
  InvalidCursorError,
  StoreArgumentError,
  StoreErrorCodes,
  isInvalidCursor,
  isStoreArgumentError,
} from './errors.js';
export { timerInboundId } from './timer-inbound.js';
export { rejectedCounter } from './port.js';
export { decodeCursor, decodeLabelCursor, encodeCursor, encodeLabelCursor } from './cursor.js';

export type { SqliteStoreOptions } from './sqlite/sqlite-store.js';
// The PostgreSQL adapter is imported from './postgres/index.js', lazily, so the embedded mode never loads pg.
export type { PostgresStoreOptions } from './postgres/index.js';
export type { StoreErrorCode } from './errors.js';
export type { FiredTimerKey } from './timer-inbound.js';
export type { CursorPosition, LabelCursorPosition } from './cursor.js';
export type {
  CommitOutcome,
  CounterStore,
  DecisionCommit,
  FiredTimer,
  LabelCounts,
  LabelStore,
  LabelPage,
  LabelQuery,
  MetaStore,
  OutboxRow,
  OutboxStore,
  PurgeResult,
  QuarantineResult,
  QuarantineStore,
  QuarantinedSample,
  RetentionStore,
  Store,
  StoreLifecycle,
  TimerChange,
  TimerRow,
  TimerStore,
  TransitionQuery,
  VehicleRow,
  VehicleStore,
  WorkflowFilter,
  WorkflowPage,
  WorkflowStore,
} from './port.js';
