// Installing a function's dependencies at deploy (deps-plan.ts decides what; docs/DESIGN.md
// "Dependencies"). The tool (npm ci, pip install --target) runs as the deploying user in a
// scratch directory of the install cache ($XDG_DATA_HOME/faass/deps), never in the staged code:
// what it makes becomes the cache entry for its key, renamed into place whole, and the staged
// version gets that tree by hard links. A failure throws before the deploy's commit point, so the
// deploy undoes itself and the running version is untouched.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Paths } from '../core/paths';
import { privateDir, privateTree, PRIVATE_FILE } from '../core/private-files';
import { FaassError, fail } from '../core/errors';
import { managerReachable, run } from '../systemd/systemctl';
import { FunctionConfig } from './function-config';
import { DEPS_FILES, DepsPlan, cacheKey, checkLockfile, checkRequirements, depsPlan, installFailure, installManifest, redact } from './deps-plan';
import { processStart } from './deploy-intent';

export interface DepsReport {
  tool: DepsPlan['tool'];
  target: string; // node_modules or .python_packages, in the version's code
  cached: boolean; // true: the tree came from the install cache, nothing was installed
  seconds: number; // what the install (or the linking of a cached tree) took
}

export const depsCacheDir = (paths: Paths) => path.join(paths.dataDir, 'deps');
// The output of the function's last install, for the details its one-line error leaves out.
export const installLogPath = (paths: Paths, name: string) => path.join(paths.stateDir, 'installs', `${name}.log`);

// An install that hangs (a registry that accepts and never answers) must not hold a deploy, and
// the API's one deploy at a time, for ever.
const INSTALL_TIMEOUT_MS = 15 * 60 * 1000;

