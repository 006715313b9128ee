// Images without a registry: a function's build context (a directory of its code with a
// Dockerfile) built through dockerode, tagged faass/NAME:ID (the first 12 hex digits of the
// image id), so a rebuild that changes anything is a new image reference, which recreates
// service containers and is what the next call uses.
import type Docker from 'dockerode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tar from 'tar';
import ignore from '@balena/dockerignore';
import type { DockerSettings } from '../core/settings';
import { formatSeconds } from '../core/timespan';
import { fail, FaassError } from '../core/errors';
import { LABEL } from './names';
import { engineClient, unreachableCode } from './engine';

export type BuildEvent = { kind: 'step'; text: string } | { kind: 'output'; text: string };

export const imageRepo = (name: string): string => `faass/${name}`;

function engineError(socketPath: string, e: unknown): FaassError {
  const err = e as NodeJS.ErrnoException & { statusCode?: number; json?: { message?: string } };
  const unreachable = unreachableCode(e);
  if (unreachable) return new FaassError('FAASS_E_ENGINE_UNREACHABLE', `The Docker engine at unix://${socketPath} is not reachable (${unreachable})`);
  return new FaassError('FAASS_E_BUILD_FAILED', `Build failed: ${(err.json?.message ?? err.message ?? String(e)).trim()}`);
}

// Every regular file and link under dir, relative, for the build's tar: what docker build sends,
// so less what .dockerignore excludes (Docker's rules, @balena/dockerignore: a port of the
// engine's matcher; a 2 GiB unused file used to be sent). The Dockerfile and .dockerignore go
// always, as docker build sends them (the engine needs the one, COPY sees neither when ignored).
// An ignored directory is not walked unless a `!` rule may take something in it back.
export function contextFiles(dir: string): string[] {
  const rules = readDockerignore(dir);
  const mayReinclude = rules.some((r) => r.trim().startsWith('!'));
  const ig = ignore().add(rules);
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const ent of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${ent.name}` : ent.name;
      const ignored = ig.ignores(p) && !ALWAYS_SENT.has(p);
      if (ent.isDirectory()) {
        if (!ignored || mayReinclude) walk(p);
      } else if ((ent.isFile() || ent.isSymbolicLink()) && !ignored) out.push(p);
    }
  };
  walk('');
  return out.sort();
}

const ALWAYS_SENT = new Set(['Dockerfile', '.dockerignore']);

function readDockerignore(dir: string): string[] {
  try {
    return fs.readFileSync(path.join(dir, '.dockerignore'), 'utf8').split(/\r?\n/);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new FaassError('FAASS_E_FILE_MISSING', `Cannot read ${path.join(dir, '.dockerignore')}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

// The build context as a tar whose modes are what a checkout has (0644, 0755 when executable):
// faass keeps its copy of the code private (0600/0700, core/private-files.ts), and an image
// copies modes as they come, so a container running as another user could not read its files.
export function contextTar(dir: string, files: string[]): NodeJS.ReadableStream {
  const shareable = (mode: number) => mode | ((mode & 0o500) >> 3) | ((mode & 0o500) >> 6);
  return tar.c({ cwd: dir, portable: true, onWriteEntry: (e) => e.stat && (e.stat.mode = shareable(e.stat.mode)) }, files) as unknown as NodeJS.ReadableStream;
}

// Builds contextDir/Dockerfile; resolves with the image reference. Build steps run with no
// network (there is no registry to reach, and a build must not reach out on its own). A build
// that takes longer than [docker] build_timeout is cancelled: its request to the engine is
// aborted, which cancels the build there (the classic builder kills the step's container, and
// forcerm removes it), and the caller keeps the image it had.
// as: the reference to tag the image with and its labels (faassctl image); default faass/NAME:ID
// labelled as the function's (pruneImages removes those).
export interface BuildAs {
  readonly repo: string;
  readonly tag: string;
  readonly labels: Record<string, string>;
}

export async function buildImage(docker: DockerSettings, name: string, contextDir: string, onEvent: (e: BuildEvent) => void, as?: BuildAs): Promise<string> {
  if (!fs.statSync(contextDir, { throwIfNoEntry: false })?.isDirectory()) fail('FAASS_E_FILE_MISSING', `Build context ${contextDir} is not a directory`);
  if (!fs.existsSync(path.join(contextDir, 'Dockerfile'))) fail('FAASS_E_FILE_MISSING', `No Dockerfile in the build context of ${name} (${contextDir})`);
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), docker.buildTimeout * 1000);
  try {
    return await build(docker.socketPath, name, contextDir, onEvent, abort.signal, as);
  } catch (e) {
    if (!abort.signal.aborted) throw e;
    throw new FaassError('FAASS_E_BUILD_FAILED', `Build of ${name} was cancelled after build_timeout=${formatSeconds(docker.buildTimeout)} ([docker] in faass.conf); ${name} keeps the image it had`);
  } finally {
    clearTimeout(timer);
  }
}

