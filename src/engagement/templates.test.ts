import { describe, expect, it } from 'vitest';
import type { PredictedFailure } from '../core/payloads.js';
import { renderEngagement, type MessageInput } from './templates.js';

const VIN = '1HGCM82633A004352';
const cooling: PredictedFailure = { component: 'cooling', mode: 'overheating', probability: 0.9, days_to_failure: 0.25 };
const brakes: PredictedFailure = { component: 'brakes', mode: 'pad_wear', probability: 0.8, days_to_failure: 4.2 };

function input(over: Partial<MessageInput>): MessageInput {
  return {
    vin: VIN,
    urgency: 'critical',
    kind: 'initial',
    predictedFailures: [cooling],
    predictedDaysToFailure: 0.25,
    respondBy: '2025-01-02T10:00:00.000Z',
    correlationId: `workflow-${VIN}-1735725600000`,
    portalUrl: 'http://127.0.0.1:8080/',
    customerName: 'Jane Doe',
    ...over,
  };
}

describe('engagement templates', () => {
  it('words a critical message as the seed did, in hours, with the portal link', () => {
    const m = renderEngagement(input({}));
    expect(m.short).toContain(
      `URGENT: Critical issue detected with your vehicle ${VIN}. Cooling system failure predicted within 6 hours. Please contact us immediately to schedule service.`,
    );
    expect(m.portalLink).toBe(`http://127.0.0.1:8080/portal/workflow-${VIN}-1735725600000`);
    expect(m.short).toContain(m.portalLink);
    expect(m.body).toContain(m.portalLink);
    expect(m.body).toContain('Please answer by 2025-01-02T10:00:00Z');
    expect(m.subject).toMatch(/^URGENT/);
  });

  it('words a high message in days', () => {
    const m = renderEngagement(input({ urgency: 'high', predictedFailures: [brakes], predictedDaysToFailure: 4.2 }));
    expect(m.short).toContain(`Important: Your vehicle ${VIN} requires attention. Brake service recommended within 5 days.`);
  });

  it('keeps medium and low calm', () => {
    for (const urgency of ['medium', 'low'] as const) {
      const m = renderEngagement(input({ urgency, predictedFailures: [brakes], predictedDaysToFailure: 20 }));
      expect(m.body).not.toMatch(/URGENT|Important|immediately/);
      expect(m.body).toContain(m.portalLink);
    }
  });

  it('marks reminders and escalations, and names every component, soonest first', () => {
    const reminder = renderEngagement(input({ kind: 'reminder', predictedFailures: [brakes, cooling] }));
    expect(reminder.subject).toMatch(/^Reminder: URGENT/);
    expect(reminder.short).toContain('Cooling system and brake failure');
    const escalation = renderEngagement(input({ kind: 'escalation' }));
    expect(escalation.subject).toMatch(/^Action required/);
    expect(escalation.short).toMatch(/^Second notice/);
  });

  it('greets the owner by name only in the long text', () => {
    const m = renderEngagement(input({}));
    expect(m.body.startsWith('Hello Jane Doe,')).toBe(true);
    expect(m.short).not.toContain('Jane');
  });
});
