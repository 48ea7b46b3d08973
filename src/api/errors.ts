/**
 * Every error the API answers has one shape, `{error, field?, message}`: `error` is a stable code of
 * ours (never a Fastify internal one such as `FST_ERR_CTP_INVALID_MEDIA_TYPE`, which means nothing to a
 * client), `field` the input at fault, and `message` says what to send instead.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifySchemaValidationError } from 'fastify';

export interface ErrorReply {
  error: string;
  field?: string;
  message: string;
}

export interface ClientError {
  status: number;
  body: ErrorReply;
}

export const JSON_BODY = 'the body must be a JSON object (Content-Type: application/json)';

/** The JSON Schema keywords read here to say in words what a field accepts. */
export interface FieldSchema {
  type?: string | string[];
  enum?: readonly unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  maxItems?: number;
  format?: string;
  pattern?: string;
  description?: string;
  properties?: Record<string, FieldSchema>;
  anyOf?: FieldSchema[];
}

/** What a value of this schema looks like, e.g. "an integer from 1 to 500", to follow "must be". */
export function accepted(schema: FieldSchema | undefined): string {
  if (!schema) return 'a valid value';
  if (schema.enum) return `one of ${schema.enum.map(String).join(', ')}`;
  if (schema.anyOf) return schema.anyOf.map(accepted).join(' or ');
  const range = (what: string, unit = '') => {
    const { minimum: lo, maximum: hi } = schema;
    if (lo !== undefined && hi !== undefined) return `${what} from ${lo} to ${hi}${unit}`;
    if (lo !== undefined) return `${what} of at least ${lo}${unit}`;
    if (hi !== undefined) return `${what} of at most ${hi}${unit}`;
    return what;
  };
  switch (schema.type) {
    case 'integer':
      return range('an integer');
    case 'number':
      return range('a number');
    case 'boolean':
      return 'true or false';
    case 'array':
      return schema.maxItems !== undefined ? `an array of at most ${schema.maxItems} items` : 'an array';
    case 'object':
      return 'a JSON object';
    case 'string': {
      // A formatted or patterned string is best said by its description ("a 17-character VIN …").
      if ((schema.format || schema.pattern) && schema.description) return schema.description;
      if (schema.format) return `a ${schema.format} string`;
      const { minLength: lo, maxLength: hi } = schema;
      if (lo !== undefined && hi !== undefined) return `a string of ${lo} to ${hi} characters`;
      if (hi !== undefined) return `a string of at most ${hi} characters`;
      if (lo !== undefined) return `a string of at least ${lo} characters`;
      return 'a string';
    }
    default:
      return 'a valid value';
  }
}

/** The value received, shown briefly: short values as JSON, long ones and containers by kind. */
function shown(data: unknown): string {
  if (Array.isArray(data)) return 'an array';
  if (data !== null && typeof data === 'object') return 'an object';
  if (typeof data === 'string' && data.length > 40) return `a string of ${data.length} characters`;
  return JSON.stringify(data) ?? String(data);
}

/** Ajv's error with `verbose: true`: the schema that failed and the value it failed on. */
interface VerboseError extends FastifySchemaValidationError {
  parentSchema?: FieldSchema;
  data?: unknown;
}

/** The 400 for input that does not match its schema (body, query string or path). */
export function validationError(err: Pick<FastifyError, 'validation' | 'validationContext'>): ClientError {
  const v = (err.validation?.[0] ?? { keyword: '', instancePath: '', schemaPath: '', params: {} }) as VerboseError;
  const context = err.validationContext ?? 'body';
  const at = v.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const under = (name: string) => (at ? `${at}.${name}` : name);
  const properties = v.parentSchema?.properties ?? {};
  const invalid = (field: string, message: string): ClientError => ({ status: 400, body: { error: 'invalid_request', field, message } });

  const extra = v.params['additionalProperty'];
  if (typeof extra === 'string') {
    const names = Object.keys(properties);
    const what = context === 'querystring' ? 'query parameter' : 'field';
    return invalid(under(extra), `unknown ${what} ${under(extra)}; accepted: ${names.length > 0 ? names.join(', ') : 'none'}`);
  }
  const missing = v.params['missingProperty'];
  if (typeof missing === 'string') {
    return invalid(under(missing), `${under(missing)} is required: ${accepted(properties[missing])}`);
  }
  if (!at && context === 'body') return invalid('body', `${JSON_BODY}; got ${v.data === null || v.data === undefined ? 'none' : shown(v.data)}`);
  const field = at || context;
  if (!v.parentSchema) return invalid(field, `${field} ${v.message ?? 'is invalid'}`);
  return invalid(field, `${field} must be ${accepted(v.parentSchema)} (got ${shown(v.data)})`);
}

