/** What tests of the running loop share: its options over in-memory parts, and waiting for its ticks. */
import { keyRingFromSecret } from '../../bus/signing.js';
import type { AnalysisResult } from '../../core/payloads.js';
import type { OrchestratorOptions } from '../options.js';

export const TEST_KEYS = keyRingFromSecret('test-secret-0123456789');

/** A loop over the given store, bus, clock and telematics, ticking fast; nothing reaches the network. */
export function testLoopOptions(
  deps: Pick<OrchestratorOptions, 'store' | 'bus' | 'clock' | 'telematicsClient'>,
  over: Partial<OrchestratorOptions> = {},
): OrchestratorOptions {
  return {
    telematicsApiUrl: 'http://127.0.0.1:1',
    schedulerApiUrl: 'http://127.0.0.1:1',
    keys: TEST_KEYS,
    tickMs: 2,
    minPollGapMs: 0,
    ...deps,
    ...over,
  };
}

/** Waits (briefly, in real time) for the loop's own ticks to reach a state; the clock only moves when told. */
export async function until<T>(check: () => Promise<T | null | undefined | false>, what: string): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const v = await check();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`not reached: ${what}`);
}

/** An analysis result for `vin` that predicts worn brake pads in 3 days (a high-urgency case). */
export function brakesDueResult(vin: string, extra: Partial<AnalysisResult> = {}): AnalysisResult {
  return {
    vin,
    anomalies: [],
    predicted_failures: [{ component: 'brakes', mode: 'pad_wear', probability: 0.9, days_to_failure: 3 }],
    predicted_days_to_failure: 3,
    failure_probability: 0.9,
    confidence: 0.8,
    samples_analyzed: 10,
    model_version: 'test',
    ...extra,
  };
}
