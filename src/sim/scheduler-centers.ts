/** Service centres of the mock dealer network, and the calendar arithmetic of their opening hours. */
import { DAY, HOUR } from '../core/clock.js';
import type { Component } from '../core/telemetry.js';
import { SERVICE_DURATION_MS, type ServiceCenter } from '../scheduling/scheduler-api.js';

const ALL: Component[] = ['brakes', 'battery', 'cooling', 'engine_oil', 'tyres', 'transmission'];

export const DEFAULT_CENTERS: readonly ServiceCenter[] = [
  {
    center_id: 'SC-BER-01',
    name: 'Pitwall Service Berlin Mitte',
    city: 'Berlin',
    opening_hours: { days: [1, 2, 3, 4, 5, 6], open: 7, close: 19 },
    bays: 4,
    technicians: [
      { technician_id: 'T-BER-1', skills: ALL },
      { technician_id: 'T-BER-2', skills: ['brakes', 'tyres', 'battery'] },
      { technician_id: 'T-BER-3', skills: ['engine_oil', 'cooling', 'transmission'] },
    ],
    parts: { brakes: 40, battery: 12, cooling: 8, engine_oil: 60, tyres: 50, transmission: 4 },
  },
  {
    center_id: 'SC-HAM-01',
    name: 'Pitwall Service Hamburg Hafen',
    city: 'Hamburg',
    opening_hours: { days: [1, 2, 3, 4, 5], open: 8, close: 18 },
    bays: 3,
    technicians: [
      { technician_id: 'T-HAM-1', skills: ALL },
      { technician_id: 'T-HAM-2', skills: ['brakes', 'tyres', 'engine_oil'] },
    ],
    parts: { brakes: 25, battery: 6, cooling: 5, engine_oil: 40, tyres: 30, transmission: 2 },
  },
  {
    center_id: 'SC-MUC-01',
    name: 'Pitwall Service München Ost',
    city: 'Munich',
    opening_hours: { days: [1, 2, 3, 4, 5, 6, 7], open: 6, close: 22 },
    bays: 5,
    technicians: [
      { technician_id: 'T-MUC-1', skills: ALL },
      { technician_id: 'T-MUC-2', skills: ALL },
      { technician_id: 'T-MUC-3', skills: ['brakes', 'tyres'] },
    ],
    parts: { brakes: 50, battery: 20, cooling: 10, engine_oil: 80, tyres: 60, transmission: 6 },
  },
  {
    center_id: 'SC-KOE-01',
    name: 'Pitwall Quick Fit Köln',
    city: 'Cologne',
    opening_hours: { days: [1, 2, 3, 4, 5, 6], open: 8, close: 16 },
    bays: 2,
    technicians: [{ technician_id: 'T-KOE-1', skills: ['brakes', 'tyres', 'battery', 'engine_oil'] }],
    parts: { brakes: 20, battery: 0, engine_oil: 30, tyres: 40 },
  },
  {
    center_id: 'SC-FRA-01',
    name: 'Pitwall Service Frankfurt Süd',
    city: 'Frankfurt',
    opening_hours: { days: [1, 2, 3, 4, 5], open: 7, close: 17 },
    bays: 3,
    technicians: [
      { technician_id: 'T-FRA-1', skills: ALL },
      { technician_id: 'T-FRA-2', skills: ['battery', 'cooling', 'transmission'] },
    ],
    parts: { brakes: 15, battery: 10, cooling: 6, engine_oil: 25, tyres: 20, transmission: 3 },
  },
];

/** ISO weekday, 1 = Monday … 7 = Sunday, in UTC. */
export function isoWeekday(t: number): number {
  const d = new Date(t).getUTCDay();
  return d === 0 ? 7 : d;
}

/** True when [start, start + SERVICE_DURATION_MS) lies inside one opening period of the centre. */
export function withinOpeningHours(c: ServiceCenter, start: number): boolean {
  const dayStart = Math.floor(start / DAY) * DAY;
  const { days, open, close } = c.opening_hours;
  return days.includes(isoWeekday(start)) && start >= dayStart + open * HOUR && start + SERVICE_DURATION_MS <= dayStart + close * HOUR;
}

/** Slot starts on the centre's grid (every SERVICE_DURATION_MS from opening) within [from, to). */
export function gridStarts(c: ServiceCenter, from: number, to: number): number[] {
  const out: number[] = [];
  for (let day = Math.floor(from / DAY) * DAY; day < to; day += DAY) {
    if (!c.opening_hours.days.includes(isoWeekday(day))) continue;
    for (let s = day + c.opening_hours.open * HOUR; s + SERVICE_DURATION_MS <= day + c.opening_hours.close * HOUR; s += SERVICE_DURATION_MS) {
      if (s >= from && s < to) out.push(s);
    }
  }
  return out;
}

/** Can this centre do the job at all (a technician with every skill, and parts for each component)? */
export function canService(c: ServiceCenter, components: readonly Component[]): boolean {
  if (components.some((comp) => (c.parts[comp] ?? 0) <= 0)) return false;
  return c.technicians.some((t) => components.every((comp) => t.skills.includes(comp)));
}
