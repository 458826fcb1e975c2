// The run journal: `.haplay/runs/<id>.json` relative to the working directory, rewritten atomically after every
// step, so `haplay rolling --resume <id>` knows which nodes are done, which failed (and at which step).
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HaplayError } from '../errors.js';
import type { RollingJournal } from '../contract/rolling.js';
import { redactValue } from '../secret.js';

import { RUNS_DIR } from '../report/runs.js';

const ID_RE = /^[0-9]{8}-[0-9]{6}-[0-9a-f]{4}$/;

/** A sortable, unique run id: `20261122-061502-3fa9` (UTC). */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

export function journalPath(id: string, cwd = process.cwd()): string {
  if (!ID_RE.test(id)) throw new HaplayError('E_USAGE', `--resume: "${id}" is not a run id (like 20261122-061502-3fa9)`);
  return join(cwd, RUNS_DIR, `${id}.json`);
}

/** Writes the journal (temp file + rename: a crash never leaves half a journal). */
export async function saveJournal(journal: RollingJournal, cwd = process.cwd()): Promise<string> {
  const path = journalPath(journal.id, cwd);
  await mkdir(join(cwd, RUNS_DIR), { recursive: true });
  journal.updatedAt = new Date().toISOString();
  const tmp = `${path}.${process.pid}.tmp`;
  // Masked like every other sink: step messages quote remote output, which may hold a secret.
  await writeFile(tmp, `${JSON.stringify(redactValue(journal), null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, path);
  return path;
}

export async function loadJournal(id: string, cwd = process.cwd()): Promise<RollingJournal> {
  const path = journalPath(id, cwd);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new HaplayError('E_USAGE', `--resume: no journal ${path} (runs are recorded relative to the working directory)`);
  }
  const j = JSON.parse(text) as RollingJournal;
  if (j.version !== 1 || j.id !== id || !Array.isArray(j.order)) throw new HaplayError('E_USAGE', `--resume: ${path} is not a rolling journal`);
  return j;
}
