/**
 * Configuration, resolved once (STYLE 7): defaults < config file < PITWALL_* environment < flags.
 * One table describes every setting, so flags, environment names, validation and the README agree.
 */
import { readFileSync } from 'node:fs';
import { PERSONAS as SIM_PERSONAS, type Persona } from '../sim/vehicles.js';
import { DEFAULT_POLLING_INTERVAL_S } from '../orchestrator/options.js';

export type SettingType =
  | 'int'
  | 'number'
  | 'string'
  | 'optional-path'
  | 'url'
  | 'optional-url'
  | 'level'
  | 'iso'
  | 'personas'
  | 'db-url'
  | 'bus-url'
  | 'namespace'
  | 'instance-id';

export interface Setting {
  key: SettingKey;
  flag: string;
  env: string;
  type: SettingType;
  min?: number;
  max?: number;
  doc: string;
}

export interface Config {
  dataDir: string;
  host: string;
  port: number;
  telematicsPort: number;
  schedulerPort: number;
  telematicsUrl: string;
  schedulerUrl: string;
  pitwallUrl: string;
  notifyUrl: string;
  vehicles: number;
  seed: number;
  speed: number;
  clockEpoch: string;
  pollingInterval: number;
  analysisInterval: number;
  fetchConcurrency: number;
  stateTimeout: number;
  badSampleRate: number;
  personas: string;
  logLevel: string;
  /** '' = `<dataDir>/fleet-model.json` when it exists, else the rules alone */
  analysisModel: string;
  /** '' = the SQLite file `<dataDir>/pitwall.db`; else a SQLite file path or a `postgres://` URL */
  db: string;
  /** `memory` (in-process) or a `nats://` URL (comma-separated for several servers) */
  bus: string;
  /** Lower-case letters and digits prefixing this deployment's NATS streams and subjects; '' = none */
  busNamespace: string;
  /** This orchestrator's name among the instances sharing the VIN partitions; '' = see SETTINGS */
  instanceId: string;
  /** Orchestrator processes `pitwall start` runs (more than one needs a shared bus) */
  orchestrators: number;
  /** Processes of each agent kind `pitwall start` runs on a shared bus */
  agents: number;
}
export type SettingKey = keyof Config;

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export const SETTINGS: readonly Setting[] = [
  { key: 'dataDir', flag: 'data-dir', env: 'PITWALL_DATA_DIR', type: 'string', doc: 'where the SQLite store, the bus secret and the mocks’ state (`mock-telematics.jsonl`, `mock-scheduler.json`) live' },
  { key: 'host', flag: 'host', env: 'PITWALL_HOST', type: 'string', doc: 'interface every server listens on' },
  { key: 'port', flag: 'port', env: 'PITWALL_PORT', type: 'int', min: 0, max: 65535, doc: 'Pitwall HTTP API port' },
  { key: 'telematicsPort', flag: 'telematics-port', env: 'PITWALL_TELEMATICS_PORT', type: 'int', min: 0, max: 65535, doc: 'mock telematics API port' },
  { key: 'schedulerPort', flag: 'scheduler-port', env: 'PITWALL_SCHEDULER_PORT', type: 'int', min: 0, max: 65535, doc: 'mock scheduler API port' },
  { key: 'telematicsUrl', flag: 'telematics', env: 'PITWALL_TELEMATICS_URL', type: 'url', doc: 'telematics API base URL' },
  { key: 'schedulerUrl', flag: 'scheduler', env: 'PITWALL_SCHEDULER_URL', type: 'url', doc: 'scheduler API base URL' },
  { key: 'pitwallUrl', flag: 'pitwall-url', env: 'PITWALL_URL', type: 'url', doc: 'Pitwall API base URL (for the mocks, stats and status)' },
  { key: 'notifyUrl', flag: 'notify-url', env: 'PITWALL_NOTIFY_URL', type: 'optional-url', doc: 'notification provider (SMS, e-mail, push) base URL; empty: the telematics mock’s gateway' },
  { key: 'vehicles', flag: 'vehicles', env: 'PITWALL_VEHICLES', type: 'int', min: 1, max: 100_000, doc: 'simulated fleet size' },
  { key: 'seed', flag: 'seed', env: 'PITWALL_SEED', type: 'int', min: 0, max: 2 ** 31 - 1, doc: 'simulator seed (same seed, same fleet)' },
  { key: 'speed', flag: 'speed', env: 'PITWALL_SPEED', type: 'number', min: 0.001, max: 1_000_000, doc: 'virtual seconds per real second' },
  { key: 'clockEpoch', flag: 'clock-epoch', env: 'PITWALL_CLOCK_EPOCH', type: 'iso', doc: 'instant at which virtual and real time agree; give every process the same one' },
  { key: 'pollingInterval', flag: 'polling-interval', env: 'PITWALL_POLLING_INTERVAL', type: 'number', min: 0.001, max: 86_400, doc: 'seconds (virtual) between fleet polls' },
  { key: 'analysisInterval', flag: 'analysis-interval', env: 'PITWALL_ANALYSIS_INTERVAL', type: 'number', min: 1, max: 30 * 86_400, doc: 'seconds (virtual) between two analyses of one vehicle' },
  { key: 'fetchConcurrency', flag: 'fetch-concurrency', env: 'PITWALL_FETCH_CONCURRENCY', type: 'int', min: 1, max: 256, doc: 'telemetry requests in flight at once' },
  { key: 'stateTimeout', flag: 'state-timeout', env: 'PITWALL_STATE_TIMEOUT', type: 'number', min: 1, max: 86_400, doc: 'seconds (virtual) a state waiting on our own agents may last before it is an error' },
  { key: 'badSampleRate', flag: 'bad-sample-rate', env: 'PITWALL_BAD_SAMPLE_RATE', type: 'number', min: 0, max: 1, doc: 'share of malformed samples the simulator serves' },
  { key: 'personas', flag: 'personas', env: 'PITWALL_PERSONAS', type: 'personas', doc: `simulated owners, comma-separated from ${SIM_PERSONAS.join(', ')} (empty: the fleet's mix)` },
  { key: 'logLevel', flag: 'log-level', env: 'PITWALL_LOG_LEVEL', type: 'level', doc: `one of ${LEVELS.join(', ')}` },
  {
    key: 'analysisModel',
    flag: 'analysis-model',
    env: 'PITWALL_ANALYSIS_MODEL',
    type: 'optional-path',
    doc: 'fleet model file the analysis blends into its rules (written by `pitwall model retrain`); empty: `<data-dir>/fleet-model.json` if it exists, else the rules alone',
  },
  {
    key: 'db',
    flag: 'db',
    env: 'PITWALL_DB_URL',
    type: 'db-url',
    doc: 'the store: a SQLite file path, or `postgres://user:password@host:port/database[?schema=name]` for PostgreSQL (tables in schema `pitwall` unless named); empty: `<data-dir>/pitwall.db`',
  },
  {
    key: 'bus',
    flag: 'bus',
    env: 'PITWALL_BUS_URL',
    type: 'bus-url',
    doc: 'the message bus: `memory` (in-process, one process) or `nats://host:port` for NATS JetStream (comma-separated for a cluster)',
  },
  {
    key: 'busNamespace',
    flag: 'bus-namespace',
    env: 'PITWALL_BUS_NAMESPACE',
    type: 'namespace',
    doc: 'NATS only: lower-case letters and digits that prefix this deployment’s streams and subjects, so several deployments (or test runs) share one NATS server; empty: none',
  },
  {
    key: 'instanceId',
    flag: 'instance-id',
    env: 'PITWALL_INSTANCE_ID',
    type: 'instance-id',
    doc: 'this orchestrator’s name among those sharing the fleet’s VIN partitions: unique among live processes, and the same across a restart, so a restarted one takes its partitions back at once (not after the lease); empty: `embedded` on the in-process bus, else a new random one',
  },
  { key: 'orchestrators', flag: 'orchestrators', env: 'PITWALL_ORCHESTRATORS', type: 'int', min: 1, max: 16, doc: '`pitwall start`: orchestrator processes (more than one needs `--bus nats://…`)' },
  { key: 'agents', flag: 'agents', env: 'PITWALL_AGENTS', type: 'int', min: 1, max: 16, doc: '`pitwall start` on NATS: processes of each agent kind (analysis, engagement, scheduling, feedback)' },
];

