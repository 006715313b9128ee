// faassctl image NAME [--tag T] [--image-prefix P] [--base IMAGE] (faassctl-image(1)): the
// function, or a service's app behind its front, as an OCI image that serves it on $PORT as faass does (src/image/), tagged with the
// reference faassctl export's manifests name for the same options (export/common.ts imageRefOf).
import * as fs from 'node:fs';
import { Paths } from '../core/paths';
import { FaassError, fail } from '../core/errors';
import { validateName } from '../core/validate';
import { FunctionConfig, IMAGE_RE, loadFunctionConfig } from '../functions/function-config';
import { loadDockerSettings, loadSettings } from '../core/settings';
import { splitCommand } from '../functions/command-line';
import { DEFAULT_IMAGE_PREFIX, IMAGE_PORT, imageRefOf } from '../export/common';
import { BuildEvent, buildImage } from '../docker/image-build';
import { configuredEngine, unreachableCode } from '../docker/engine';
import { ContainerFacts, writeContext } from '../image/context';
import { NODE_CHECK, PYTHON_CHECK } from '../image/dockerfile';
import { BuildProgress, withProgress } from './progress';
import { Register } from './cli';
import { sayWarnings } from './report';

// The bases when --base is not given: Debian's Node 20 images; python functions need python3
// too, which the full image has and the slim one does not.
export const DEFAULT_BASE = 'node:20-bookworm-slim';
export const DEFAULT_PYTHON_BASE = 'node:20-bookworm';
// Labels of the image (not faass.function: that one marks a function's own images and
// containers on this host, which faass removes).
export const IMAGE_LABEL = 'faass.image-of';

interface Args {
  name: string;
  tag?: string;
  imagePrefix: string;
  base?: string;
}

const baseOf = (cfg: FunctionConfig, given: string | undefined): string => given ?? (cfg.runtime === 'python' ? DEFAULT_PYTHON_BASE : DEFAULT_BASE);

