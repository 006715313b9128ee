import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fail } from './errors';
import { PRIVATE_DIR, PRIVATE_FILE } from './private-files';

// Readers see the old file or the new one, never a torn one: write a temp file, fsync, rename.
// Private unless told (private-files.ts); the new file's mode replaces the old one's.
export function writeFileAtomic(file: string, data: string | Buffer, mode = PRIVATE_FILE): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: PRIVATE_DIR });
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = fs.openSync(tmp, 'w', mode);
  try {
    fs.writeSync(fd, typeof data === "string" ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

// Points link at target by renaming a fresh symlink over it (atomic, unlike unlink + symlink).
// Creates FILE with DATA (fsync'd) only if no FILE exists: written to a temporary name, then
// linked into place, which fails when the name is taken, so two processes never both create it.
// False when FILE exists.
export function createFileExclusive(file: string, data: string, mode = PRIVATE_FILE): boolean {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: PRIVATE_DIR });
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = fs.openSync(tmp, 'w', mode);
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.linkSync(tmp, file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw e;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

export function replaceSymlink(target: string, link: string): void {
  const tmp = `${link}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  fs.symlinkSync(target, tmp);
  try {
    fs.renameSync(tmp, link);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

export function readIfExists(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

// Runs f holding FILE.lock, so two faassctl runs doing read-modify-write on one file never lose
// each other's change. A lock older than 30 s was left by a crash and is taken over.
export function withLock<T>(file: string, f: () => T): T {
  const lock = `${file}.lock`;
  const until = Date.now() + 10000;
  for (;;) {
    try {
      fs.closeSync(fs.openSync(lock, 'wx', 0o600));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const st = fs.statSync(lock, { throwIfNoEntry: false });
      if (st && Date.now() - st.mtimeMs > 30000) fs.rmSync(lock, { force: true });
      if (Date.now() > until) fail('FAASS_E_INTERNAL', `${lock} is held by another faassctl; try again`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
  try {
    return f();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}