// One polling default for every command and for the loop used as a library.
export { DEFAULT_POLLING_INTERVAL_S };

export const DEFAULTS: Readonly<Config> = Object.freeze({
  dataDir: './pitwall-data',
  host: '127.0.0.1',
  port: 3000,
  telematicsPort: 8000,
  schedulerPort: 8001,
  telematicsUrl: 'http://127.0.0.1:8000',
  schedulerUrl: 'http://127.0.0.1:8001',
  pitwallUrl: 'http://127.0.0.1:3000',
  notifyUrl: '',
  vehicles: 50,
  seed: 42,
  speed: 3600,
  clockEpoch: '',
  pollingInterval: DEFAULT_POLLING_INTERVAL_S,
  analysisInterval: 6 * 3600,
  fetchConcurrency: 8,
  stateTimeout: 300,
  badSampleRate: 0.002,
  personas: '',
  logLevel: 'info',
  analysisModel: '',
  db: '',
  bus: 'memory',
  busNamespace: '',
  instanceId: '',
  orchestrators: 1,
  agents: 1,
});

/**
 * The defaults that differ per command, here so they sit beside the ones they override: the commands
 * of a distributed set-up run on real time. Fleet polling is not among them: one default for all.
 */
export const COMMAND_DEFAULTS = Object.freeze({
  orchestrator: Object.freeze({ speed: 1 }),
  mock: Object.freeze({ speed: 1 }),
} satisfies Record<string, Partial<Config>>);

