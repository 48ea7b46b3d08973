#!/usr/bin/env -S node --max-semi-space-size=1
/** `pitwall`: the command-line entry point and composition root's front door. */
import { Command, InvalidArgumentError, Option } from 'commander';
import pc from 'picocolors';
import { COMMAND_DEFAULTS, DEFAULTS, SETTINGS, ConfigError, parseSetting, resolveConfig, type Config, type SettingKey } from './config.js';
import { isVin } from '../core/ids.js';
import { transitionDiagram } from '../core/workflow.js';
import { AGENT_KINDS, type AgentKind } from './agent-kinds.js';

const program = new Command();
program
  .name('pitwall')
  .description('Predictive-maintenance orchestrator for vehicle fleets')
  .version('0.1.0')
  .option('--config <file>', 'JSON config file (also PITWALL_CONFIG)')
  .showSuggestionAfterError(true)
  .configureOutput({ outputError: (str, write) => write(pc.red(str)) });

/** Adds the flags of the named settings, each validated by the shared config table. */
function withSettings(cmd: Command, keys: SettingKey[], overrides: Partial<Config> = {}): Command {
  for (const key of keys) {
    const s = SETTINGS.find((x) => x.key === key)!;
    const def = overrides[key] ?? DEFAULTS[key];
    const placeholder = s.type === 'url' ? 'URL' : s.type === 'int' || s.type === 'number' ? 'N' : s.type === 'optional-path' ? 'FILE' : 'VALUE';
    const opt = new Option(`--${s.flag} <${placeholder}>`, `${s.doc} (env ${s.env})`).argParser((raw: string) => {
      try {
        return parseSetting(s, raw, 'flag');
      } catch (err) {
        throw new InvalidArgumentError((err as Error).message.replace(`${s.flag} (flag) `, ''));
      }
    });
    if (def !== '') opt.default(def, String(def));
    cmd.addOption(opt);
  }
  return cmd;
}

/** Merges file, environment and the flags the user really typed (not commander's defaults). */
function configOf(cmd: Command, overrides: Partial<Config> = {}): Readonly<Config> {
  const flags: Record<string, unknown> = {};
  for (const s of SETTINGS) {
    // Commander names an option's value after its flag (`--telematics` → `telematics`), not the setting.
    const attr = s.flag.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
    if (cmd.getOptionValueSource(attr) === 'cli') flags[s.key] = cmd.getOptionValue(attr);
  }
  const file = program.opts<{ config?: string }>().config;
  return resolveConfig({ flags, overrides, ...(file ? { file } : {}) });
}

async function run(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const msg = err instanceof ConfigError ? err.message : err instanceof Error ? err.message : String(err);
    process.stderr.write(pc.red(`error: ${msg}\n`));
    process.exitCode = 1;
  }
}

const START_KEYS: SettingKey[] = [
  'vehicles', 'speed', 'seed', 'dataDir', 'port', 'telematicsPort', 'schedulerPort', 'host',
  'pollingInterval', 'analysisInterval', 'stateTimeout', 'clockEpoch', 'badSampleRate', 'personas', 'fetchConcurrency', 'logLevel',
  'analysisModel', 'db', 'bus', 'busNamespace', 'orchestrators', 'agents',
];

withSettings(
  program
    .command('start')
    .description(
      'Run the embedded system: simulated fleet, mock APIs, orchestrator, agents and the HTTP API; with --bus nats://… ' +
        '(and --db postgres://…), a local cluster of --orchestrators and --agents processes',
    ),
  START_KEYS,
).action(async (_o, cmd: Command) =>
  run(async () => {
    const { startEmbedded } = await import('./start.js');
    await startEmbedded(configOf(cmd));
  }),
);

