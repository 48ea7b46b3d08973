import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DAY, HOUR } from '../core/clock.js';
import type { Component } from '../core/telemetry.js';
import { createFleet, type Fleet } from './fleet.js';
import { NotificationGateway, type GatewayNotification } from './notifications.js';
import { TelematicsJournal, type FleetIdentity } from './telematics-state.js';

const NOW = Date.parse('2026-03-02T06:00:00Z');
const FLEET: FleetIdentity = { seed: 3, vehicles: 10, start_time: NOW };

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function journalFile(): string {
  const d = mkdtempSync(join(tmpdir(), 'pitwall-journal-'));
  cleanups.push(() => rmSync(d, { recursive: true, force: true }));
  return join(d, 'mock-telematics.jsonl');
}

/** What a restarted telematics mock does: open the journal, rebuild the fleet and gateway from it. */
function restart(file: string, proposed: FleetIdentity = FLEET): { journal: TelematicsJournal; fleet: Fleet; gateway: NotificationGateway } {
  const journal = TelematicsJournal.open(file, proposed);
  const gateway = new NotificationGateway();
  const fleet = journal.restore(createFleet({ seed: journal.fleet.seed, vehicles: journal.fleet.vehicles, startTime: journal.fleet.start_time }), gateway);
  return { journal, fleet, gateway };
}

function faultyVehicle(fleet: Fleet): { vin: string; component: Component } {
  const truth = fleet.groundTruth().find((t) => !t.healthy);
  const fault = truth?.faults[0];
  if (!truth || !fault) throw new Error('the fleet has no faulty vehicle');
  return { vin: truth.vin, component: fault.component };
}

const notification = (vin: string): GatewayNotification => ({
  notification_id: 'n-1:email',
  vin,
  correlation_id: 'corr-1',
  channel: 'email',
  kind: 'engagement',
  urgency: 'high',
  subject: 'Service needed',
  body: 'Please book.',
});

describe('the telematics journal', () => {
  it('keeps a repair across a restart: the vehicle stays repaired and the same repair is not done twice', () => {
    const file = journalFile();
    const first = restart(file);
    expect(first.journal.fresh).toBe(true);
    const { vin, component } = faultyVehicle(first.fleet);
    const at = NOW + 2 * DAY;
    expect(first.fleet.serviceVehicle(vin, [component], at)).toEqual([{ component, finding: 'confirmed' }]);

    const second = restart(file);
    expect(second.journal.fresh).toBe(false);
    expect(second.journal.services).toEqual([{ vin, components: [component], at }]);
    expect(second.fleet.groundTruthFor(vin)?.faults.find((f) => f.component === component)?.repaired_at).toBe(new Date(at).toISOString());
    // A service retried after the restart (the scheduler never heard the answer) gets the first answer.
    expect(second.fleet.serviceVehicle(vin, [component], at)).toEqual([{ component, finding: 'confirmed' }]);
    // A later service finds nothing: the fault was repaired before the restart.
    expect(second.fleet.serviceVehicle(vin, [component], at + DAY)).toEqual([{ component, finding: 'not_found' }]);
    expect(second.fleet.sample(vin, at + 3 * DAY)?.dtcs).toEqual([]);
  });

  it('keeps the notification record: an id accepted before the restart is a replay after it, and nobody is told twice', () => {
    const file = journalFile();
    const first = restart(file);
    const info = first.fleet.infos()[0]!;
    expect(first.gateway.receive(notification(info.vin), info.owner, NOW).delivered).toBe(true);

    const second = restart(file);
    const told: string[] = [];
    second.gateway.onDelivered((n) => told.push(n.notification_id));
    const replay = second.gateway.receive(notification(info.vin), info.owner, NOW + HOUR);
    expect(replay.delivered).toBe(false);
    expect(replay.notification.received_at).toBe(new Date(NOW).toISOString());
    expect(told).toEqual([]);
    expect(second.gateway.list(info.vin)).toHaveLength(1);
  });

  it('keeps the fleet origin it was started with, whatever origin a restart proposes', () => {
    const file = journalFile();
    restart(file);
    const later = restart(file, { ...FLEET, start_time: NOW + 30 * DAY });
    expect(later.journal.fleet.start_time).toBe(NOW);
    expect(later.fleet.startTime).toBe(NOW);
  });

  it('refuses the journal of another fleet, saying how to run that fleet or start a new one', () => {
    const file = journalFile();
    restart(file);
    expect(() => TelematicsJournal.open(file, { ...FLEET, seed: 4 })).toThrow(
      /holds the state of a fleet of 10 vehicles with seed 3; use another --data-dir for a new fleet, or run with --vehicles 10 --seed 3/,
    );
    expect(() => TelematicsJournal.open(file, { ...FLEET, vehicles: 11 })).toThrow(/fleet of 10 vehicles with seed 3/);
  });

  it('survives a record cut short by a kill and journals the next one on its own line', () => {
    const file = journalFile();
    const first = restart(file);
    const { vin, component } = faultyVehicle(first.fleet);
    first.fleet.serviceVehicle(vin, [component], NOW + DAY);
    appendFileSync(file, '{"notification":{"notification_id":"n-2","vi');
    const second = restart(file);
    expect(second.journal.services).toHaveLength(1);
    expect(second.journal.notifications).toHaveLength(0);
    const info = second.fleet.infos()[1]!;
    second.gateway.receive({ ...notification(info.vin), notification_id: 'n-3' }, info.owner, NOW);
    expect(restart(file).journal.notifications.map((n) => n.notification_id)).toEqual(['n-3']);
  });

  it('refuses a journal that does not start with its fleet, or holds a record it does not know', () => {
    const file = journalFile();
    writeFileSync(file, '{"service":{"vin":"X","components":["brakes"],"at":1}}\n');
    expect(() => TelematicsJournal.open(file, FLEET)).toThrow(/does not start with the fleet it belongs to/);
    writeFileSync(file, `${JSON.stringify({ fleet: FLEET })}\n{"weather":"fine"}\n`);
    expect(() => TelematicsJournal.open(file, FLEET)).toThrow(/record 2 is neither a service nor a notification/);
  });

  it('journals a repair before it is done and a delivery before it is acknowledged', () => {
    const file = journalFile();
    const { fleet, gateway } = restart(file);
    const { vin, component } = faultyVehicle(fleet);
    fleet.serviceVehicle(vin, [component], NOW + DAY);
    const info = fleet.info(vin)!;
    gateway.receive(notification(vin), info.owner, NOW);
    const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => Object.keys(l)[0])).toEqual(['fleet', 'service', 'notification']);
  });
});

describe('the notification gateway with a journal', () => {
  it('delivers nothing and acknowledges nothing when the journal cannot be written', () => {
    const gateway = new NotificationGateway();
    const told: string[] = [];
    gateway.onDelivered((n) => told.push(n.notification_id));
    gateway.journalTo(() => {
      throw new Error('disk full');
    });
    const fleet = createFleet({ seed: 3, vehicles: 2, startTime: NOW });
    const info = fleet.infos()[0]!;
    expect(() => gateway.receive(notification(info.vin), info.owner, NOW)).toThrow(/disk full/);
    expect(told).toEqual([]);
    expect(gateway.list()).toEqual([]);
  });
});
