import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMAND_DEFAULTS, ConfigError, DEFAULT_POLLING_INTERVAL_S, DEFAULTS, resolveConfig } from './config.js';
import { EMBEDDED_INSTANCE_ID, clockFor, instanceIdOf, leaseFor, loadBusSecret, retentionFor, workflowTimingFor } from './compose.js';
import { ScaledClock, SystemClock } from '../clock/clocks.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'pitwall-config-'));
const file = (name: string, body: unknown) => {
  const p = path.join(dir, name);
  writeFileSync(p, typeof body === 'string' ? body : JSON.stringify(body));
  return p;
};

describe('resolveConfig', () => {
  it('gives the documented defaults, frozen', () => {
    const c = resolveConfig({ env: {} });
    expect(c).toEqual(DEFAULTS);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('layers file < environment < flags', () => {
    const f = file('layers.json', { port: 4000, vehicles: 10, seed: 1 });
    const c = resolveConfig({ file: f, env: { PITWALL_PORT: '5000', PITWALL_SEED: '2' }, flags: { port: 6000 } });
    expect(c.port).toBe(6000);
    expect(c.seed).toBe(2);
    expect(c.vehicles).toBe(10);
  });

  it('names the source and what would be right', () => {
    expect(() => resolveConfig({ env: { PITWALL_PORT: 'eighty' } })).toThrow(
      /port \(environment PITWALL_PORT\) must be an integer from 0 to 65535, got "eighty"/,
    );
    expect(() => resolveConfig({ env: {}, file: file('bad.json', { prot: 1 }) })).toThrow(/unknown setting "prot"; known: dataDir/);
    expect(() => resolveConfig({ env: {}, file: file('notjson.json', '{port:') })).toThrow(/could not be read as JSON/);
    expect(() => resolveConfig({ env: {}, file: file('array.json', [1]) })).toThrow(/must hold a JSON object/);
    expect(() => resolveConfig({ env: { PITWALL_SPEED: '0' } })).toThrow(ConfigError);
    expect(() => resolveConfig({ env: { PITWALL_CLOCK_EPOCH: 'yesterday' } })).toThrow(/ISO-8601/);
  });

  it('takes an empty notification URL as “the simulator’s gateway”, and refuses one that is not http(s)', () => {
    expect(resolveConfig({ env: {} }).notifyUrl).toBe('');
    expect(resolveConfig({ env: { PITWALL_NOTIFY_URL: 'http://127.0.0.1:9000/' } }).notifyUrl).toBe('http://127.0.0.1:9000');
    expect(() => resolveConfig({ env: { PITWALL_NOTIFY_URL: 'smtp://mail' } })).toThrow(/must be an http\(s\) URL/);
  });

  it('polls the fleet every 60 virtual seconds by default, whichever command runs the orchestrator', () => {
    expect(DEFAULT_POLLING_INTERVAL_S).toBe(60);
    expect(resolveConfig({ env: {} }).pollingInterval).toBe(60);
    for (const overrides of Object.values(COMMAND_DEFAULTS)) {
      expect(resolveConfig({ env: {}, overrides }).pollingInterval).toBe(DEFAULT_POLLING_INTERVAL_S);
    }
  });

  it('picks the store and the bus by URL, and refuses one it has no adapter for', () => {
    expect(resolveConfig({ env: {} })).toMatchObject({ db: '', bus: 'memory' });
    const pg = 'postgres://pitwall:secret@127.0.0.1:5432/pitwall';
    expect(resolveConfig({ env: { PITWALL_DB_URL: pg, PITWALL_BUS_URL: 'nats://127.0.0.1:4222' } })).toMatchObject({
      db: pg,
      bus: 'nats://127.0.0.1:4222',
    });
    expect(resolveConfig({ env: {}, flags: { db: '/var/lib/pitwall/fleet.db', bus: 'nats://a:4222, nats://b:4222' } })).toMatchObject({
      db: '/var/lib/pitwall/fleet.db',
      bus: 'nats://a:4222,nats://b:4222',
    });
    expect(() => resolveConfig({ env: { PITWALL_DB_URL: 'mysql://db/pitwall' } })).toThrow(/db \(environment PITWALL_DB_URL\) must be a SQLite file path or a URL such as postgres:\/\//);
    expect(() => resolveConfig({ env: { PITWALL_BUS_URL: 'kafka://k:9092' } })).toThrow(/must be memory or a URL such as nats:\/\//);
    expect(() => resolveConfig({ env: {}, flags: { bus: 'nats://ok:4222,redis://no' } })).toThrow(/--bus/);
  });

  it('names an orchestrator `embedded` on the in-process bus unless told otherwise, and refuses a name it could not log safely', () => {
    expect(instanceIdOf(resolveConfig({ env: {} }))).toEqual({ instanceId: EMBEDDED_INSTANCE_ID });
    expect(instanceIdOf(resolveConfig({ env: { PITWALL_BUS_URL: 'nats://127.0.0.1:4222' } }))).toEqual({});
    expect(instanceIdOf(resolveConfig({ env: { PITWALL_BUS_URL: 'nats://127.0.0.1:4222', PITWALL_INSTANCE_ID: 'orchestrator-2' } }))).toEqual({
      instanceId: 'orchestrator-2',
    });
    expect(() => resolveConfig({ env: { PITWALL_INSTANCE_ID: 'two words' } })).toThrow(/instance-id \(environment PITWALL_INSTANCE_ID\) must be up to 100 letters/);
  });

  it('applies per-command defaults under the user’s choices', () => {
    expect(resolveConfig({ env: {}, overrides: { speed: 1 } }).speed).toBe(1);
    expect(resolveConfig({ env: { PITWALL_SPEED: '60' }, overrides: { speed: 1 } }).speed).toBe(60);
  });
});

describe('composition', () => {
  it('keeps timeouts, back-off and leases above a real-time floor on a fast clock', () => {
    expect(workflowTimingFor({ stateTimeout: 300, speed: 1 })).toEqual({ stateTimeoutMs: 300_000, retryBaseMs: 30_000 });
    expect(workflowTimingFor({ stateTimeout: 300, speed: 3600 })).toEqual({ stateTimeoutMs: 36_000_000, retryBaseMs: 3_600_000 });
    expect(leaseFor({ speed: 1 })).toBe(600_000);
    expect(leaseFor({ speed: 3600 })).toBe(3 * 3600 * 1000);
    expect(retentionFor({ speed: 1 })).toBe(7 * 86_400_000);
    expect(retentionFor({ speed: 3600 })).toBe(3600 * 3600 * 1000);
  });

  it('runs on real time unless given a speed or an epoch, and agrees across processes on a shared epoch', () => {
    expect(clockFor({ speed: 1, clockEpoch: '' })).toBeInstanceOf(SystemClock);
    const epoch = new Date(Date.now() - 1000).toISOString();
    const a = clockFor({ speed: 3600, clockEpoch: epoch });
    const b = clockFor({ speed: 3600, clockEpoch: epoch });
    expect(a).toBeInstanceOf(ScaledClock);
    expect(Math.abs(a.now() - b.now())).toBeLessThan(3600 * 50);
    expect(a.now() - Date.parse(epoch)).toBeGreaterThan(3000 * 1000);
  });

  it('creates the bus secret once, private to its owner, unless the environment gives one', () => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'pitwall-secret-'));
    const first = loadBusSecret(d, {});
    expect(first).toMatch(/^[0-9a-f]{64}$/);
    expect(loadBusSecret(d, {})).toBe(first);
    expect(statSync(path.join(d, 'bus.secret')).mode & 0o777).toBe(0o600);
    expect(loadBusSecret(d, { PITWALL_BUS_SECRET: 'from-the-environment-123' })).toBe('from-the-environment-123');
    expect(() => loadBusSecret(d, { PITWALL_BUS_SECRET: 'short' })).toThrow(/at least 16 characters/);
  });

  it('gives processes starting at once on a new data directory one secret', async () => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'pitwall-secret-race-'));
    // Separate processes, as in a cluster's start, held at a barrier so they ask at the same moment;
    // they run the build (`npm test` builds first).
    const script = `import { loadBusSecret } from ${JSON.stringify(new URL('../../dist/src/cli/bus-secret.js', import.meta.url).href)};
      process.stdout.write('ready\\n');
      process.stdin.once('data', () => { process.stdout.write(loadBusSecret(${JSON.stringify(d)}, {})); process.exit(0); });`;
    const { spawn } = await import('node:child_process');
    const children = Array.from({ length: 8 }, () => spawn(process.execPath, ['--input-type=module', '-e', script]));
    const outputs = children.map(
      (child) =>
        new Promise<{ ready: Promise<void>; secret: Promise<string> }>((resolveOuter) => {
          let out = '';
          let err = '';
          let readyResolve!: () => void;
          const ready = new Promise<void>((r) => (readyResolve = r));
          const secret = new Promise<string>((resolve, reject) => {
            child.stdout.on('data', (b: Buffer) => {
              out += b.toString();
              if (out.startsWith('ready\n')) readyResolve();
            });
            child.stderr.on('data', (b: Buffer) => (err += b.toString()));
            child.on('exit', (code) => (code === 0 ? resolve(out.slice('ready\n'.length)) : reject(new Error(`exit ${code}: ${err}`))));
          });
          resolveOuter({ ready, secret });
        }),
    );
    const handles = await Promise.all(outputs);
    await Promise.all(handles.map((h) => h.ready));
    for (const child of children) child.stdin.write('go\n');
    const secrets = await Promise.all(handles.map((h) => h.secret));
    expect(new Set(secrets).size).toBe(1);
    expect(secrets[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(readdirSync(d)).toEqual(['bus.secret']);
  });
});
