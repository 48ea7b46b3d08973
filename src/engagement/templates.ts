/**
 * Message texts per urgency and kind. Critical and high wording follows the seed's messages; medium
 * and low are calmer. Every message links to the customer portal, where the owner accepts, declines or
 * picks a slot.
 */
import type { EngagementKind, PredictedFailure } from '../core/payloads.js';
import type { Component } from '../core/telemetry.js';
import type { Urgency } from '../core/urgency.js';

export const COMPONENT_LABELS: Record<Component, string> = {
  brakes: 'Brake',
  battery: 'Battery',
  cooling: 'Cooling system',
  engine_oil: 'Engine oil',
  tyres: 'Tyre',
  transmission: 'Transmission',
};

export interface MessageInput {
  vin: string;
  urgency: Urgency;
  kind: EngagementKind;
  predictedFailures: readonly PredictedFailure[];
  predictedDaysToFailure: number | null;
  respondBy: string;
  correlationId: string;
  portalUrl: string;
  /** the owner's name, for the greeting of long messages */
  customerName?: string;
}

export interface RenderedMessage {
  subject: string;
  /** full text (e-mail) */
  body: string;
  /** one paragraph (SMS, push) */
  short: string;
  portalLink: string;
}

export function portalLink(portalUrl: string, correlationId: string): string {
  return `${portalUrl.replace(/\/+$/, '')}/portal/${encodeURIComponent(correlationId)}`;
}

/** "Brake", "Brake and battery", "Brake, battery and tyre": soonest failure first. */
function componentPhrase(failures: readonly PredictedFailure[]): string {
  const ordered = [...failures].sort((a, b) => a.days_to_failure - b.days_to_failure);
  const labels = [...new Set(ordered.map((f) => COMPONENT_LABELS[f.component]))];
  if (labels.length === 0) return 'A component';
  const [first, ...rest] = labels.map((l, i) => (i === 0 ? l : l.toLowerCase()));
  if (rest.length === 0) return first!;
  return `${first}${rest.length > 1 ? `, ${rest.slice(0, -1).join(', ')}` : ''} and ${rest.at(-1)}`;
}

function soonestDays(input: MessageInput): number | null {
  if (input.predictedDaysToFailure !== null) return input.predictedDaysToFailure;
  const days = input.predictedFailures.map((f) => f.days_to_failure);
  return days.length > 0 ? Math.min(...days) : null;
}

function within(days: number | null, unit: 'hours' | 'days'): string {
  if (days === null) return unit === 'hours' ? 'within hours' : 'soon';
  if (unit === 'hours') {
    const h = Math.max(1, Math.ceil(days * 24));
    return `within ${h} hour${h === 1 ? '' : 's'}`;
  }
  const d = Math.max(1, Math.ceil(days));
  return `within ${d} day${d === 1 ? '' : 's'}`;
}

function headline(input: MessageInput, component: string, days: number | null): { subject: string; text: string } {
  const { vin } = input;
  switch (input.urgency) {
    case 'critical':
      return {
        subject: `URGENT: critical issue with your vehicle ${vin}`,
        text: `URGENT: Critical issue detected with your vehicle ${vin}. ${component} failure predicted ${within(days, 'hours')}. Please contact us immediately to schedule service.`,
      };
    case 'high':
      return {
        subject: `Important: your vehicle ${vin} requires attention`,
        text: `Important: Your vehicle ${vin} requires attention. ${component} service recommended ${within(days, 'days')}.`,
      };
    case 'medium':
      return {
        subject: `Service recommended for your vehicle ${vin}`,
        text: `Our monitoring suggests your vehicle ${vin} will need ${component.toLowerCase()} service ${within(days, 'days')}. Booking a visit now avoids a breakdown later.`,
      };
    case 'low':
      return {
        subject: `Maintenance tip for your vehicle ${vin}`,
        text: `Your vehicle ${vin} shows early signs of ${component.toLowerCase()} wear. Nothing is urgent; consider it at your next service.`,
      };
    default: {
      const _exhaustive: never = input.urgency;
      return _exhaustive;
    }
  }
}

const KIND_PREFIX: Record<EngagementKind, { subject: string; text: string }> = {
  initial: { subject: '', text: '' },
  reminder: { subject: 'Reminder: ', text: 'Reminder: we have not heard from you yet. ' },
  escalation: { subject: 'Action required: ', text: 'Second notice, this needs your answer now. ' },
};

export function renderEngagement(input: MessageInput): RenderedMessage {
  const link = portalLink(input.portalUrl, input.correlationId);
  const days = soonestDays(input);
  const { subject, text } = headline(input, componentPhrase(input.predictedFailures), days);
  const prefix = KIND_PREFIX[input.kind];
  const respondBy = input.respondBy.replace(/\.\d{3}Z$/, 'Z');
  const action = `Accept, decline or pick a slot: ${link}`;
  const short = `${prefix.text}${text} ${action}`;
  const greeting = input.customerName ? `Hello ${input.customerName},\n\n` : '';
  const evidence = input.predictedFailures
    .slice(0, 3)
    .map((f) => `- ${COMPONENT_LABELS[f.component]} (${f.mode.replace(/_/g, ' ')}): about ${Math.max(0, Math.round(f.days_to_failure * 10) / 10)} days`)
    .join('\n');
  const body = [
    `${greeting}${prefix.text}${text}`,
    evidence ? `What we found:\n${evidence}` : '',
    `${action}\nPlease answer by ${respondBy}.`,
    'Pitwall predictive maintenance',
  ]
    .filter((p) => p !== '')
    .join('\n\n');
  return { subject: `${prefix.subject}${subject}`, body, short, portalLink: link };
}
