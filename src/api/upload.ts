// Code uploads for the API: one file, or a tar.gz of a directory, unpacked into a fresh
// directory only after every entry was checked: no absolute path, no "..", no device or FIFO,
// links only to targets inside the tree and nothing written through one, no setuid, setgid or
// sticky bit, and a bounded unpacked size and entry count (no tar bomb).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar';
import { FaassError } from '../core/errors';
import { Paths } from '../core/paths';
import { privateDir } from '../core/private-files';

export const MAX_UNPACKED = 256 * 1024 * 1024;
export const MAX_ENTRIES = 10_000; // files, directories and links in one archive

const bad = (message: string) => new FaassError('FAASS_E_UPLOAD_INVALID', message);

// The entry's path inside the tree, or an error naming it.
function inside(name: string): string {
  const clean = name.replace(/^\.\/+/, '').replace(/\/+$/, '');
  if (name.startsWith('/') || /^[A-Za-z]:/.test(name)) throw bad(`Refused ${JSON.stringify(name.slice(0, 200))}: an absolute path`);
  if (clean.split('/').includes('..')) throw bad(`Refused ${JSON.stringify(name.slice(0, 200))}: a path with ..`);
  if (/[\x00-\x1f\x7f]/.test(name)) throw bad(`Refused an entry name with control characters`);
  return clean;
}