/** Fastify's client errors in our words. */
const FASTIFY_ERRORS: Record<string, (ctx: ErrorContext, err: Pick<FastifyError, 'message'>) => ClientError> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ({ contentType }) => ({
    status: 415,
    body: { error: 'unsupported_media_type', message: `${JSON_BODY}; got ${contentType ? `Content-Type ${contentType}` : 'no Content-Type'}` },
  }),
  FST_ERR_ROUTE_MISSING_CONTENT_TYPE: () => ({
    status: 415,
    body: { error: 'unsupported_media_type', message: `${JSON_BODY}; got no Content-Type` },
  }),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => ({
    status: 400,
    body: { error: 'invalid_json', field: 'body', message: `the body is empty; ${JSON_BODY}` },
  }),
  FST_ERR_CTP_INVALID_JSON_BODY: () => ({
    status: 400,
    body: { error: 'invalid_json', field: 'body', message: `the body is not valid JSON (check quotes, commas and brackets); ${JSON_BODY}` },
  }),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => ({
    status: 400,
    body: { error: 'invalid_request', message: 'the Content-Length header does not match the length of the body sent' },
  }),
  FST_ERR_CTP_BODY_TOO_LARGE: ({ bodyLimit }) => ({
    status: 413,
    body: { error: 'body_too_large', field: 'body', message: `the body is larger than ${bodyLimit ?? 'the limit of'} bytes` },
  }),
  FST_ERR_BAD_URL: () => ({ status: 400, body: { error: 'invalid_url', message: 'the URL is not valid: check its percent-encoding' } }),
  FST_ERR_INVALID_URL: () => ({ status: 400, body: { error: 'invalid_url', message: 'the URL is not valid' } }),
  FST_ERR_MAX_PARAM_LENGTH: () => ({ status: 414, body: { error: 'uri_too_long', message: 'a path segment of the URL is too long' } }),
  FST_ERR_NOT_FOUND: () => ({ status: 404, body: { error: 'not_found', message: 'no such resource' } }),
  // Only without its list of errors (which validationError reads): never expected, but still ours.
  FST_ERR_VALIDATION: (_ctx, err) => ({ status: 400, body: { error: 'invalid_request', message: `the request is not valid: ${err.message}` } }),
};

export interface ErrorContext {
  /** The request's Content-Type header, to say what was sent instead of JSON. */
  contentType?: string | undefined;
  bodyLimit?: number;
}

/** Our codes are snake_case words; anything else (FST_…, ECONN…) is someone else's and not shown. */
const OUR_CODE = /^[a-z][a-z0-9_]*$/;

/** `Method Not Allowed` → `method_not_allowed`. */
const codeFor = (status: number) => (STATUS_CODES[status] ?? 'bad request').toLowerCase().replace(/[^a-z0-9]+/g, '_');

/**
 * A client error (4xx) raised by Fastify or a plugin, in our shape; null for a server error (5xx) or an
 * error that carries no status, which the caller answers as internal.
 */
export function clientError(err: Pick<FastifyError, 'code' | 'message' | 'statusCode' | 'validation' | 'validationContext'>, ctx: ErrorContext = {}): ClientError | null {
  if (err.validation && err.validation.length > 0) return validationError(err);
  const known = err.code ? FASTIFY_ERRORS[err.code] : undefined;
  if (known) return known(ctx, err);
  const status = err.statusCode ?? 500;
  if (status < 400 || status >= 500) return null;
  const error = err.code && OUR_CODE.test(err.code) ? err.code : codeFor(status);
  return { status, body: { error, message: err.message || STATUS_CODES[status] || 'bad request' } };
}

/**
 * An HTTP request too malformed to reach Fastify (a broken request line, headers too large) is answered
 * on the socket directly; in our shape too, as Fastify's default answers `{"error":"Bad Request",…}`.
 */
export function answerMalformedHttp(err: Error & { code?: string }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, reply]: [number, ErrorReply] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, { error: 'request_timeout', message: 'the request did not arrive in time' }]
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, { error: 'headers_too_large', message: 'the request headers are too large' }]
        : [400, { error: 'malformed_http', message: 'the request is not valid HTTP/1.1' }];
  const body = JSON.stringify(reply);
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(err);
}
