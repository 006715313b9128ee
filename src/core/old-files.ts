// Forgetting what has aged out of a directory: the queue's done records, idempotency keys and
// the temporary files a crash left behind all go this way (src/queue/).
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface OldFiles {
  now?: number;
  match?: (file: string) => boolean; // only these names (default: every file)
  bornAt?: (file: string) => Promise<number | null>; // ms since the epoch (default: its mtime); null: keep it
}

const mtime = async (file: string): Promise<number | null> => (await fs.promises.stat(file).catch(() => null))?.mtimeMs ?? null;

// Removes the files of dir older than maxAgeMs; returns how many. A directory that is not there
// has nothing to forget; a file gone meanwhile is no error.
export async function removeOlderThan(dir: string, maxAgeMs: number, opts: OldFiles = {}): Promise<number> {
  const { now = Date.now(), match = () => true, bornAt = mtime } = opts;
  let files: string[];
  try {
    files = (await fs.promises.readdir(dir)).filter(match);
  } catch {
    return 0;
  }
  let n = 0;
  for (const f of files) {
    const file = path.join(dir, f);
    const born = await bornAt(file);
    if (born !== null && now - born > maxAgeMs) {
      await fs.promises.rm(file, { force: true, recursive: true }); // a file drop's failed/ may hold a directory
      n++;
    }
  }
  return n;
}
