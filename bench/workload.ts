/** A realistic workload for the benchmarks: vehicles going through a whole case, and their samples. */
import { DAY, HOUR } from '../src/core/clock.js';
import { decide } from '../src/core/decider.js';
import { correlationIdFor } from '../src/core/ids.js';
import type { AnalysisResult } from '../src/core/payloads.js';
import { SIGNALS, type TelemetrySampleWire } from '../src/core/telemetry.js';
import { newWorkflow, type Workflow, type WorkflowEvent } from '../src/core/workflow.js';
import { commitOf } from '../src/orchestrator/applier.js';
import type { DecisionCommit } from '../src/store/port.js';

/** The benchmarks' virtual start of time. */
export const T0 = Date.parse('2026-06-01T00:00:00Z');

const ALPHABET = 'ABCDEFGHJKLMNPRSTUVWXYZ0123456789';

export function vinOf(i: number): string {
  let s = '';
  let n = i;
  for (let k = 0; k < 8; k++) {
    s = ALPHABET[n % ALPHABET.length]! + s;
    n = Math.floor(n / ALPHABET.length);
  }
  return `1PWBENCH0${s}`;
}

export function sampleOf(vin: string, ts: number, i: number): TelemetrySampleWire {
  const signals: Record<string, number> = {
    [SIGNALS.speed]: 40 + (i % 60),
    [SIGNALS.odometer]: 20_000 + i,
    [SIGNALS.engineSpeed]: 1800 + (i % 900),
    [SIGNALS.coolantTemp]: 88 + (i % 5),
    [SIGNALS.oilTemp]: 95 + (i % 6),
    [SIGNALS.oilPressure]: 300 + (i % 40),
    [SIGNALS.transmissionTemp]: 80 + (i % 7),
    [SIGNALS.batteryVoltage]: 13.9 + (i % 4) / 10,
  };
  for (const p of SIGNALS.tyrePressure) signals[p] = 235 + (i % 5);
  for (const p of SIGNALS.padWear) signals[p] = 30 + (i % 20);
  return { vin, timestamp: new Date(ts).toISOString(), signals, dtcs: [] };
}

function analysis(vin: string, days: number): AnalysisResult {
  return {
    vin,
    anomalies: [],
    predicted_failures: [{ component: 'brakes', mode: 'pad_wear', probability: 0.9, days_to_failure: days }],
    predicted_days_to_failure: days,
    failure_probability: 0.9,
    confidence: 0.8,
    samples_analyzed: 100,
    model_version: 'bench',
  };
}

/**
 * The events of one whole case, in order (idle → … → completed: 9 transitions in 7 events).
 * Events that need ids from the workflow are built from it when the step runs.
 */
export const LIFECYCLE: readonly ((wf: Workflow, now: number) => WorkflowEvent)[] = [
  () => ({ type: 'cycle_started' }),
  (wf, now) => ({ type: 'telemetry_received', samples: [sampleOf(wf.vin, now - HOUR, 1)] }),
  (wf) => ({ type: 'analysis_result', result: analysis(wf.vin, 3) }),
  (wf, now) => ({
    type: 'customer_response',
    response: { vin: wf.vin, correlation_id: wf.correlationId, decision: 'accept', responded_at: new Date(now).toISOString() },
  }),
  (wf, now) => ({
    type: 'scheduling_result',
    result: {
      vin: wf.vin,
      ok: true,
      appointment: {
        appointment_id: `apt-${wf.vin}`,
        center_id: 'c1',
        start: new Date(now + DAY).toISOString(),
        end: new Date(now + DAY + 2 * HOUR).toISOString(),
        bay: 1,
        components: ['brakes'],
      },
    },
  }),
  (wf, now) => ({
    type: 'service_completed',
    report: {
      vin: wf.vin,
      appointment_id: `apt-${wf.vin}`,
      completed_at: new Date(now).toISOString(),
      findings: [{ component: 'brakes', finding: 'confirmed' }],
    },
  }),
  (wf, now) => ({
    type: 'feedback_received',
    feedback: { vin: wf.vin, correlation_id: wf.correlationId, rating: 5, received_at: new Date(now).toISOString() },
  }),
];

export const TRANSITIONS_PER_LIFECYCLE = 9;

export function cidOf(vin: string, now: number): string {
  return correlationIdFor(vin, now);
}

/**
 * The commits of whole cases for `n` vehicles (`vinOf(offset)` on), in the order a shell would make
 * them: one array per lifecycle step. Distinct offsets give distinct vehicles, cases and message ids.
 */
export function buildCommits(n: number, offset: number): DecisionCommit[][] {
  const wfs = Array.from({ length: n }, (_, i) => {
    const vin = vinOf(offset + i);
    return newWorkflow(vin, cidOf(vin, T0 + offset), T0);
  });
  let msg = 0;
  return LIFECYCLE.map((step, s) => {
    const now = T0 + (s + 1) * 1000;
    return wfs.map((wf, i) => {
      const d = decide(wf, step(wf, now), now);
      wfs[i] = d.workflow;
      return commitOf(wf, d, now, { inboundId: `in-${offset}-${msg++}` }, () => `m-${offset}-${msg++}`);
    });
  });
}