// Installs what the code in codeDir asks for (nothing: null) into codeDir.
export async function installDependencies(paths: Paths, cfg: FunctionConfig, codeDir: string): Promise<DepsReport | null> {
  refuseStrayLinks(cfg.name, cfg.runtime, codeDir);
  const plan = depsPlan(cfg.name, cfg.runtime, (f) => fs.statSync(path.join(codeDir, f), { throwIfNoEntry: false })?.isFile() ?? false, (f) => fs.readFileSync(path.join(codeDir, f), 'utf8'));
  if (plan === null) return null;
  const started = process.hrtime.bigint();
  const env = await installEnv(cfg);
  const inputs = installInputs(cfg.name, plan, codeDir);
  const key = cacheKey(plan.tool, inputs, await runtimeId(cfg.name, plan, env));
  const cache = privateDir(paths, depsCacheDir(paths));
  const entry = path.join(cache, key);
  const cached = fs.existsSync(entry);
  if (!cached) await installInto(paths, cfg.name, plan, inputs, env, entry);
  linkTree(path.join(entry, plan.target), path.join(codeDir, plan.target));
  return { tool: plan.tool, target: plan.target, cached, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

// The code is copied with its symlinks as they are (code-versions.ts stageCode): a dependency file
// that is a link out of the code (../shared/package.json) dangles in the copy, or, absolute,
// names a host file the version does not hold. Either way the install would read nothing (and
// say nothing) or something not deployed; so it is refused, naming the file. Not copied in its
// place: the code's digest and what the runner sees are the tree as deployed, link and all.
// A link within the code is followed, as any file of it.
export function refuseStrayLinks(name: string, runtime: string, codeDir: string): void {
  const root = fs.realpathSync(codeDir);
  for (const f of DEPS_FILES[runtime] ?? []) {
    const file = path.join(codeDir, f);
    if (!fs.lstatSync(file, { throwIfNoEntry: false })?.isSymbolicLink()) continue;
    let real: string | null;
    try {
      real = fs.realpathSync(file);
    } catch {
      real = null;
    }
    if (real !== null && real.startsWith(root + path.sep)) continue;
    fail('FAASS_E_INSTALL_FAILED', `Function ${name}: its ${f} is a symlink to ${fs.readlinkSync(file)}, ${real === null ? 'which leads nowhere in the code as deployed' : 'outside its code'}; deploy the file itself, not a link (dependencies are installed from the code as deployed)`);
  }
}

// The files the install reads, as it is given them: npm gets the lockfile and package.json's
// dependency fields only (installManifest), pip the requirements, each checked first.
function installInputs(name: string, plan: DepsPlan, codeDir: string): [string, string][] {
  const read = (f: string) => fs.readFileSync(path.join(codeDir, f), 'utf8');
  if (plan.tool === 'npm') {
    const [lock, pkg] = plan.files;
    const lockText = read(lock);
    checkLockfile(name, lock, lockText);
    return [[lock, lockText], [pkg, installManifest(name, read(pkg))]];
  }
  const text = read('requirements.txt');
  checkRequirements(name, text);
  return [['requirements.txt', text]];
}

// The user's environment (their npm and pip settings: npm_config_*, PIP_*, caches, proxies), with
// the PATH the function's runner has: python3 is the one the python runtime runs (the user
// manager's PATH, or the function's own PATH=), and npm runs on faass's node, whose version and
// headers the node runtime's native modules must match (npm_config_nodedir: the local headers,
// where they are installed, as install.sh builds faass's own addons).
async function installEnv(cfg: FunctionConfig): Promise<NodeJS.ProcessEnv> {
  const runnerPath = cfg.env.PATH ?? (await managerPath()) ?? process.env.PATH ?? '/usr/bin:/bin';
  const nodeBin = path.dirname(process.execPath);
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: cfg.runtime === 'node' ? `${nodeBin}:${runnerPath}` : runnerPath };
  const prefix = path.resolve(nodeBin, '..');
  if (cfg.runtime === 'node' && env.npm_config_nodedir === undefined && fs.existsSync(path.join(prefix, 'include', 'node', 'node.h'))) env.npm_config_nodedir = prefix;
  env.npm_config_update_notifier = 'false';
  env.PIP_DISABLE_PIP_VERSION_CHECK = '1';
  return env;
}

// The user manager's PATH (what a function's runner starts with), or null without one.
async function managerPath(): Promise<string | null> {
  if (!(await managerReachable())) return null;
  const r = await run('systemctl', ['--user', 'show-environment'], { timeoutMs: 10000 });
  const line = r.stdout.split('\n').find((l) => l.startsWith('PATH='));
  return line ? line.slice(5) : null;
}

// What the installed tree depends on besides its inputs: node's version and module ABI, or the
// python3's version and platform (asked of the python3 itself).
async function runtimeId(name: string, plan: DepsPlan, env: NodeJS.ProcessEnv): Promise<string> {
  if (plan.tool === 'npm') return `node ${process.versions.node} abi ${process.versions.modules} ${process.platform}-${process.arch}`;
  const r = await tool(['python3', '-c', 'import sys, sysconfig; print(sys.version.split()[0], sys.implementation.cache_tag, sysconfig.get_platform())'], process.cwd(), env, 30000);
  if (r.code !== 0) fail('FAASS_E_INSTALL_FAILED', `Function ${name}: python3 ${r.code === 127 ? 'is not on the PATH the python runtime has' : `does not run (${r.output.trim().split('\n').pop() ?? ''})`}; it installs requirements.txt`);
  return `python ${r.output.trim()}`;
}

// Runs the tool in a scratch directory next to the cache entry, then renames it into place: a
// crash leaves no half entry (a later install removes scratch directories of processes gone).
async function installInto(paths: Paths, name: string, plan: DepsPlan, inputs: [string, string][], env: NodeJS.ProcessEnv, entry: string): Promise<void> {
  removeStaleScratch(path.dirname(entry));
  const scratch = `${path.join(path.dirname(entry), `.tmp-${process.pid}-`)}${randomBytes(4).toString('hex')}`;
  fs.mkdirSync(scratch, { mode: 0o700 });
  try {
    for (const [f, text] of inputs) fs.writeFileSync(path.join(scratch, f), text, { mode: PRIVATE_FILE });
    // pip says why an index did not answer only in its verbose log (with retries=0 not at all on
    // the terminal): that log is read too, to tell an unreachable index from a missing package.
    const pipLog = path.join(scratch, '.pip.log');
    const argv = plan.tool === 'npm' ? ['npm', 'ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'] : ['python3', '-m', 'pip', 'install', '--target', path.join(scratch, plan.target), '-r', 'requirements.txt', '--no-input', '--progress-bar', 'off', '--log', pipLog];
    const r = await tool(argv, scratch, env, INSTALL_TIMEOUT_MS);
    if (plan.tool === 'pip') r.output += verboseLog(pipLog);
    const log = writeLog(paths, name, argv, r.output);
    if (r.code !== 0) throw failed(name, plan, r, log);
    fs.rmSync(pipLog, { force: true });
    fs.mkdirSync(path.join(scratch, plan.target), { recursive: true }); // a package.json with no dependencies makes none
    sealTree(scratch);
    try {
      fs.renameSync(scratch, entry);
    } catch (e) {
      // Another deploy installed the same key meanwhile: the same tree, and its is in place.
      if ((e as NodeJS.ErrnoException).code !== 'ENOTEMPTY' && (e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

function failed(name: string, plan: DepsPlan, r: ToolResult, log: string): FaassError {
  if (r.code === 127 && r.output === '') return new FaassError('FAASS_E_INSTALL_FAILED', `Function ${name}: ${plan.tool === 'npm' ? 'npm' : 'python3'} is not on the PATH the ${plan.tool === 'npm' ? 'node' : 'python'} runtime has; it installs ${plan.files[0]}`);
  const f = r.timedOut ? { unreachable: false, line: `${plan.tool} ran past ${INSTALL_TIMEOUT_MS / 60000} minutes and was stopped` } : installFailure(plan.tool, r.output);
  return new FaassError(f.unreachable ? 'FAASS_E_REGISTRY_UNREACHABLE' : 'FAASS_E_INSTALL_FAILED', `Function ${name}: ${f.line}; nothing deployed (${plan.tool}'s output: ${log})`);
}

function verboseLog(file: string): string {
  try {
    const text = fs.readFileSync(file, 'utf8');
    return `\n--- pip's verbose log ---\n${text.length > MAX_OUTPUT ? text.slice(-MAX_OUTPUT) : text}`;
  } catch {
    return '';
  }
}

// The tool's whole output (credentials in URLs hidden), for the details; the last install's only.
function writeLog(paths: Paths, name: string, argv: string[], output: string): string {
  const file = installLogPath(paths, name);
  privateDir(paths, path.dirname(file));
  fs.writeFileSync(file, redact(`$ ${argv.join(' ')}\n${output}`), { mode: PRIVATE_FILE });
  return file;
}

interface ToolResult {
  code: number; // 127: the program was not found
  output: string; // stdout and stderr as they came
  timedOut: boolean;
}

// Output is kept to its last MAX_OUTPUT bytes: the end is where the tools say what failed.
const MAX_OUTPUT = 4 * 1024 * 1024;

function tool(argv: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<ToolResult> {
  return new Promise((resolve) => {
    // Its own process group: a timeout ends what it started too (node-gyp's compilers).
    const child = spawn(argv[0], argv.slice(1), { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const take = (b: Buffer) => {
      out += b.toString('utf8');
      if (out.length > MAX_OUTPUT) out = out.slice(-MAX_OUTPUT);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // gone already
      }
    }, timeoutMs);
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve({ code: e.code === 'ENOENT' ? 127 : 1, output: out, timedOut });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, output: out, timedOut });
    });
  });
}

// The installed tree private to the user, and its files read-only: they are shared, by hard
// links, with every version installed from the same entry, so an edit in place through one
// would change them all (a write-then-rename, as editors and tools do, breaks the link instead).
function sealTree(dir: string): void {
  privateTree(dir);
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) fs.chmodSync(p, fs.statSync(p).mode & 0o500);
    }
  };
  walk(dir);
}