export class ConfigError extends Error {
  readonly code = 'PW_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const byKey = new Map(SETTINGS.map((s) => [s.key, s]));

/** Parses one value of a setting; the message says what was wrong and what would be right. */
export function parseSetting(setting: Setting, raw: unknown, origin: string): string | number {
  const what = `${setting.flag} (${origin})`;
  const text = typeof raw === 'string' ? raw.trim() : raw;
  switch (setting.type) {
    case 'int':
    case 'number': {
      const n = typeof text === 'number' ? text : typeof text === 'string' && text !== '' ? Number(text) : NaN;
      const range = `${setting.min ?? '-∞'} to ${setting.max ?? '∞'}`;
      if (!Number.isFinite(n) || (setting.type === 'int' && !Number.isInteger(n))) {
        throw new ConfigError(`${what} must be ${setting.type === 'int' ? 'an integer' : 'a number'} from ${range}, got ${JSON.stringify(raw)}`);
      }
      if ((setting.min !== undefined && n < setting.min) || (setting.max !== undefined && n > setting.max)) {
        throw new ConfigError(`${what} must be from ${range}, got ${n}`);
      }
      return n;
    }
    case 'optional-url':
    case 'url':
      if (setting.type === 'optional-url' && text === '') return '';
      if (typeof text !== 'string' || !/^https?:\/\//.test(text) || !URL.canParse(text)) {
        throw new ConfigError(`${what} must be an http(s) URL such as http://127.0.0.1:8000, got ${JSON.stringify(raw)}`);
      }
      return text.replace(/\/+$/, '');
    case 'level':
      if (typeof text !== 'string' || !LEVELS.includes(text)) {
        throw new ConfigError(`${what} must be one of ${LEVELS.join(', ')}, got ${JSON.stringify(raw)}`);
      }
      return text;
    case 'iso':
      if (typeof text !== 'string' || (text !== '' && !Number.isFinite(Date.parse(text)))) {
        throw new ConfigError(`${what} must be an ISO-8601 date-time such as 2026-01-01T00:00:00Z, got ${JSON.stringify(raw)}`);
      }
      return text;
    case 'personas': {
      const list = typeof text === 'string' ? text.split(',').map((p) => p.trim()).filter(Boolean) : null;
      const unknown = list?.filter((p) => !(SIM_PERSONAS as readonly string[]).includes(p));
      if (!list || (unknown && unknown.length > 0)) {
        throw new ConfigError(`${what} must be a comma-separated list of ${SIM_PERSONAS.join(', ')}, got ${JSON.stringify(raw)}`);
      }
      return list.join(',');
    }
    case 'db-url':
      if (typeof text !== 'string') throw new ConfigError(`${what} must be a SQLite file path or a postgres:// URL, got ${JSON.stringify(raw)}`);
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
        if (!/^postgres(ql)?:\/\//i.test(text) || !URL.canParse(text)) {
          throw new ConfigError(`${what} must be a SQLite file path or a URL such as postgres://user:password@127.0.0.1:5432/pitwall, got ${JSON.stringify(raw)}`);
        }
      }
      return text;
    case 'bus-url': {
      if (typeof text !== 'string') throw new ConfigError(`${what} must be memory or a nats:// URL, got ${JSON.stringify(raw)}`);
      if (text === 'memory') return text;
      const servers = text.split(',').map((u) => u.trim());
      if (servers.some((u) => !/^(nats|tls):\/\//i.test(u) || !URL.canParse(u))) {
        throw new ConfigError(`${what} must be memory or a URL such as nats://127.0.0.1:4222 (comma-separated for several servers), got ${JSON.stringify(raw)}`);
      }
      return servers.join(',');
    }
    case 'namespace':
      if (typeof text !== 'string' || !/^[a-z0-9]*$/.test(text) || text === 'channel') {
        throw new ConfigError(`${what} must be lower-case letters and digits (or empty), got ${JSON.stringify(raw)}`);
      }
      return text;
    case 'instance-id':
      if (typeof text !== 'string' || !/^[A-Za-z0-9_.:-]{0,100}$/.test(text)) {
        throw new ConfigError(`${what} must be up to 100 letters, digits and _ . : -, got ${JSON.stringify(raw)}`);
      }
      return text;
    case 'optional-path':
      if (typeof text !== 'string') throw new ConfigError(`${what} must be a file path, got ${JSON.stringify(raw)}`);
      return text;
    case 'string':
      if (typeof text !== 'string' || text === '') throw new ConfigError(`${what} must be a non-empty string`);
      return text;
    default: {
      const _exhaustive: never = setting.type;
      return _exhaustive;
    }
  }
}

export interface ConfigSources {
  /** Parsed CLI flags, camelCase keys (commander's `opts()`), only those the user gave. */
  flags?: Partial<Record<string, unknown>>;
  env?: NodeJS.ProcessEnv;
  /** Path of a JSON config file; PITWALL_CONFIG names one too. */
  file?: string;
  /** Defaults that differ for a command (e.g. `orchestrator` and `mock` run on real time). */
  overrides?: Partial<Config>;
}

export function resolveConfig(sources: ConfigSources = {}): Readonly<Config> {
  const env = sources.env ?? process.env;
  const merged: Record<string, unknown> = { ...DEFAULTS, ...sources.overrides };
  const file = sources.file ?? env['PITWALL_CONFIG'];
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new ConfigError(`config file ${file} could not be read as JSON: ${(err as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new ConfigError(`config file ${file} must hold a JSON object`);
    }
    for (const [k, v] of Object.entries(parsed)) {
      const setting = byKey.get(k as SettingKey);
      if (!setting) throw new ConfigError(`config file ${file}: unknown setting "${k}"; known: ${[...byKey.keys()].join(', ')}`);
      merged[k] = parseSetting(setting, v, `config file ${file}`);
    }
  }
  for (const s of SETTINGS) {
    const v = env[s.env];
    if (v !== undefined && v !== '') merged[s.key] = parseSetting(s, v, `environment ${s.env}`);
  }
  for (const [k, v] of Object.entries(sources.flags ?? {})) {
    const s = byKey.get(k as SettingKey);
    if (s && v !== undefined) merged[k] = parseSetting(s, v, `--${s.flag}`);
  }
  return Object.freeze(merged as unknown as Config);
}

/** The `personas` setting as the simulator's option (absent: the fleet's own mix). */
export function personasOf(config: Pick<Config, 'personas'>): { personas?: Persona[] } {
  return config.personas ? { personas: config.personas.split(',') as Persona[] } : {};
}
