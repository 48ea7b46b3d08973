/**
 * Logs go to a file (or stderr), JSON lines, with customer contact details redacted: a log is read by
 * more people than the customer agreed to share their e-mail and phone with.
 */
import pino, { type Logger } from 'pino';

export const REDACTED_PATHS = ['*.email', '*.phone', '*.owner', '*.customer.email', '*.customer.phone', 'customer', 'email', 'phone'];

export function createLogger(level: string, file?: string): Logger {
  const destination = file ? pino.destination({ dest: file, mkdir: true, sync: false }) : pino.destination(2);
  return pino({ level, redact: { paths: REDACTED_PATHS, censor: '[redacted]' }, base: { pid: process.pid } }, destination);
}
