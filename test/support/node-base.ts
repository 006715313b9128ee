// A base image for faassctl image's tests, since no registry can be reached: docker import of
// a tar of this host's own node and python3 (with every shared library ldd lists for each, and
// python's standard library) and busybox for sh, cat, env and the like. About 150 MB: imported
// once per test file that needs it.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type Docker from 'dockerode';

export const NODE_BASE = 'faass-test/node-base:latest';
const APPLETS = ['sh', 'cat', 'echo', 'sleep', 'env', 'head', 'tr', 'wc', 'ls', 'printf', 'id'];
// Parts of python's library no function here imports: left out to keep the tar small.
const PY_SKIP = new Set(['test', 'dist-packages', 'site-packages', 'idlelib', 'tkinter', 'turtledemo', 'ensurepip', 'lib2to3', 'pydoc_data', '__pycache__']);

function copy(root: string, from: string, to = from): void {
  const dest = path.join(root, to);
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.copyFileSync(from, dest);
  fs.chmodSync(dest, fs.statSync(from).mode & 0o7777);
}

// The absolute paths ldd names for a program: its libraries and the loader, as on this host.
function libsOf(program: string): string[] {
  const out = execFileSync('ldd', [program], { encoding: 'utf8' });
  return [...out.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)].map((m) => m[1]);
}

function copyTree(root: string, dir: string): void {
  for (const ent of fs.readdirSync(dir, { withFileTypes: true })) {
    if (PY_SKIP.has(ent.name) || ent.name.startsWith('config-')) continue;
    const p = path.join(dir, ent.name);
    if (ent.isDirectory()) copyTree(root, p);
    else if (ent.isFile()) copy(root, p);
  }
}

export async function importNodeBase(docker: Docker): Promise<string> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-node-base-'));
  try {
    const root = path.join(tmp, 'rootfs');
    const node = fs.realpathSync(process.execPath);
    copy(root, node, '/usr/local/bin/node');
    const python = fs.realpathSync('/usr/bin/python3');
    copy(root, python, '/usr/bin/python3');
    for (const lib of new Set([...libsOf(node), ...libsOf(python)])) copy(root, fs.realpathSync(lib), lib);
    const pyLib = `/usr/lib/${path.basename(python)}`;
    copyTree(root, pyLib);
    for (const lib of fs.readdirSync(path.join(pyLib, 'lib-dynload')).map((f) => path.join(pyLib, 'lib-dynload', f))) for (const l of libsOf(lib)) if (!fs.existsSync(path.join(root, l))) copy(root, fs.realpathSync(l), l);
    copy(root, '/bin/busybox', '/bin/busybox');
    for (const a of APPLETS) fs.symlinkSync('busybox', path.join(root, 'bin', a));
    fs.mkdirSync(path.join(root, 'usr', 'bin'), { recursive: true });
    fs.symlinkSync('/bin/busybox', path.join(root, 'usr', 'bin', 'env'));
    fs.mkdirSync(path.join(root, 'tmp'), { mode: 0o1777 });
    fs.chmodSync(path.join(root, 'tmp'), 0o1777);
    const tar = path.join(tmp, 'base.tar');
    execFileSync('tar', ['-C', root, '-cf', tar, '.']);
    const [repo, tag] = NODE_BASE.split(':');
    const stream = await docker.importImage(tar, { repo, tag });
    await new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve())));
    return NODE_BASE;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
