/**
 * The feedback agent's delivery port. Structurally the same as the engagement agent's NotificationGateway
 * (agents do not import each other), so the composition root hands both the same gateway.
 */
export type FeedbackChannel = 'email' | 'sms' | 'push';

export interface FeedbackNotification {
  /** `{idempotency_key}:{channel}`: the provider delivers one message per id. */
  notification_id: string;
  vin: string;
  correlation_id: string;
  channel: FeedbackChannel;
  kind: 'feedback';
  subject: string;
  body: string;
  respond_by?: string;
}

export interface FeedbackGateway {
  send(notification: FeedbackNotification): Promise<{ accepted: boolean; error?: string; retryable?: boolean }>;
}

/** Optional: where the owner prefers to hear from us. Without it the survey goes by e-mail. */
export interface PreferredChannelLookup {
  lookup(vin: string): Promise<{ preferred_channel: FeedbackChannel } | null>;
}

/** Payload of 'feedback_requested' on channel.feedback.result (informational for the orchestrator). */
export interface FeedbackRequested {
  vin: string;
  appointment_id: string;
  sent: boolean;
  channels: FeedbackChannel[];
  error?: string;
}
