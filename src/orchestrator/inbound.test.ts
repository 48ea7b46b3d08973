import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/clocks.js';
import { AGENTS } from '../core/envelope.js';
import { EnvelopeFactory } from '../bus/signing.js';
import { TEST_KEYS } from './testing/loop.js';
import { toEvent } from './inbound.js';

const VIN = '1HGCM82633A004352';
const clock = new ManualClock(Date.parse('2026-05-04T08:00:00Z'));
const analysis = EnvelopeFactory.fromKeyRing(AGENTS.dataAnalysis, TEST_KEYS, clock);
const result = (extra: Record<string, unknown> = {}) =>
  analysis.create({
    messageType: 'analysis_result',
    receiver: AGENTS.orchestrator,
    correlationId: 'workflow-1',
    payload: { vin: VIN, anomalies: [], predicted_failures: [], predicted_days_to_failure: null, ...extra },
  });

describe('inbound analysis results', () => {
  it('hands the vehicle’s memory to the shell and keeps it out of the event the decider stores', () => {
    const inbound = toEvent(result({ memory: 'h1.layout.state' }));
    expect(inbound).toMatchObject({ ok: true, vin: VIN, analysisMemory: 'h1.layout.state' });
    if (!inbound.ok || inbound.event.type !== 'analysis_result') throw new Error('not an analysis result');
    expect(inbound.event.result).not.toHaveProperty('memory');
    expect(toEvent(result({ memory: null }))).toMatchObject({ ok: true, analysisMemory: null });
    expect(toEvent(result())).not.toHaveProperty('analysisMemory');
  });

  it('refuses a memory that is not a snapshot string', () => {
    expect(toEvent(result({ memory: 7 }))).toEqual({ ok: false, reason: expect.stringMatching(/memory must be null or a snapshot string/) });
    expect(toEvent(result({ memory: 'x'.repeat(70_000) }))).toMatchObject({ ok: false });
  });
});
