/** The secret every process of one deployment signs bus messages with (keys per sender are derived from it). */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** The bus secret: PITWALL_BUS_SECRET, else one generated once into the data directory (mode 600). */
export function loadBusSecret(dataDir: string, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env['PITWALL_BUS_SECRET'];
  if (fromEnv) {
    if (fromEnv.length < 16) throw new Error('PITWALL_BUS_SECRET must be at least 16 characters');
    return fromEnv;
  }
  const file = path.join(dataDir, 'bus.secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  // Processes of one deployment may start at once on a new data directory: the secret is written whole
  // to a file of this process's own, then linked into place, which only one of them can do. The others
  // read the winner's, so every process signs with the same key.
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  try {
    linkSync(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    unlinkSync(tmp);
  }
  return readFileSync(file, 'utf8').trim();
}
