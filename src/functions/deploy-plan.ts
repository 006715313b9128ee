// What a deploy will write, decided before anything is touched. Pure: the only view of the disk
// is the `exists` function it is given (is this file in the staged code?).
import * as path from 'node:path';
import { FunctionConfig, FunctionInput, buildFunctionConfig } from './function-config';
import { fail } from '../core/errors';
import { imageRepo } from '../docker/image-build';
import type { Author } from './versions';

export interface DeploySpec {
  name: string;
  input: FunctionInput; // config keys; file/handler may be derived from fromFile
  fromFile?: string; // a file or a directory to copy into the code directory
  handlerSpec?: string; // Kubeless FILE.NAME or NAME
  message?: string; // the version's message (versions.ts checkMessage)
  author?: Author; // who deploys: the API's credential; default the local user
}

const HANDLER_EXTS: Record<string, string[]> = { node: ['.js', '.mjs', '.cjs'], python: ['.py'], exec: [''] };
const DEFAULT_FILES: Record<string, string[]> = { node: ['handler.js', 'handler.mjs', 'index.js', 'index.mjs'], python: ['handler.py'] };

// Refuses what can be refused from the settings alone, before any code is staged or image built;
// returns the settings so judged (file and image may be placeholders).
export function checkSpec(spec: DeploySpec): FunctionConfig {
  const building = spec.input.build !== undefined;
  const codeGiven = (spec.fromFile || spec.handlerSpec) && spec.input.runtime !== 'docker';
  const cfg = buildFunctionConfig(spec.name, { ...spec.input, file: spec.input.file ?? (codeGiven ? 'placeholder' : undefined), image: building ? 'placeholder' : spec.input.image });
  if (building && spec.input.image !== undefined) fail('FAASS_E_USAGE', `Function ${spec.name}: image and build exclude each other (a build names its image ${imageRepo(spec.name)}:ID)`);
  return cfg;
}

// Derives file= and handler= from --from-file and --handler (Kubeless's FILE.NAME): a FILE
// without extension is looked up with the runtime's extensions in the staged code.
export function resolveHandler(spec: DeploySpec, runtime: string, isDir: boolean, exists: (file: string) => boolean): { file?: string; handler?: string } {
  let file = spec.input.file as string | undefined;
  let handler = spec.input.handler as string | undefined;
  if (spec.handlerSpec) {
    const dot = spec.handlerSpec.lastIndexOf('.');
    if (dot > 0) {
      handler = spec.handlerSpec.slice(dot + 1);
      const base = spec.handlerSpec.slice(0, dot);
      if (isDir || !file) file = (HANDLER_EXTS[runtime] ?? ['']).map((ext) => base + ext).find(exists) ?? file ?? base;
    } else handler = spec.handlerSpec;
  }
  // A directory that names no file: the one OpenFaaS's templates and Lambda's node use.
  if (isDir && file === undefined) file = (DEFAULT_FILES[runtime] ?? []).find(exists);
  return { file, handler };
}

// The settings to write: the spec's, with file= and handler= derived from the staged code.
export function planInput(spec: DeploySpec, isDir: boolean, exists: (file: string) => boolean): FunctionInput {
  const input: FunctionInput = { ...spec.input };
  if (spec.fromFile && !isDir && !input.file && input.runtime !== 'docker' && !spec.handlerSpec?.includes('.')) input.file = path.basename(spec.fromFile);
  const derived = resolveHandler(spec, String(input.runtime), isDir, exists);
  Object.assign(input, Object.fromEntries(Object.entries(derived).filter(([, v]) => v !== undefined)));
  return input;
}

// The function's config as it will be written; its file must be in the staged code.
export function planConfig(spec: DeploySpec, input: FunctionInput, exists: (file: string) => boolean): FunctionConfig {
  const cfg = buildFunctionConfig(spec.name, input);
  if (cfg.file !== undefined && !exists(cfg.file)) fail('FAASS_E_FILE_MISSING', `Function ${spec.name}: ${cfg.file} is not in the function's code${spec.fromFile ? ` (from ${spec.fromFile})` : ''}`);
  return cfg;
}

// Who may call a function is kept on an update that does not say (auth '' makes it public): a
// code or settings update, local or through the API, must not open a protected function by
// leaving a field out. `previous` is the function now: null when there is none, an Error when its
// file cannot be read; then its rules are unknown, and the update must say who may call (fail
// closed, never "public" by default).
export function carryAccess(name: string, input: FunctionInput, previous: FunctionConfig | null | Error): void {
  if (previous === null) return;
  if (previous instanceof Error) {
    if (input.auth !== undefined) return; // the update says; pass_authorization then defaults to off
    fail('FAASS_E_ACCESS_UNKNOWN', `Cannot tell who may call ${name}: ${previous.message}; say it with --auth NAME[,NAME...] or --public ("auth" through the API)`);
  }
  if (input.auth === undefined && previous.auth.length > 0) input.auth = previous.auth.join(',');
  if (input.pass_authorization === undefined && previous.passAuthorization) input.pass_authorization = true;
}

// A service whose app listens on the host's network must not take the gateway's port (the
// gateway's socket holds it: the app would never get ready, or on another address would answer
// in the gateway's place). An app in a network of its own (network=none) has its own ports.
export function checkServicePort(cfg: FunctionConfig, gatewayPorts: readonly number[]): void {
  const port = hostPort(cfg);
  if (port !== undefined && gatewayPorts.includes(port)) fail('FAASS_E_CONFIG_INVALID', `Service ${cfg.name}: port ${port} is the gateway's (listen, tls_listen or console_listen in faass.conf); choose another port (or network=none, a network of its own)`);
}

// The port a service's app holds on the host's loopback; none for a function, or for an app in a
// network of its own.
export const hostPort = (cfg: FunctionConfig): number | undefined => (cfg.kind === 'service' && cfg.network !== 'none' ? cfg.port : undefined);

// The same rule the other way (faassctl init): a gateway port newly given must not be a deployed
// service's, or the gateway's socket and the app would fight over it.
export function checkGatewayPorts(newPorts: readonly number[], services: readonly FunctionConfig[]): void {
  for (const cfg of services) {
    const port = hostPort(cfg);
    if (port !== undefined && newPorts.includes(port)) fail('FAASS_E_CONFIG_INVALID', `Port ${port} is service ${cfg.name}'s (its app listens on 127.0.0.1:${port}); choose another port for the gateway, or deploy ${cfg.name} on another port first`);
  }
}