const ORCH_OVERRIDES: Partial<Config> = COMMAND_DEFAULTS.orchestrator;
withSettings(
  program
    .command('orchestrator')
    .description('Run the orchestrator, its agents and the HTTP API against real (or mock) telematics and scheduler APIs'),
  ['telematicsUrl', 'schedulerUrl', 'notifyUrl', 'pollingInterval', 'analysisInterval', 'dataDir', 'db', 'bus', 'busNamespace', 'instanceId', 'port', 'host', 'pitwallUrl', 'speed', 'clockEpoch', 'fetchConcurrency', 'stateTimeout', 'logLevel', 'analysisModel'],
  ORCH_OVERRIDES,
).action(async (_o, cmd: Command) =>
  run(async () => {
    const { startOrchestrator } = await import('./orchestrator.js');
    await startOrchestrator(configOf(cmd, ORCH_OVERRIDES));
  }),
);

withSettings(
  program
    .command('agent')
    .description('Run one agent on a shared bus (NATS); start any number of each kind beside the orchestrators')
    .argument('<kind>', AGENT_KINDS.join(' | '), (v: string) => {
      if (!(AGENT_KINDS as readonly string[]).includes(v)) throw new InvalidArgumentError(`must be one of ${AGENT_KINDS.join(', ')}, got "${v}"`);
      return v;
    }),
  ['bus', 'busNamespace', 'dataDir', 'telematicsUrl', 'schedulerUrl', 'notifyUrl', 'pitwallUrl', 'speed', 'clockEpoch', 'logLevel', 'analysisModel'],
  ORCH_OVERRIDES,
).action(async (kind: AgentKind, _o, cmd: Command) =>
  run(async () => {
    const { startAgentProcess } = await import('./agent.js');
    await startAgentProcess(kind, configOf(cmd, ORCH_OVERRIDES));
  }),
);

const MOCK_OVERRIDES: Partial<Config> = COMMAND_DEFAULTS.mock;
withSettings(
  program
    .command('mock')
    .description('Run a mock API on its own: telematics (the simulated fleet) or scheduler')
    .argument('<which>', 'telematics | scheduler', (v: string) => {
      if (v !== 'telematics' && v !== 'scheduler') throw new InvalidArgumentError(`must be telematics or scheduler, got "${v}"`);
      return v;
    })
    .option('--port <N>', 'port to listen on (default 8000 for telematics, 8001 for scheduler)', (raw: string) => {
      const n = Number(raw);
      if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`must be an integer from 0 to 65535, got "${raw}"`);
      return n;
    }),
  ['vehicles', 'seed', 'speed', 'clockEpoch', 'host', 'pitwallUrl', 'telematicsUrl', 'badSampleRate', 'personas', 'dataDir', 'logLevel'],
  MOCK_OVERRIDES,
).action(async (which: 'telematics' | 'scheduler', _o, cmd: Command) =>
  run(async () => {
    const { startMock } = await import('./mock.js');
    const config = configOf(cmd, MOCK_OVERRIDES);
    const port = cmd.opts<{ port?: number }>().port ?? (which === 'telematics' ? config.telematicsPort : config.schedulerPort);
    await startMock(which, port, config);
  }),
);

withSettings(program.command('stats').description('Print fleet and workflow statistics').option('--json', 'raw JSON'), ['pitwallUrl']).action(
  async (o: { json?: boolean }, cmd: Command) =>
    run(async () => {
      const { printStats } = await import('./inspect.js');
      await printStats(configOf(cmd).pitwallUrl, o.json === true);
    }),
);

withSettings(
  program
    .command('status')
    .description('Print the workflow of one vehicle')
    .argument('<VIN>', '17-character VIN', (v: string) => {
      if (!isVin(v)) throw new InvalidArgumentError(`"${v}" is not a VIN: 17 characters from A-Z and 0-9 without I, O or Q`);
      return v;
    })
    .option('--json', 'raw JSON'),
  ['pitwallUrl'],
).action(async (vin: string, o: { json?: boolean }, cmd: Command) =>
  run(async () => {
    const { printStatus } = await import('./inspect.js');
    await printStatus(configOf(cmd).pitwallUrl, vin, o.json === true);
  }),
);

