/**
 * The notification gateway (the SMS / email / push provider Pitwall's engagement agent delivers to).
 * Idempotent on `notification_id`: a retried send is acknowledged but never delivered twice.
 */
import { isoTime } from '../core/clock.js';
import { isVin } from '../core/ids.js';
import { URGENCY_LEVELS, type Urgency } from '../core/urgency.js';
import { asObject, InputError, optionalString, parseTime, requireOneOf, requireString } from './http.js';
import { CONTACT_CHANNELS, type ContactChannel, type VehicleInfo } from './vehicles.js';

export const NOTIFICATION_KINDS = ['engagement', 'feedback'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

/** Body of POST /sim/notifications. */
export interface GatewayNotification {
  notification_id: string;
  vin: string;
  correlation_id: string;
  channel: ContactChannel;
  kind: NotificationKind;
  urgency?: Urgency;
  subject: string;
  body: string;
  respond_by?: string;
}

export interface DeliveredNotification extends GatewayNotification {
  received_at: string;
  /** The owner's address on the channel used. */
  delivered_to: string;
}

export type NotificationListener = (n: DeliveredNotification) => void;

export function parseNotification(input: unknown): GatewayNotification {
  const o = asObject(input);
  const vin = requireString(o, 'vin', 17);
  if (!isVin(vin)) throw new InputError('vin', 'vin must be a 17-character VIN');
  const urgency = o['urgency'] === undefined ? undefined : requireOneOf(o, 'urgency', URGENCY_LEVELS);
  const respondBy = optionalString(o, 'respond_by', 64);
  if (respondBy !== undefined) parseTime(respondBy, 'respond_by');
  return {
    notification_id: requireString(o, 'notification_id', 200),
    vin,
    correlation_id: requireString(o, 'correlation_id', 200),
    channel: requireOneOf(o, 'channel', CONTACT_CHANNELS),
    kind: requireOneOf(o, 'kind', NOTIFICATION_KINDS),
    ...(urgency !== undefined ? { urgency } : {}),
    subject: requireString(o, 'subject', 500),
    body: requireString(o, 'body', 20_000),
    ...(respondBy !== undefined ? { respond_by: respondBy } : {}),
  };
}

export class NotificationGateway {
  private readonly byId = new Map<string, DeliveredNotification>();
  private readonly listeners: NotificationListener[] = [];
  private journal: NotificationListener | null = null;

  onDelivered(listener: NotificationListener): void {
    this.listeners.push(listener);
  }

  /**
   * Makes each delivery durable through `journal` before it is delivered or acknowledged: a gateway
   * restarted after a kill must still recognise every notification_id it has answered "accepted" to.
   */
  journalTo(journal: NotificationListener): void {
    this.journal = journal;
  }

  /** Takes back a notification delivered before a restart (no listener is told again). */
  restore(n: DeliveredNotification): void {
    this.byId.set(n.notification_id, n);
  }

  /** Returns the stored notification and whether this call delivered it (false for a replay). */
  receive(n: GatewayNotification, owner: VehicleInfo['owner'], now: number): { delivered: boolean; notification: DeliveredNotification } {
    const existing = this.byId.get(n.notification_id);
    if (existing) return { delivered: false, notification: existing };
    const deliveredTo = n.channel === 'email' ? owner.email : n.channel === 'sms' ? owner.phone : `push:${n.vin}`;
    const stored: DeliveredNotification = { ...n, received_at: isoTime(now), delivered_to: deliveredTo };
    // A journal that fails throws here, before anything is delivered: the sender sees an error and retries.
    this.journal?.(stored);
    this.byId.set(n.notification_id, stored);
    for (const l of this.listeners) l(stored);
    return { delivered: true, notification: stored };
  }

  list(vin?: string): DeliveredNotification[] {
    const all = [...this.byId.values()];
    return vin === undefined ? all : all.filter((n) => n.vin === vin);
  }
}
