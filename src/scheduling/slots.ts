/** Which free slot to try first. Pure, so the choice is tested without a scheduler. */
import type { Urgency } from '../core/urgency.js';
import type { Slot } from './scheduler-api.js';

export interface SlotPreferences {
  urgency: Urgency;
  /** epoch ms; slots must start in [earliest, latest] */
  earliest: number;
  latest: number;
  preferredTime?: number;
  centerId?: string;
}

const byStartThenCenter = (a: Slot, b: Slot): number => Date.parse(a.start) - Date.parse(b.start) || a.center_id.localeCompare(b.center_id) || a.bay - b.bay;

/**
 * Slots in the order to try them. Critical: the earliest slot anywhere, preferences ignored.
 * Otherwise the owner's centre first (when given), then closest to the preferred time (when given),
 * else earliest; ties go to the centre id so the choice is deterministic.
 */
export function rankSlots(slots: readonly Slot[], prefs: SlotPreferences): Slot[] {
  const inWindow = slots.filter((s) => {
    const t = Date.parse(s.start);
    return Number.isFinite(t) && t >= prefs.earliest && t <= prefs.latest;
  });
  if (prefs.urgency === 'critical') return inWindow.sort(byStartThenCenter);
  const center = (s: Slot): number => (prefs.centerId !== undefined && s.center_id !== prefs.centerId ? 1 : 0);
  const distance = (s: Slot): number => (prefs.preferredTime === undefined ? 0 : Math.abs(Date.parse(s.start) - prefs.preferredTime));
  return inWindow.sort((a, b) => center(a) - center(b) || distance(a) - distance(b) || byStartThenCenter(a, b));
}
