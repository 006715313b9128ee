// An export as text (pure): YAML documents with a head saying where the image comes from and
// how to make the Secrets, as one stream (stdout) or as the files of -o DIR.
import { stringify } from 'yaml';
import { TargetName, ExportFunction } from './mapping';
import { Doc, ExportOptions, Exported } from './common';
import { toKnative } from './knative';
import { toKubernetes } from './kubernetes';
import { toOpenfaas } from './openfaas';

export const NOT_MAPPED_FILE = 'NOT-MAPPED.txt';
export const SECRETS_FILE = 'SECRETS.txt';

const EXPORTERS: Record<TargetName, (fns: readonly ExportFunction[], o: ExportOptions) => Exported> = { knative: toKnative, kubernetes: toKubernetes, openfaas: toOpenfaas };

export const exportFunctions = (target: TargetName, fns: readonly ExportFunction[], o: ExportOptions): Exported => EXPORTERS[target](fns, o);

// No line folding: a long env value or body stays on its line, as written.
const yamlOf = (d: Doc): string => stringify(d, { lineWidth: 0 });

function head(target: TargetName, e: Exported, o: ExportOptions): string {
  return [
    `# faassctl export --to ${target} (faassctl-export(1))`,
    `# Each function runs as the image ${o.imagePrefix}/NAME:VERSION: build and push it first (faassctl image NAME with the same --image-prefix and --tag: faassctl-image(1)).`,
    ...(e.secretCommands.length ? ['# Make the Secrets first (the values are not exported):', ...e.secretCommands.map((c) => `#   ${c}`)] : []),
    '',
  ].join('\n');
}

export function renderStream(target: TargetName, e: Exported, o: ExportOptions): string {
  return head(target, e, o) + e.manifests.flatMap((m) => m.docs).map(yamlOf).join('---\n');
}

// File name -> text: a manifest file per function (openfaas: one stack.yml), NOT-MAPPED.txt
// (empty when everything maps) and, where the functions have secrets, SECRETS.txt.
export function renderFiles(target: TargetName, e: Exported, o: ExportOptions): Record<string, string> {
  const files: Record<string, string> = {};
  for (const m of e.manifests) files[m.file] = head(target, e, o) + m.docs.map(yamlOf).join('---\n');
  files[NOT_MAPPED_FILE] = e.notMapped.map((l) => `${l}\n`).join('');
  if (e.secretCommands.length) files[SECRETS_FILE] = e.secretCommands.map((l) => `${l}\n`).join('');
  return files;
}
