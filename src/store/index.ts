/** Public entry of the store: the port's types, the SQLite adapter's factory, cursors and errors. */
export {
  createSqliteStore,
  DEFAULT_BUSY_TIMEOUT_MS,
  QUARANTINE_RAW_MAX_CHARS,
  SQLITE_CACHE_KIB,
} from './sqlite/sqlite-store.js';
export {
  InvalidCursorError,
  StoreArgumentError,
  StoreErrorCodes,
  isInvalidCursor,
  isStoreArgumentError,
} from './errors.js';
export { parseTimerInboundId, timerInboundId } from './timer-inbound.js';
export { rejectedCounter } from './port.js';
export { decodeCursor, decodeLabelCursor, encodeCursor, encodeLabelCursor } from './cursor.js';

export type { SqliteStoreOptions } from './sqlite/sqlite-store.js';
export type { StoreErrorCode } from './errors.js';
export type { FiredTimerKey } from './timer-inbound.js';
export type { CursorPosition, LabelCursorPosition } from './cursor.js';
export type {
  CommitOutcome,
  DecisionCommit,
  LabelCounts,
  LabelPage,
  LabelQuery,
  OutboxRow,
  PurgeResult,
  QuarantineResult,
  QuarantinedSample,
  Store,
  TimerChange,
  TimerRow,
  TransitionQuery,
  VehicleRow,
  WorkflowFilter,
  WorkflowPage,
} from './port.js';
