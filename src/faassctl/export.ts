// faassctl export [NAME...|--all|-f stack.yml] --to knative|kubernetes|openfaas [-o DIR]
// (faassctl-export(1)): this host's functions (or a stack file's) as manifests for a cluster.
// The mapping is src/export/'s; this reads the functions, says what does not map on stderr and
// writes the YAML to stdout or into DIR.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Paths } from '../core/paths';
import { fail } from '../core/errors';
import { STACK_FILE_MAX, readRegularFile } from '../core/bounded-read';
import { writeFileAtomic } from '../core/fs-atomic';
import { buildFunctionConfig, listFunctionNames, loadFunctionConfig } from '../functions/function-config';
import { loadTriggers } from '../functions/schedules';
import { loadTopics } from '../functions/topics';
import { parseStack } from '../stacks/stack-file';
import { toDeploySpec } from '../stacks/openfaas';
import { ExportFunction, TARGETS, TargetName } from '../export/mapping';
import { DEFAULT_IMAGE_PREFIX, ExportOptions } from '../export/common';
import { NOT_MAPPED_FILE, exportFunctions, renderFiles, renderStream } from '../export/render';
import { Register } from './cli';

interface Args {
  names: string[];
  all?: boolean;
  file?: string;
  to: TargetName;
  output?: string;
  imagePrefix: string;
  tag?: string;
}

const NO_TRIGGERS = { schedules: [], drops: [], nats: [] };

// A stack file's functions as faassctl up would deploy them (no triggers: a stack has none).
function fromStack(file: string): ExportFunction[] {
  const stack = parseStack(readRegularFile(file, STACK_FILE_MAX, 'stack file'), file, process.env, (f) => readRegularFile(f, STACK_FILE_MAX, 'environment_file'));
  return stack.functions.map((sf) => {
    const { spec } = toDeploySpec(sf, stack.dir);
    return { cfg: buildFunctionConfig(spec.name, spec.input), triggers: NO_TRIGGERS, topics: [] };
  });
}

function functionsOf(paths: Paths, a: Args): ExportFunction[] {
  const ways = [a.names.length > 0, a.all === true, a.file !== undefined].filter(Boolean).length;
  if (ways !== 1) fail('FAASS_E_USAGE', 'Say what to export: function NAMEs, --all, or -f stack.yml (one of them)');
  if (a.file !== undefined) return fromStack(a.file);
  const names = a.all ? listFunctionNames(paths) : [...new Set(a.names)];
  if (names.length === 0) fail('FAASS_E_FUNCTION_NOT_FOUND', 'No functions to export: none is deployed on this host');
  // Every name is read before anything is written: an unknown one exports nothing.
  return names.map((n) => ({ cfg: loadFunctionConfig(paths, n), triggers: loadTriggers(paths, n), topics: loadTopics(paths, n) }));
}

// -o DIR: made if missing, never a file; each file written whole (readers never see half).
function writeInto(dir: string, files: Record<string, string>): void {
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') fail('FAASS_E_USAGE', `Cannot use -o ${dir}: ${(e as NodeJS.ErrnoException).code}`);
  }
  if (st && !st.isDirectory()) fail('FAASS_E_USAGE', `-o ${dir} is not a directory: give a directory to write the manifests into`);
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileAtomic(path.join(dir, name), text, 0o644);
}

export function runExport(paths: Paths, a: Args): number {
  const fns = functionsOf(paths, a);
  const o: ExportOptions = { imagePrefix: a.imagePrefix, tag: a.tag };
  const e = exportFunctions(a.to, fns, o);
  if (a.output !== undefined) {
    const files = renderFiles(a.to, e, o);
    writeInto(a.output, files);
    process.stderr.write(`faassctl: wrote ${Object.keys(files).map((f) => path.join(a.output as string, f)).join(', ')}\n`);
  } else process.stdout.write(renderStream(a.to, e, o));
  for (const l of e.notMapped) process.stderr.write(`faassctl: ${l}\n`);
  if (e.notMapped.length && a.output !== undefined) process.stderr.write(`faassctl: ${e.notMapped.length} setting${e.notMapped.length === 1 ? '' : 's'} not mapped (listed in ${path.join(a.output, NOT_MAPPED_FILE)})\n`);
  return 0;
}

export const register: Register = (y, cli) =>
  y.command(
    'export [names..]',
    "write functions as Knative, Kubernetes or OpenFaaS manifests; say what does not map (faassctl-export(1))",
    (y) =>
      y
        .positional('names', { type: 'string', array: true, describe: 'functions deployed on this host' })
        .option('all', { type: 'boolean', describe: 'every function deployed on this host' })
        .option('file', { alias: 'f', type: 'string', describe: "a stack file's functions instead (OpenFaaS stack.yml format)" })
        .option('to', { type: 'string', choices: TARGETS, demandOption: true, describe: 'the target' })
        .option('output', { alias: 'o', type: 'string', describe: 'write a file per function (and NOT-MAPPED.txt) into this directory instead of YAML on stdout' })
        .option('image-prefix', { type: 'string', default: DEFAULT_IMAGE_PREFIX, describe: 'the registry and path of the images: PREFIX/NAME:VERSION' })
        .option('tag', { type: 'string', describe: "the images' tag (default: each function's version number)" }),
    (a) => cli.local(a, 'export', () => runExport(cli.paths, { names: (a.names as string[] | undefined) ?? [], all: a.all, file: a.file, to: a.to as TargetName, output: a.output, imagePrefix: a.imagePrefix, tag: a.tag })),
  );
