// Code uploads for the API: one file, or a tar.gz of a directory, unpacked into a fresh
// directory only after every entry was checked: no absolute path, no "..", no device or FIFO,
// links only to targets inside the tree, and a bounded unpacked size (no tar bomb).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import * as tar from 'tar';
import { FaassError } from '../core/errors';

export const MAX_UNPACKED = 256 * 1024 * 1024;

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
  let problem: FaassError | null = null;
  const check = (e: tar.ReadEntry) => {
    if (problem) return;
    try {
      const p = inside(e.path);
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
          break;
        }
        case 'Link':
          inside(e.linkpath ?? '');
          break;
        case 'ExtendedHeader':
        case 'GlobalExtendedHeader':
        case 'NextFileHasLongPath':
        case 'NextFileHasLongLinkpath':
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
  await new Promise<void>((resolve, reject) => {
    const x = tar.x({ cwd: dir, strict: true, preservePaths: false, noChmod: false });
    x.on('error', reject);
    x.on('close', resolve);
    Readable.from([archive]).pipe(x as unknown as NodeJS.WritableStream);
  });
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
