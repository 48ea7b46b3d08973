/**
 * The local cluster of `pitwall start --bus nats://… --db postgres://… --orchestrators N --agents M`:
 * this process runs the mocks, one orchestrator with the HTTP API and the console summary; the other
 * orchestrators and M agents of each kind run as child processes of the same `pitwall` binary, each
 * configured through the environment, restarted with back-off if one dies. Every process reads the
 * same virtual clock (one epoch) and signs with the same bus secret (the data directory's).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { AGENT_KINDS } from './agent-kinds.js';
import { SETTINGS, type Config } from './config.js';

/** The `pitwall` entry point this process runs from, for its children. */
const MAIN = fileURLToPath(new URL('./main.js', import.meta.url));

/**
 * The epoch (the instant at which virtual and real time agree, `--clock-epoch`) of a scaled clock that
 * reads `virtualNow` at real `realNow`: from `virtual = E + (real − E) × speed`. Rounded to the ms, so
 * the caller must use the clock made from the epoch too; then every process reads the same time.
 */
export function epochFor(virtualNow: number, realNow: number, speed: number): number {
  if (speed === 1) return realNow;
  return Math.round((virtualNow - realNow * speed) / (1 - speed));
}

export interface ChildSpec {
  /** For logs and the console: `orchestrator-2`, `agent-analysis-1`. */
  name: string;
  args: string[];
  /** Settings that differ from the cluster's (e.g. the API port of a second orchestrator). */
  overrides?: Partial<Config>;
}

/** The children of a cluster: orchestrators 2…N (1 runs in the launcher), and M agents of each kind. */
export function clusterChildren(config: Pick<Config, 'port'>, orchestrators: number, agents: number): ChildSpec[] {
  const out: ChildSpec[] = [];
  for (let i = 2; i <= orchestrators; i++) {
    // A stable id per slot: a child restarted after a crash takes its partitions back at once.
    out.push({
      name: `orchestrator-${i}`,
      args: ['orchestrator'],
      overrides: { port: config.port === 0 ? 0 : config.port + i - 1, instanceId: `orchestrator-${i}` },
    });
  }
  for (const kind of AGENT_KINDS) {
    for (let i = 1; i <= agents; i++) out.push({ name: `agent-${kind}-${i}`, args: ['agent', kind] });
  }
  return out;
}

/** The environment that gives a child exactly the cluster's configuration (settings as PITWALL_* variables). */
export function childEnv(config: Readonly<Config>, overrides: Partial<Config> = {}, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base };
  // A config file would be read again by the child, under the environment: the values are all here.
  delete env['PITWALL_CONFIG'];
  const merged = { ...config, ...overrides };
  for (const s of SETTINGS) {
    const v = merged[s.key];
    if (v === '' || v === undefined) delete env[s.env];
    else env[s.env] = String(v);
  }
  return env;
}

export interface Supervisor {
  readonly children: readonly { name: string; pid: number | null; restarts: number }[];
  stop(): Promise<void>;
}

const FIRST_RESTART_MS = 1000;
const MAX_RESTART_MS = 30_000;
const STOP_GRACE_MS = 10_000;

/**
 * Starts each child and keeps it running: one that exits on its own is started again after a back-off
 * (1 s, doubling to 30 s; reset once it has run for a minute). Output goes to `<dataDir>/<name>.log`.
 */
export function superviseChildren(specs: ChildSpec[], config: Readonly<Config>, log: Logger): Supervisor {
  let stopping = false;
  const state = specs.map((spec) => ({ spec, child: null as ChildProcess | null, restarts: 0, backoff: FIRST_RESTART_MS, timer: null as NodeJS.Timeout | null }));

  const launch = (s: (typeof state)[number]) => {
    const logFile = path.join(config.dataDir, `${s.spec.name}.log`);
    const fd = openSync(logFile, 'a');
    const child = spawn(process.execPath, ['--max-semi-space-size=1', MAIN, ...s.spec.args], {
      env: childEnv(config, s.spec.overrides),
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    s.child = child;
    const startedAt = Date.now();
    log.info({ child: s.spec.name, pid: child.pid, log: logFile }, 'cluster process started');
    child.once('exit', (code, signal) => {
      s.child = null;
      if (stopping) return;
      if (Date.now() - startedAt > 60_000) s.backoff = FIRST_RESTART_MS;
      log.warn({ child: s.spec.name, code, signal, restart_in_ms: s.backoff }, 'cluster process exited; restarting');
      s.timer = setTimeout(() => {
        s.timer = null;
        s.restarts += 1;
        launch(s);
      }, s.backoff);
      s.backoff = Math.min(MAX_RESTART_MS, s.backoff * 2);
    });
  };
  for (const s of state) launch(s);

  return {
    get children() {
      return state.map((s) => ({ name: s.spec.name, pid: s.child?.pid ?? null, restarts: s.restarts }));
    },
    async stop() {
      stopping = true;
      await Promise.all(
        state.map(async (s) => {
          if (s.timer) clearTimeout(s.timer);
          const child = s.child;
          if (!child || child.exitCode !== null) return;
          const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
          await exited;
          clearTimeout(timer);
        }),
      );
    },
  };
}
