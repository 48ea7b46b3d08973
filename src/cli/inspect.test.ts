import { describe, expect, it } from 'vitest';
import type { AnalysisResult } from '../core/payloads.js';
import type { WorkflowStatus } from '../orchestrator/status.js';
import { formatStatus } from './inspect.js';

// eslint-disable-next-line no-control-regex
const plain = (s: string): string => s.replace(/\u001b\[[0-9;]*m/g, '');

const analysis: AnalysisResult = {
  vin: 'PWMAS1E22JA100049',
  anomalies: [],
  predicted_failures: [
    {
      component: 'engine_oil',
      mode: 'low_oil_pressure',
      probability: 0.9,
      days_to_failure: 15.2,
      days_to_failure_low: 12.37,
      days_to_failure_high: 19.7,
      evidence: [
        'CombustionEngine.EOP at 2000 rpm trending -9.897 kPa/day over 7 days (r²=0.94), now 240.4 kPa, limit 100 kPa in 14.2 days',
        "CombustionEngine.EOP at 2000 rpm 59.71 kPa below this vehicle's own normal of 300.85 ± 5.6 kPa (learned over 14 days)",
      ],
    },
  ],
  predicted_days_to_failure: 15.2,
  failure_probability: 0.9,
  confidence: 1,
  samples_analyzed: 336,
  model_version: 'rules-trend-1.0',
  data_quality: { samples_received: 340, samples_used: 336, excluded: { future_timestamp: 4, spike: 7 }, signals_stuck: ['Vehicle.Speed'], gaps: 2, coverage_days: 15 },
};

const status: WorkflowStatus = {
  vin: 'PWMAS1E22JA100049',
  state: 'engaging_customer',
  urgency_level: 'medium',
  correlation_id: 'workflow-PWMAS1E22JA100049-1',
  last_update: '2026-12-04T21:36:07.621Z',
  retry_count: 0,
  error_count: 0,
  state_history: [{ from_state: 'analyzing_data', to_state: 'assessing_urgency', timestamp: '2026-12-04T21:36:07.621Z', reason: 'analysis received: medium' }],
  state_history_total: 1,
  analysis_result: analysis,
  customer_response: null,
  appointment: null,
  feedback: null,
  outcome: null,
  service_report: null,
  last_error: null,
};

describe('pitwall status, for a person', () => {
  it('shows each predicted failure with its band and every line of its evidence, so the call can be checked', () => {
    const out = plain(formatStatus(status));
    expect(out).toContain('engine_oil    low_oil_pressure             p=0.90  15.2 days (12.4–19.7)');
    for (const e of analysis.predicted_failures[0]!.evidence!) expect(out).toContain(`    · ${e}`);
  });

  it('says what data the analysis stood on: model, confidence, samples used, exclusions by reason, stuck signals, gaps', () => {
    const out = plain(formatStatus(status));
    expect(out).toContain(
      'analysis rules-trend-1.0  confidence 1.00  336/340 samples used over 15 days · excluded 4 future_timestamp, 7 spike · stuck Vehicle.Speed · 2 gaps',
    );
  });

  it('prints a clean analysis without a predictions section, and no analysis line before the first analysis', () => {
    const clean = plain(formatStatus({ ...status, analysis_result: { ...analysis, predicted_failures: [], data_quality: { ...analysis.data_quality!, excluded: {}, signals_stuck: [], gaps: 0, coverage_days: 1 } } }));
    expect(clean).not.toContain('predicted failures');
    expect(clean).toContain('336/340 samples used over 1 day\n');
    const none = plain(formatStatus({ ...status, analysis_result: null }));
    expect(none).not.toContain('analysis rules');
    expect(none).toContain('analyzing_data → assessing_urgency');
  });
});
