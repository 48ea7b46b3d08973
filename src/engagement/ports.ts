/** The ports of the customer-engagement agent: who the owner is, and how a message reaches them. */
import type { Urgency } from '../core/urgency.js';

export const NOTIFICATION_CHANNELS = ['email', 'sms', 'push'] as const;
export type NotificationChannel = (typeof NOTIFICATION_CHANNELS)[number];

export interface Customer {
  name: string;
  email: string;
  phone: string;
  preferred_channel: NotificationChannel;
}

export interface CustomerDirectory {
  /** null when the vehicle has no known owner; throws when the directory cannot be reached (transient). */
  lookup(vin: string): Promise<Customer | null>;
}

/** Wire body of one message to the notification provider (snake_case, as on every wire). */
export interface Notification {
  /** `{idempotency_key}:{channel}`: the provider delivers one message per id, however often it is sent. */
  notification_id: string;
  vin: string;
  correlation_id: string;
  channel: NotificationChannel;
  kind: 'engagement' | 'feedback';
  urgency?: Urgency;
  subject: string;
  body: string;
  respond_by?: string;
}

export interface SendOutcome {
  accepted: boolean;
  error?: string;
  /** true when trying again later may succeed (timeout, 5xx); false for a refusal (4xx). */
  retryable?: boolean;
}

export interface NotificationGateway {
  send(notification: Notification): Promise<SendOutcome>;
}
