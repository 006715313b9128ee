// A function's dependencies (issue 15; docs/DESIGN.md "Dependencies"): what a deploy installs,
// what its install cache is keyed by, and what a failed install says. Pure: the files of the
// staged code come in as text (read by deps-install.ts, which runs the tools).
import { createHash } from 'node:crypto';
import { fail } from '../core/errors';

export type DepsTool = 'npm' | 'pip';

export interface DepsPlan {
  tool: DepsTool;
  files: string[]; // the code's files the install reads, by name (the first one is the lockfile)
  target: string; // what the install makes, at the top of the code: node_modules or .python_packages
}

// Where pip puts requirements.txt's packages; the python runner puts it on sys.path (PYTHONPATH).
export const PYTHON_TARGET = '.python_packages';

// The files of the code an install reads, by runtime (the lockfiles in the order npm reads them).
const NPM_LOCKS = ['npm-shrinkwrap.json', 'package-lock.json'];
export const DEPS_FILES: Readonly<Record<string, readonly string[]>> = { node: ['package.json', ...NPM_LOCKS], python: ['requirements.txt'] };

// Which install a function's code asks for, or null: node with package.json (and a lockfile,
// npm-shrinkwrap.json first, as npm itself reads them), python with requirements.txt. Other
// runtimes install nothing (a command or an image brings its own). read: a file of the code.
export function depsPlan(name: string, runtime: string, has: (file: string) => boolean, read: (file: string) => string): DepsPlan | null {
  if (runtime === 'node' && has('package.json')) {
    const lock = NPM_LOCKS.find(has);
    // A package.json that only says how to load the code ("type": "module") installs nothing.
    if (lock === undefined && !declaresDependencies(name, read('package.json'))) return null;
    // Without a lockfile a deploy would install whatever the registry serves that day: two
    // deploys of the same code could run different libraries, and no cache key could say which.
    if (lock === undefined) fail('FAASS_E_INSTALL_FAILED', `Function ${name}: its code has package.json but no package-lock.json (or npm-shrinkwrap.json); run npm install where you write it and deploy the lockfile with it`);
    return { tool: 'npm', files: [lock, 'package.json'], target: 'node_modules' };
  }
  if (runtime === 'python' && has('requirements.txt')) return { tool: 'pip', files: ['requirements.txt'], target: PYTHON_TARGET };
  return null;
}

// What package.json says npm ci may compare with the lockfile, and nothing else: the install runs
// with this instead of the function's own package.json, so the function's scripts (preinstall,
// prepare, ...) do not run at deploy (its code is what was deployed) and its other fields do
// not change the cache key. Dependencies' own install scripts run as npm decides: faass adds no
// --ignore-scripts (native modules must build), and allowScripts (npm 11's approvals) is kept.
const MANIFEST_FIELDS = ['name', 'version', 'dependencies', 'devDependencies', 'optionalDependencies', 'peerDependencies', 'peerDependenciesMeta', 'bundleDependencies', 'bundledDependencies', 'overrides', 'allowScripts'];

function parsePackage(name: string, packageJson: string): Record<string, unknown> {
  let pkg: unknown;
  try {
    pkg = JSON.parse(packageJson);
  } catch (e) {
    fail('FAASS_E_INSTALL_FAILED', `Function ${name}: package.json is not valid JSON (${(e as Error).message.slice(0, 120)})`);
  }
  if (typeof pkg !== 'object' || pkg === null || Array.isArray(pkg)) fail('FAASS_E_INSTALL_FAILED', `Function ${name}: package.json is not a JSON object`);
  return pkg as Record<string, unknown>;
}

// Whether npm ci --omit=dev would install anything: devDependencies alone install nothing.
function declaresDependencies(name: string, packageJson: string): boolean {
  const p = parsePackage(name, packageJson);
  return ['dependencies', 'optionalDependencies', 'peerDependencies'].some((k) => typeof p[k] === 'object' && p[k] !== null && Object.keys(p[k] as object).length > 0);
}

export function installManifest(name: string, packageJson: string): string {
  const p = parsePackage(name, packageJson);
  if (p.workspaces !== undefined) fail('FAASS_E_INSTALL_FAILED', `Function ${name}: package.json has workspaces, which a function's install does not take; deploy each package's code as a function of its own`);
  return JSON.stringify(Object.fromEntries(MANIFEST_FIELDS.filter((k) => p[k] !== undefined).map((k) => [k, p[k]])), null, 2) + '\n';
}

// The lockfile's packages must all come from a registry or a URL: a local path (file:, a link)
// names files the install, run apart from the code, would not see, and the cache key would not
// cover. Refused by name.
export function checkLockfile(name: string, file: string, text: string): void {
  let lock: { packages?: Record<string, { resolved?: unknown; link?: unknown }> };
  try {
    lock = JSON.parse(text) as typeof lock;
  } catch (e) {
    fail('FAASS_E_INSTALL_FAILED', `Function ${name}: ${file} is not valid JSON (${(e as Error).message.slice(0, 120)})`);
  }
  if (typeof lock !== 'object' || lock === null || typeof lock.packages !== 'object' || lock.packages === null) fail('FAASS_E_INSTALL_FAILED', `Function ${name}: ${file} has no "packages" (lockfileVersion 2 or 3, npm 7 or newer); run npm install with a current npm and deploy again`);
  for (const [where, p] of Object.entries(lock.packages)) {
    if (where === '') continue;
    if (p?.link === true || (typeof p?.resolved === 'string' && p.resolved.startsWith('file:'))) fail('FAASS_E_INSTALL_FAILED', `Function ${name}: ${file} installs ${where.replace(/^.*node_modules\//, '')} from a local path; a function's dependencies come from a registry (npm pack it and publish it, or put it in the code)`);
  }
}

