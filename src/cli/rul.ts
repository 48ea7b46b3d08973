/** `pitwall rul train|predict`: the learned remaining-useful-life model on C-MAPSS-format files. */
import { writeFile } from 'node:fs/promises';
import { readCmapss, readText } from '../analysis/rul/cmapss.js';
import { parseRulModel, predictRul, serializeRulModel, trainRulModel } from '../analysis/rul/model.js';

export type RulFormat = 'cmapss';

export interface RulTrainArgs {
  out: string;
  seed: number;
  format: RulFormat;
}

/** Progress goes to stderr, so stdout stays clean for scripts. */
export async function rulTrain(
  file: string,
  args: RulTrainArgs,
  err: NodeJS.WritableStream = process.stderr,
): Promise<void> {
  const units = await readCmapss(file);
  const t0 = Date.now();
  let lastShown = 0;
  const model = trainRulModel(units, { seed: args.seed }, (p) => {
    const now = Date.now();
    if (p.round === p.rounds || now - lastShown >= 1000) {
      lastShown = now;
      err.write(`training: model ${p.member}/${p.members}, round ${p.round}/${p.rounds}\n`);
    }
  });
  const json = serializeRulModel(model);
  await writeFile(args.out, json);
  const trees = model.members.reduce((n, m) => n + m.trees.length, 0);
  err.write(
    `wrote ${args.out}: ${trees} trees on ${model.features.channels.length} sensors, from ${units.length} units (${model.training_rows} cycles), ` +
      `${(json.length / 1024).toFixed(0)} KB, in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
  );
}

export interface RulPredictArgs {
  model: string;
  format: RulFormat;
}

/** One line per unit: `unit_number predicted_rul` (cycles left after the unit's last cycle). */
export async function rulPredict(
  file: string,
  args: RulPredictArgs,
  out: NodeJS.WritableStream = process.stdout,
): Promise<void> {
  const model = parseRulModel(await readText(args.model), args.model);
  const units = await readCmapss(file);
  const lines = predictRul(model, units).map((p) => `${p.unit} ${p.rul.toFixed(1)}`);
  out.write(`${lines.join('\n')}\n`);
}