withSettings(
  program
    .command('labels')
    .description('Print the technicians’ findings kept as training labels (confirmed / not found), oldest first')
    .option('--json', 'one JSON object per line'),
  ['dataDir'],
).action(async (o: { json?: boolean }, cmd: Command) =>
  run(async () => {
    const { printLabels } = await import('./inspect.js');
    await printLabels(configOf(cmd).dataDir, o.json === true);
  }),
);

const intOption = (min: number, max: number) => (raw: string): number => {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`must be an integer from ${min} to ${max}, got "${raw}"`);
  return n;
};

const model = program.command('model').description('The fleet’s learned days-to-failure model, blended into the analysis rules');
withSettings(
  model
    .command('retrain')
    .description(
      'Train the fleet model on the stored service findings and each labelled vehicle’s telemetry history (deterministic for a seed); ' +
        'Pitwall loads <data-dir>/fleet-model.json at its next start',
    )
    .option('--out <file>', 'model file to write (default: <data-dir>/fleet-model.json)')
    .option('--seed <N>', 'random seed of the trainer', intOption(0, 2 ** 31 - 1), 7)
    .option('--lookback-days <N>', 'days before each finding whose daily checkpoints become training rows', intOption(1, 365), 45),
  ['dataDir', 'telematicsUrl'],
).action(async (o: { out?: string; seed: number; lookbackDays: number }, cmd: Command) =>
  run(async () => {
    const { retrainCommand } = await import('./model.js');
    const config = configOf(cmd);
    await retrainCommand({
      dataDir: config.dataDir,
      telematicsUrl: config.telematicsUrl,
      seed: o.seed,
      lookbackDays: o.lookbackDays,
      ...(o.out ? { out: o.out } : {}),
    });
  }),
);

program
  .command('diagram')
  .description('Print the workflow state diagram (Mermaid) drawn from the decider’s transition table')
  .option('--write <file>', 'regenerate the diagram and settings blocks between the pitwall:* markers of this file')
  .action(async (o: { write?: string }) =>
    run(async () => {
      if (!o.write) {
        process.stdout.write(`${transitionDiagram()}\n`);
        return;
      }
      const { writeGenerated } = await import('./diagram.js');
      const changed = await writeGenerated(o.write);
      process.stdout.write(`${o.write} ${changed ? 'updated' : 'already up to date'}\n`);
    }),
  );

const rul = program.command('rul').description('Learned remaining-useful-life model on run-to-failure histories (NASA C-MAPSS format)');
const rulFormat = (): Option => new Option('--format <format>', 'input file format').choices(['cmapss']).default('cmapss');
rul
  .command('train')
  .description('Train the model on run-to-failure trajectories and write it as JSON (deterministic for a seed)')
  .argument('<file>', 'training trajectories, e.g. train_FD001.txt')
  .addOption(rulFormat())
  .requiredOption('--out <file>', 'model file to write')
  .option('--seed <N>', 'random seed', (raw: string) => {
    const n = Number(raw);
    if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`must be an integer, got "${raw}"`);
    return n;
  }, 1)
  .action(async (file: string, o: { out: string; seed: number; format: 'cmapss' }) =>
    run(async () => {
      const { rulTrain } = await import('./rul.js');
      await rulTrain(file, o);
    }),
  );
rul
  .command('predict')
  .description('Print `unit_number predicted_rul` for each unit, at its last cycle')
  .argument('<file>', 'trajectories to predict, e.g. test_FD001.txt')
  .addOption(rulFormat())
  .requiredOption('--model <file>', 'model file written by `pitwall rul train`')
  .action(async (file: string, o: { model: string; format: 'cmapss' }) =>
    run(async () => {
      const { rulPredict } = await import('./rul.js');
      await rulPredict(file, o);
    }),
  );

await program.parseAsync(process.argv);
