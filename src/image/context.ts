// faassctl image's build context, in a fresh directory: app/ (faass's runtime, runtime-files.ts),
// config/ (the function's file and the few gateway settings a call meets), data/ (its current
// code), and the Dockerfile (dockerfile.ts). No secret: their values stay in this host's store.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Paths, functionConfPath, resolvePaths } from '../core/paths';
import { codeDirOf } from '../functions/code-versions';
import { FunctionConfig } from '../functions/function-config';
import { Settings } from '../core/settings';
import { dockerfile } from './dockerfile';
import { runtimeFiles } from './runtime-files';

// faass's own install: dist/image/context.js is two levels under it.
const FAASS_ROOT = path.resolve(__dirname, '..', '..');

export interface ContainerFacts {
  readonly command: string; // what the function's container would run, as one command line
  readonly user?: string; // the image's USER when it is not root
}

export interface ContextInput {
  readonly paths: Paths;
  readonly cfg: FunctionConfig;
  readonly gw: Settings;
  readonly base: string;
  readonly container?: ContainerFacts;
  readonly root?: string; // faass's install, when not this one's (tests)
}

// Where the image's runner finds what it finds on a host: the same Paths, under other roots
// (config/ and data/ are copied to layout.ts CONFIG_HOME and DATA_HOME, its XDG directories).
const imagePaths = (dir: string): Paths => resolvePaths({ HOME: '/nonexistent', XDG_CONFIG_HOME: path.join(dir, 'config'), XDG_DATA_HOME: path.join(dir, 'data') });

// faass's own files (its install, the function's file): followed where they are links.
function copyInto(from: string, to: string): void {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.cpSync(from, to, { recursive: true, dereference: true, preserveTimestamps: false });
}

// The function's code: its links copied as links, as deploy keeps them (code-versions.ts
// stageCode), never followed: a link to /etc/shadow or to ~/.config/faass would otherwise put
// this host's file in the image. In the image a link leads to what the image has there, if
// anything (a link within the code still works).
function copyCode(from: string, to: string): void {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.cpSync(fs.realpathSync(from), to, { recursive: true, dereference: false, verbatimSymlinks: true, preserveTimestamps: false });
}

// The settings of faass.conf a call meets in the image (serve.ts): nothing else of the host's
// file (its addresses, TLS files, engine) goes in.
const settingsText = (gw: Settings): string => `[gateway]\nmax_body = ${gw.maxBody}\ntimeout = ${gw.timeout}\nheaders_timeout = ${gw.headersTimeout}\nlog_calls = ${gw.logCalls ? 'yes' : 'no'}\nmetrics = no\n`;

// The context directory; the caller removes it.
export function writeContext(i: ContextInput): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-image-'));
  const root = i.root ?? FAASS_ROOT;
  for (const rel of runtimeFiles(root, 'dist/image/serve.js')) copyInto(path.join(root, rel), path.join(dir, 'app', rel));
  const inside = imagePaths(dir);
  copyInto(functionConfPath(i.paths, i.cfg.name), functionConfPath(inside, i.cfg.name));
  fs.writeFileSync(path.join(inside.configDir, 'faass.conf'), settingsText(i.gw));
  // A container function's code is its image; the others' is the version the function runs.
  const from = codeDirOf(i.paths, i.cfg.name, i.cfg.version);
  const hasCode = i.cfg.runtime !== 'docker' && fs.existsSync(from) && fs.readdirSync(from).length > 0;
  if (hasCode) copyCode(from, path.join(inside.dataDir, 'functions', i.cfg.name));
  fs.writeFileSync(
    path.join(dir, 'Dockerfile'),
    dockerfile({ name: i.cfg.name, runtime: i.cfg.runtime, base: i.base, hasSecrets: i.cfg.secrets.length > 0, hasCode, functionImage: i.cfg.image, command: i.container?.command, user: i.container?.user }),
  );
  return dir;
}
