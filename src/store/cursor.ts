/**
 * The opaque workflow-listing cursor shared by every adapter: base64url of `[created_at, correlation_id]`
 * of the last item on a page. Both fields never change, so a cursor stays valid while workflows move.
 */
import { InvalidCursorError, StoreArgumentError } from './errors.js';

export interface CursorPosition {
  createdAt: number;
  correlationId: string;
}

export function encodeCursor(pos: CursorPosition): string {
  return Buffer.from(JSON.stringify([pos.createdAt, pos.correlationId]), 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): CursorPosition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch (err) {
    throw new InvalidCursorError({ cause: err });
  }
  if (!Array.isArray(parsed) || parsed.length !== 2) throw new InvalidCursorError();
  const [createdAt, correlationId] = parsed as unknown[];
  if (typeof createdAt !== 'number' || !Number.isFinite(createdAt) || typeof correlationId !== 'string') {
    throw new InvalidCursorError();
  }
  return { createdAt, correlationId };
}

/** Where a label listing stopped: the (serviced_at, correlation_id, component) of the last label on a page. */
export interface LabelCursorPosition {
  servicedAt: number;
  correlationId: string;
  component: string;
}

/** base64url of `["label", serviced_at, correlation_id, component]`; the tag keeps the two listings' cursors apart. */
export function encodeLabelCursor(pos: LabelCursorPosition): string {
  return Buffer.from(JSON.stringify(['label', pos.servicedAt, pos.correlationId, pos.component]), 'utf8').toString(
    'base64url',
  );
}

export function decodeLabelCursor(cursor: string): LabelCursorPosition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch (err) {
    throw new InvalidCursorError({ cause: err });
  }
  if (!Array.isArray(parsed) || parsed.length !== 4) throw new InvalidCursorError();
  const [tag, servicedAt, correlationId, component] = parsed as unknown[];
  if (
    tag !== 'label' ||
    typeof servicedAt !== 'number' ||
    !Number.isFinite(servicedAt) ||
    typeof correlationId !== 'string' ||
    typeof component !== 'string'
  ) {
    throw new InvalidCursorError();
  }
  return { servicedAt, correlationId, component };
}

/** Page sizes are whole numbers from 1; larger requests are served in pages of at most `max`. */
export function pageLimit(limit: number, max = 1000): number {
  if (!Number.isInteger(limit) || limit < 1)
    throw new StoreArgumentError(`limit must be an integer >= 1, got ${limit}`);
  return Math.min(limit, max);
}