// requirements.txt lines that name other files or local paths: what they point to is neither
// installed apart from the code nor covered by the cache key. Options of the index (--index-url,
// --find-links, ...) and plain requirements pass.
export function checkRequirements(name: string, text: string): void {
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (line === '') return;
    const local = /^(-r|--requirement|-c|--constraint|-e|--editable)(\s|=|$)/.test(line) ? 'another file or an editable install' : /^(\.{1,2}\/|\/|file:)/.test(line) || /@\s*file:/.test(line) ? 'a local path' : null;
    if (local !== null) fail('FAASS_E_INSTALL_FAILED', `Function ${name}: requirements.txt line ${i + 1} names ${local}, which the install does not see; list every requirement in requirements.txt itself (pip freeze writes such a file)`);
  });
}

// The cache key: the install's inputs (its tool, the files it reads, as given to it) and what the
// installed tree depends on besides (the interpreter's version and ABI, the machine). The same
// key is the same tree; anything else is installed again.
export function cacheKey(tool: DepsTool, inputs: readonly (readonly [string, string])[], runtime: string): string {
  const h = createHash('sha256').update(`faass-deps 1\0${tool}\0${runtime}\0`);
  for (const [file, text] of inputs) h.update(`${file}\0${Buffer.byteLength(text)}\0${text}\0`);
  return h.digest('hex');
}

// Credentials in URLs (https://user:token@host/...) never reach an error or a log of faass's.
export const redact = (text: string): string => text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]+@/gi, '$1***@');

// The tool's last lines, for the log it leaves (at most n).
export function lastLines(output: string, n: number): string[] {
  return output.split('\n').map((l) => l.trimEnd()).filter((l) => l !== '').slice(-n);
}

const NET_CODES = /\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|ECONNRESET)\b/;
const PIP_NET = /(NewConnectionError|Failed to establish a new connection|Temporary failure in name resolution|Network is unreachable|ConnectTimeoutError|Connection refused|ProxyError)/;

export interface InstallFailure {
  unreachable: boolean; // the registry could not be reached (and the local caches lacked something)
  line: string; // one line: what failed, in the tool's words
}

// What a failed install says, in one line, from the tool's output (npm's error lines, pip's
// ERROR lines). `unreachable` when the tool could not reach its registry: then what it could not
// fetch is named.
export function installFailure(tool: DepsTool, output: string): InstallFailure {
  const text = redact(output);
  if (tool === 'npm') {
    const errors = text.split('\n').filter((l) => /^npm (error|ERR!) /.test(l)).map((l) => l.replace(/^npm (error|ERR!) /, '').trim());
    const fetch = errors.find((l) => /request to \S+ failed/.test(l));
    if (fetch !== undefined || errors.some((l) => NET_CODES.test(l) && /^code /.test(l))) {
      const what = /request to (\S+) failed, reason: (.*)$/.exec(fetch ?? '');
      return { unreachable: true, line: what ? `npm cannot reach the registry for ${packageOf(what[1])} (${what[2].trim()}), and the npm cache does not hold it` : 'npm cannot reach the registry, and the npm cache does not hold every package' };
    }
    const said = errors.find((l) => l !== '' && !/^(code|errno|syscall|path|dest) /.test(l) && !/^A complete log/.test(l) && !/^\s*at /.test(l) && !/^[{}]/.test(l));
    return { unreachable: false, line: `npm ci failed: ${said ?? lastLines(text, 1)[0] ?? 'no output'}` };
  }
  const errors = text.split('\n').filter((l) => /^ERROR: /.test(l)).map((l) => l.slice(7).trim());
  const missing = errors.map((l) => /No matching distribution found for (.+)$/.exec(l)?.[1]).find((m) => m !== undefined);
  if (missing && PIP_NET.test(text)) {
    const url = /Could not fetch URL (\S+?): connection error/.exec(text)?.[1];
    return { unreachable: true, line: `pip cannot reach the package index${url ? ` (${url})` : ''} for ${missing}, and neither its cache nor its find-links hold it` };
  }
  if (missing) return { unreachable: false, line: `pip found no distribution of ${missing} in its index or find-links` };
  return { unreachable: false, line: `pip install failed: ${errors[errors.length - 1] ?? lastLines(text, 1)[0] ?? 'no output'}` };
}

// A tarball's URL (…/NAME/-/NAME-1.2.3.tgz, @scope/NAME too) as NAME-1.2.3; else the URL.
function packageOf(url: string): string {
  const m = /\/-\/([^/]+)\.tgz$/.exec(url);
  return m ? m[1] : url;
}