// Checks every entry (a first pass over the archive), then unpacks into dir, which must exist and be empty.
export async function unpackTarGz(archive: Buffer, dir: string): Promise<number> {
  let total = 0;
  let files = 0;
  let entries = 0;
  const links = new Set<string>();
  let problem: FaassError | null = null;
  const check = (e: tar.ReadEntry) => {
    if (problem || META.has(e.type)) return;
    try {
      const p = inside(e.path);
      if (++entries > MAX_ENTRIES) throw bad(`The archive holds more than ${MAX_ENTRIES} entries (files, directories and links)`);
      checkMode(e);
      const through = underLink(p, links);
      if (through !== null) throw bad(`Refused ${quoted(e.path)}: it is under the link ${quoted(through)}, and nothing is unpacked through a link`);
      switch (e.type) {
        case 'File':
        case 'OldFile':
        case 'ContiguousFile':
          total += e.size ?? 0;
          files++;
          if (total > MAX_UNPACKED) throw bad(`The archive unpacks to more than ${MAX_UNPACKED} bytes`);
          break;
        case 'Directory':
          break;
        case 'SymbolicLink': {
          const target = e.linkpath ?? '';
          if (target.startsWith('/')) throw bad(`Refused link ${JSON.stringify(e.path.slice(0, 200))} -> ${JSON.stringify(target.slice(0, 200))}: it points out of the tree`);
          const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(p), target));
          if (resolved === '..' || resolved.startsWith('../')) throw bad(`Refused link ${JSON.stringify(e.path.slice(0, 200))} -> ${JSON.stringify(target.slice(0, 200))}: it points out of the tree`);
          links.add(p);
          break;
        }
        case 'Link':
          inside(e.linkpath ?? '');
          break;
        default:
          throw bad(`Refused ${JSON.stringify(e.path.slice(0, 200))}: entries of type ${e.type} are not code`);
      }
    } catch (err) {
      problem = err instanceof FaassError ? err : bad(String(err));
    }
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const parser = new tar.Parser({ strict: true, onReadEntry: (e) => { check(e); e.resume(); } });
      parser.on('error', reject);
      parser.on('end', resolve);
      Readable.from([archive]).pipe(parser as unknown as NodeJS.WritableStream);
    });
  } catch (e) {
    throw bad(`Not a valid tar.gz archive: ${(e as Error).message}`);
  }
  if (problem) throw problem;
  if (files === 0) throw bad('The archive holds no file');
  try {
    await new Promise<void>((resolve, reject) => {
      // preserveOwner off: as root (no CAP_CHOWN in faass-api's unit) tar would chown to the archive's ids.
      const x = tar.x({ cwd: dir, strict: true, preservePaths: false, noChmod: false, preserveOwner: false });
      x.on('error', reject);
      x.on('close', resolve);
      Readable.from([archive]).pipe(x as unknown as NodeJS.WritableStream);
    });
  } catch (e) {
    // Whatever the checks above missed is still the archive's fault, not the API's.
    throw e instanceof FaassError ? e : bad(`Cannot unpack the archive: ${(e as Error).message.slice(0, 200)}`);
  }
  // Hard links resolved by tar inside dir; symlinks were checked above. Make sure of it.
  const root = fs.realpathSync(dir);
  const walk = (d: string) => {
    for (const ent of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, ent.name);
      if (ent.isSymbolicLink()) {
        const real = safeReal(p);
        if (real !== null && !real.startsWith(root + path.sep) && real !== root) throw bad(`Refused link ${path.relative(dir, p)}: it points out of the tree`);
      } else if (ent.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return files;
}

// Header entries of the tar format itself: not files, not counted.
const META = new Set(['ExtendedHeader', 'GlobalExtendedHeader', 'NextFileHasLongPath', 'NextFileHasLongLinkpath', 'OldExtendedHeader', 'SolarisExtendedHeader']);

const quoted = (s: string) => JSON.stringify(s.slice(0, 200));

// Code needs no setuid, setgid or sticky bit, and faass-api's unit may not set them
// (RestrictSUIDSGID=): refused, with the way out, rather than silently changed.
function checkMode(e: tar.ReadEntry): void {
  const special = (e.mode ?? 0) & 0o7000;
  if (special !== 0) throw bad(`Refused ${quoted(e.path)}: mode ${(e.mode ?? 0).toString(8)} has the setuid, setgid or sticky bit; clear it (chmod ug-s,-t) and pack again`);
}

// The earlier link entry a path goes through (a/b/c under the link a/b), or null: tar would
// refuse to write through it, and a later entry must not land where a link points.
function underLink(p: string, links: Set<string>): string | null {
  const parts = p.split('/');
  for (let i = 1; i < parts.length; i++) {
    const prefix = parts.slice(0, i).join('/');
    if (links.has(prefix)) return prefix;
  }
  return null;
}

function safeReal(p: string): string | null {
  try {
    return fs.realpathSync(p);
  } catch {
    return null; // dangling: points nowhere, harmless
  }
}

// One file: its name must be a plain file name.
export function checkFileName(name: string | null): string {
  if (!name) throw bad('A single-file upload needs ?filename=NAME');
  if (name.includes('/') || name === '.' || name === '..' || !/^[\w.+-]{1,255}$/.test(name)) throw bad(`Invalid filename ${JSON.stringify(name.slice(0, 80))}: letters, digits, . _ + - only`);
  return name;
}

// Where an upload is unpacked while its deploy runs: uploads/half-PID-NAME-XXXXXX, removed when
// the request ends. The PID says whose it is, so one left by an API that died (kill -9, a crash)
// is told from one still in use.
export const uploadsDir = (paths: Paths): string => path.join(paths.dataDir, 'uploads');

export function newStaging(paths: Paths, name: string): string {
  return fs.mkdtempSync(path.join(privateDir(paths, uploadsDir(paths)), `half-${process.pid}-${name}-`));
}

// Run at the API's start: removes the staging directories whose process is gone; returns their names.
export function removeStaleUploads(paths: Paths, alive: (pid: number) => boolean = pidAlive): string[] {
  let names: string[];
  try {
    names = fs.readdirSync(uploadsDir(paths));
  } catch {
    return []; // no upload yet
  }
  const removed: string[] = [];
  for (const n of names) {
    const m = /^half-(\d+)-/.exec(n);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid && alive(pid)) continue; // our own PID: a process before us had it
    fs.rmSync(path.join(uploadsDir(paths), n), { recursive: true, force: true });
    removed.push(n);
  }
  return removed;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // it runs, as someone else
  }
}
