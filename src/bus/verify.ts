/** Bus middleware that refuses any envelope whose signature does not verify with its sender's key. */
import type { BusMiddleware } from './port.js';
import { verifyEnvelope, type KeyRing } from './signing.js';

export class SignatureError extends Error {
  readonly code = 'PW_BAD_SIGNATURE';
  constructor(reason: string) {
    super(reason);
    this.name = 'SignatureError';
  }
}

export function signatureMiddleware(keys: KeyRing, onReject?: (reason: string) => void): BusMiddleware {
  return {
    beforeDeliver(_channel, env) {
      const r = verifyEnvelope(env, keys);
      if (!r.ok) {
        onReject?.(r.reason);
        throw new SignatureError(r.reason);
      }
    },
  };
}
