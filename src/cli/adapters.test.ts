import { describe, expect, it } from 'vitest';
import pino from 'pino';
import { ManualClock } from '../clock/clocks.js';
import { keyRingFromSecret } from '../bus/signing.js';
import { AdapterError, busKind, describeBus, describeStore, openBus, openStore, postgresOptions, redactUrl, sqlitePath, storeKind } from './adapters.js';

describe('the composition root’s choice of adapters', () => {
  it('picks SQLite for a path or nothing, PostgreSQL for a postgres URL', () => {
    expect(storeKind({ db: '' })).toBe('sqlite');
    expect(storeKind({ db: '/var/lib/pitwall/fleet.db' })).toBe('sqlite');
    expect(storeKind({ db: 'postgresql://u:p@127.0.0.1/pitwall' })).toBe('postgres');
    expect(sqlitePath({ db: '', dataDir: 'data' })).toBe('data/pitwall.db');
    expect(sqlitePath({ db: 'other.db', dataDir: 'data' })).toBe('other.db');
    expect(busKind({ bus: 'memory' })).toBe('memory');
    expect(busKind({ bus: 'nats://127.0.0.1:4222' })).toBe('nats');
  });

  it('never shows a password on the console', () => {
    expect(describeStore({ db: 'postgres://pitwall:s3cret@db.local:5432/fleet', dataDir: 'x' })).toBe('PostgreSQL postgres://pitwall:***@db.local:5432/fleet');
    expect(describeBus({ bus: 'nats://token123@127.0.0.1:4222,nats://u:pw@127.0.0.1:4223', busNamespace: 'demo' })).toBe(
      'NATS JetStream nats://***@127.0.0.1:4222,nats://u:***@127.0.0.1:4223 (namespace demo)',
    );
    expect(redactUrl('not a url')).toBe('(unparsable URL)');
  });

  it('takes the schema from the URL’s query and passes the rest to the driver', () => {
    expect(postgresOptions('postgres://u:p@127.0.0.1:5432/pitwall_test?schema=e2e_1&sslmode=disable')).toEqual({
      url: 'postgres://u:p@127.0.0.1:5432/pitwall_test?sslmode=disable',
      schema: 'e2e_1',
    });
    expect(postgresOptions('postgres://u:p@127.0.0.1:5432/pitwall')).toEqual({ url: 'postgres://u:p@127.0.0.1:5432/pitwall' });
  });

  it('says which store or bus could not be opened, where (without the password) and why', async () => {
    const store = openStore({ db: 'postgres://pitwall:s3cret@127.0.0.1:1/pitwall', dataDir: 'unused' });
    await expect(store).rejects.toThrow(AdapterError);
    await expect(store).rejects.toThrow(/^the store at postgres:\/\/pitwall:\*\*\*@127\.0\.0\.1:1\/pitwall could not be opened: .*ECONNREFUSED/);
    const deps = { clock: new ManualClock(0), keys: keyRingFromSecret('test-secret-0123456789'), log: pino({ level: 'silent' }), name: 'test' };
    await expect(openBus({ bus: 'nats://127.0.0.1:1', busNamespace: '' }, deps)).rejects.toThrow(
      /^the bus at NATS JetStream nats:\/\/127\.0\.0\.1:1 could not be reached/,
    );
  });
});