const SIMPLE_ARG = /^[A-Za-z0-9_./=:,@%+-]+$/;
const shellQuote = (a: string): string => (SIMPLE_ARG.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

// What the function's container runs (its image's ENTRYPOINT, then command= or else its CMD),
// as a command line the runner splits as it splits command= (functions/command-line.ts).
export function containerCommand(cfg: FunctionConfig, entrypoint: readonly string[], cmd: readonly string[]): string {
  if (entrypoint.length === 0 && cfg.command !== undefined) return cfg.command;
  const argv = [...entrypoint, ...(cfg.command !== undefined ? splitCommand(cfg.command) : cmd)];
  if (argv.length === 0) fail('FAASS_E_CONFIG_INVALID', `Function ${cfg.name}: its image ${cfg.image} has no ENTRYPOINT or CMD and the function no command: nothing to run`);
  return argv.map(shellQuote).join(' ');
}

// The engine says ENTRYPOINT and CMD as a list, or (a shell form, old images) as one string.
const argvOf = (v: string | string[] | null | undefined): string[] => (v == null ? [] : Array.isArray(v) ? v : ['/bin/sh', '-c', v]);

async function containerFacts(paths: Paths, cfg: FunctionConfig): Promise<ContainerFacts> {
  const { docker, socketPath } = configuredEngine(paths);
  let info;
  try {
    info = await docker.getImage(cfg.image as string).inspect();
  } catch (e) {
    const code = unreachableCode(e);
    if (code) throw new FaassError('FAASS_E_ENGINE_UNREACHABLE', `The Docker engine at unix://${socketPath} is not reachable (${code})`);
    throw new FaassError('FAASS_E_IMAGE_MISSING', `The image of ${cfg.name}, ${cfg.image}, is not on this host's engine: faassctl build ${cfg.name}, or docker pull it`);
  }
  const user = info.Config?.User ?? '';
  return { command: containerCommand(cfg, argvOf(info.Config?.Entrypoint), argvOf(info.Config?.Cmd)), ...(user && !/^(root|0)(:.*)?$/.test(user) ? { user } : {}) };
}

// What the image will not do that the host does: check a caller's credential. Said before the
// build, so a function meant for some callers is not pushed as one open to all unawares.
// A service whose app listens on the image's port cannot have the front there too.
export function imageWarnings(cfg: FunctionConfig): string[] {
  const w: string[] = [];
  if (cfg.auth.length) w.push(`${cfg.name} is called by credentials only here (auth=${cfg.auth.join(',')}); its image checks none and answers whoever reaches it: put an authenticating ingress in front (faassctl-image(1))`);
  if (cfg.kind === 'service' && cfg.port === IMAGE_PORT) w.push(`${cfg.name}'s app listens on port ${IMAGE_PORT}, the image's own $PORT by default: run the image with another PORT (its front refuses to start on the app's port)`);
  return w;
}

// A failed check of the base, in one line (the build's own message names a RUN's exit code).
function baseProblem(cfg: FunctionConfig, base: string, lastStep: string, e: unknown): unknown {
  if (!(e instanceof FaassError) || e.code !== 'FAASS_E_BUILD_FAILED') return e;
  if (lastStep.includes(NODE_CHECK)) return new FaassError('FAASS_E_BUILD_FAILED', `The base image ${base} has no node 20 or later on its PATH: give --base an image that has (default ${DEFAULT_BASE})`);
  if (lastStep.includes(PYTHON_CHECK) || (cfg.runtime === 'python' && /python3/.test(lastStep))) return new FaassError('FAASS_E_BUILD_FAILED', `The base image ${base} has no python3 (3.8 or later) on its PATH, which python functions need: give --base an image with node 20 and python3 (default ${DEFAULT_PYTHON_BASE})`);
  return e;
}

export async function image(paths: Paths, a: Args): Promise<number> {
  validateName(a.name);
  if (a.base !== undefined && !IMAGE_RE.test(a.base)) fail('FAASS_E_USAGE', `Invalid --base ${JSON.stringify(a.base.slice(0, 120))}: expected an image reference such as ${DEFAULT_BASE}`);
  const cfg = loadFunctionConfig(paths, a.name);
  const target = imageRefOf(cfg, { imagePrefix: a.imagePrefix, tag: a.tag });
  const base = baseOf(cfg, a.base);
  sayWarnings(imageWarnings(cfg));
  const container = cfg.runtime === 'docker' ? await containerFacts(paths, cfg) : undefined;
  const dir = writeContext({ paths, cfg, gw: loadSettings(paths), base, container });
  const progress = new BuildProgress(process.stderr);
  let lastStep = '';
  const onEvent = (e: BuildEvent) => {
    if (e.kind === 'step') lastStep = e.text;
    progress.event(e);
  };
  try {
    await withProgress(progress, () => buildImage(loadDockerSettings(paths), a.name, dir, onEvent, { repo: target.repo, tag: target.tag, labels: { [IMAGE_LABEL]: a.name } })).catch((e) => {
      throw baseProblem(cfg, base, lastStep, e);
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(`${target.ref}\n`);
  return 0;
}

export const register: Register = (y, cli) =>
  y.command(
    'image <name>',
    'build an OCI image that serves the function on $PORT as faass does, for a cluster (faassctl-image(1))',
    (y) =>
      y
        .positional('name', { type: 'string', demandOption: true })
        .option('image-prefix', { type: 'string', default: DEFAULT_IMAGE_PREFIX, describe: 'the registry and path of the image: PREFIX/NAME:VERSION, as faassctl export names it' })
        .option('tag', { type: 'string', describe: "the image's tag (default: the function's version number, or latest)" })
        .option('base', { type: 'string', describe: `the image to build on: node 20 or later on its PATH (default ${DEFAULT_BASE}; python functions: ${DEFAULT_PYTHON_BASE}, which has python3)` }),
    (a) => cli.local(a, 'image', () => image(cli.paths, { name: a.name, tag: a.tag, imagePrefix: a.imagePrefix, base: a.base })),
  );