// The cached tree into the staged code, replacing what the code brought under that name (a
// node_modules of the developer's: the lockfile decides, as npm ci does). Directories are made,
// files hard-linked (copied where a link cannot be made: another file system), links copied.
export function linkTree(from: string, to: string): void {
  fs.rmSync(to, { recursive: true, force: true });
  fs.mkdirSync(to, { mode: 0o700 });
  for (const e of fs.readdirSync(from, { withFileTypes: true })) {
    const src = path.join(from, e.name);
    const dst = path.join(to, e.name);
    if (e.isDirectory()) linkTree(src, dst);
    else if (e.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(src), dst);
    else if (e.isFile()) {
      try {
        fs.linkSync(src, dst);
      } catch (err) {
        if (!['EXDEV', 'EPERM', 'EMLINK'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
        fs.copyFileSync(src, dst);
        fs.chmodSync(dst, fs.statSync(src).mode & 0o700);
      }
    }
  }
}

// Scratch directories (.tmp-PID-...) of installs whose process is gone (killed mid-install).
function removeStaleScratch(cache: string): void {
  for (const n of fs.readdirSync(cache)) {
    const m = /^\.tmp-(\d+)-/.exec(n);
    if (m && Number(m[1]) !== process.pid && processStart(Number(m[1])) === null) fs.rmSync(path.join(cache, n), { recursive: true, force: true });
  }
}
