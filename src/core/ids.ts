/** Correlation id of a workflow: `workflow-{vin}-{epoch_ms}` (the seed's format). */
export function correlationIdFor(vin: string, epochMs: number): string {
  return `workflow-${vin}-${epochMs}`;
}

/**
 * Formats a UUIDv7 (RFC 9562) from a millisecond timestamp and 10 random bytes.
 * Pure: the caller supplies time and randomness, so ids stay testable and the core stays I/O-free.
 */
export function formatUuidV7(epochMs: number, random: Uint8Array): string {
  if (random.length < 10) throw new RangeError('formatUuidV7 needs 10 random bytes');
  const b = new Uint8Array(16);
  let ms = Math.floor(epochMs);
  for (let i = 5; i >= 0; i--) {
    b[i] = ms % 256;
    ms = Math.floor(ms / 256);
  }
  b.set(random.subarray(0, 10), 6);
  b[6] = 0x70 | ((b[6] ?? 0) & 0x0f);
  b[8] = 0x80 | ((b[8] ?? 0) & 0x3f);
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export const VIN_PATTERN = /^[A-HJ-NPR-Z0-9]{17}$/;

export function isVin(v: unknown): v is string {
  return typeof v === 'string' && VIN_PATTERN.test(v);
}
