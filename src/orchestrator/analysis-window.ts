/**
 * The telemetry an analysis request carries is a bounded window (DESIGN: messages stay under the broker's
 * limits): the vehicle's most recent samples whose encoding fits a byte budget, not its whole history. The
 * analysis agent remembers each vehicle between requests (daily levels, its learned normal), so older
 * samples that no longer fit were seen by an earlier request; a window of the latest ones loses nothing
 * the next prediction needs.
 */
import { MAX_ANALYSIS_SAMPLE_BYTES } from '../core/payloads.js';
import { sampleToWire, type TelemetrySample, type TelemetrySampleWire } from '../core/telemetry.js';

/**
 * The most recent samples whose JSON array fits `maxBytes`, oldest first, in wire form. Only the samples
 * kept are encoded (and each once), so a long history costs what the window holds, not what was fetched.
 */
export function analysisWindow(
  samples: readonly TelemetrySample[],
  maxBytes: number = MAX_ANALYSIS_SAMPLE_BYTES,
): TelemetrySampleWire[] {
  const byTime = [...samples].sort((a, b) => a.ts - b.ts);
  const kept: TelemetrySampleWire[] = [];
  // `[` and `]`, then each sample and the comma before all but the first.
  let bytes = 2;
  for (let i = byTime.length - 1; i >= 0; i--) {
    const wire = sampleToWire(byTime[i]!);
    const size = Buffer.byteLength(JSON.stringify(wire)) + (kept.length > 0 ? 1 : 0);
    if (bytes + size > maxBytes) break;
    bytes += size;
    kept.push(wire);
  }
  return kept.reverse();
}
