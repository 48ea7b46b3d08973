/** Shared HTTP plumbing of the mock APIs: error bodies, input parsing, and a never-500 error handler. */
import type { FastifyInstance, FastifyReply } from 'fastify';

export interface ErrorBody {
  error: string;
  message: string;
  field?: string;
}

export class InputError extends Error {
  readonly code = 'invalid_request';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'InputError';
  }
}

export function sendError(reply: FastifyReply, status: number, error: string, message: string, field?: string): FastifyReply {
  const body: ErrorBody = field === undefined ? { error, message } : { error, message, field };
  return reply.status(status).send(body);
}

/**
 * Malformed JSON, wrong content type and thrown InputErrors become 4xx bodies naming the field; anything
 * else is logged and still answered (500 only for a genuine bug, never for client input).
 */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((err: unknown, req, reply) => {
    if (err instanceof InputError) return sendError(reply, 400, 'invalid_request', err.message, err.field);
    const e = err as { statusCode?: number; message?: string };
    const status = typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500 ? e.statusCode : 500;
    if (status === 500) {
      req.log.error({ err }, 'unhandled error in mock API');
      return sendError(reply, 500, 'internal', 'internal error');
    }
    return sendError(reply, status, 'invalid_request', e.message ?? 'invalid request', 'body');
  });
  app.setNotFoundHandler((req, reply) => sendError(reply, 404, 'not_found', `no route ${req.method} ${req.url.split('?')[0]}`));
}

/** ISO-8601 date-time or epoch milliseconds. */
export function parseTime(value: unknown, field: string): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'string' && value !== '') {
    const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
    if (Number.isFinite(ms)) return ms;
  }
  throw new InputError(field, `${field} must be an ISO-8601 date-time (or epoch milliseconds)`);
}

export function optionalTime(value: unknown, field: string, fallback: number): number {
  return value === undefined ? fallback : parseTime(value, field);
}

export function parseLimit(value: unknown, field: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > max) throw new InputError(field, `${field} must be an integer from 1 to ${max}`);
  return n;
}

export function asObject(value: unknown, field = 'body'): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InputError(field, `${field} must be a JSON object`);
  }
  return value as Record<string, unknown>;
}

export function requireString(obj: Record<string, unknown>, field: string, maxLength = 2000): string {
  const v = obj[field];
  if (typeof v !== 'string' || v.trim() === '') throw new InputError(field, `${field} is required and must be a non-empty string`);
  if (v.length > maxLength) throw new InputError(field, `${field} must be at most ${maxLength} characters`);
  return v;
}

export function optionalString(obj: Record<string, unknown>, field: string, maxLength = 2000): string | undefined {
  return obj[field] === undefined || obj[field] === null ? undefined : requireString(obj, field, maxLength);
}

export function requireOneOf<T extends string>(obj: Record<string, unknown>, field: string, allowed: readonly T[]): T {
  const v = obj[field];
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new InputError(field, `${field} must be one of: ${allowed.join(', ')}`);
  }
  return v as T;
}

/** Offset cursors: opaque to clients, but a plain index here. */
export function parseCursor(value: unknown, size: number): number {
  if (value === undefined || value === '') return 0;
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n > size) throw new InputError('cursor', 'cursor is not one this API returned');
  return n;
}