async function build(socketPath: string, name: string, contextDir: string, onEvent: (e: BuildEvent) => void, signal: AbortSignal, as?: BuildAs): Promise<string> {
  const d = engineClient(socketPath);
  let stream: NodeJS.ReadableStream;
  try {
    stream = await d.buildImage(contextTar(contextDir, contextFiles(contextDir)), { networkmode: 'none', rm: true, forcerm: true, labels: as?.labels ?? { [LABEL]: name }, abortSignal: signal });
  } catch (e) {
    throw engineError(socketPath, e);
  }
  let id: string | null = null;
  let error: string | null = null;
  let partial = '';
  await new Promise<void>((resolve, reject) => {
    d.modem.followProgress(
      stream,
      (err: Error | null) => (err && !error ? reject(engineError(socketPath, err)) : resolve()),
      (ev: { stream?: string; aux?: { ID?: string }; error?: string; errorDetail?: { message?: string } }) => {
        if (ev.error || ev.errorDetail) error = (ev.errorDetail?.message ?? ev.error ?? 'unknown error').trim();
        if (ev.aux?.ID) id = ev.aux.ID;
        if (ev.stream === undefined) return;
        // Lines may arrive split across events ("Step 1/4 : FROM x" then "\n").
        const lines = (partial + ev.stream).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          if (line.trim() === '') continue;
          onEvent(/^Step \d+\/\d+ : /.test(line) ? { kind: 'step', text: line } : { kind: 'output', text: line });
        }
      },
    );
  });
  if (partial.trim()) onEvent({ kind: /^Step \d+\/\d+ : /.test(partial) ? 'step' : 'output', text: partial });
  if (error !== null) fail('FAASS_E_BUILD_FAILED', `Build of ${name} failed: ${(error as string).split('\n')[0]}`);
  if (id === null) fail('FAASS_E_BUILD_FAILED', `Build of ${name} ended without an image`);
  const to = as ?? { repo: imageRepo(name), tag: (id as string).replace(/^sha256:/, '').slice(0, 12) };
  if (signal.aborted) throw new Error('aborted'); // the end of an aborted stream is no image
  try {
    await d.getImage(id).tag({ repo: to.repo, tag: to.tag });
  } catch (e) {
    throw engineError(socketPath, e);
  }
  return `${to.repo}:${to.tag}`;
}

// Removes faass/NAME images but keep (a container still using one keeps it: errors are ignored).
export async function pruneImages(socketPath: string, name: string, keep: string[]): Promise<void> {
  const d = engineClient(socketPath);
  let images: Docker.ImageInfo[];
  try {
    images = await d.listImages({ filters: { reference: [`${imageRepo(name)}:*`] } });
  } catch {
    return;
  }
  for (const img of images) {
    for (const ref of img.RepoTags ?? []) {
      if (keep.includes(ref)) continue;
      await d
        .getImage(ref)
        .remove()
        .catch(() => undefined);
    }
  }
}
