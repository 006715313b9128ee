// faassctl up -f stack.yml --gateway URL: the stack file read, checked and mapped here (as a
// local up: line-numbered refusals, ignored keys said on stderr), then ONE request to POST
// /system/stack/NAME/up carrying a tar.gz of stack.json (the mapped settings) and fn/NAME/ (each
// function's code), the format api/stack-manifest.ts checks. The server plans and applies.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fail } from '../core/errors';
import type { DeploySpec } from '../functions/deploy-plan';
import { checkFilter, type PlanEntry } from '../functions/stack-deploy';
import type { Recovered } from '../functions/apply-units';
import { CODE_DIR, MANIFEST, ManifestFunction } from '../api/stack-manifest';
import { Target, send, replyError } from './client';
import { tarGz } from './remote';
import { sayRecovered, sayWarnings } from './report';

export interface UpArgs {
  dryRun?: boolean;
  filter?: string[];
  message?: string;
}

// Copies each function's code under fn/NAME (links kept as links: the server's checks judge
// them, as for a deploy's upload) and writes the manifest; returns the archive.
async function pack(specs: DeploySpec[], a: UpArgs): Promise<Buffer> {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faassctl-up-'));
  try {
    const functions = specs.map((s): ManifestFunction => {
      if (s.fromFile === undefined) return { name: s.name, input: s.input };
      const st = fs.statSync(s.fromFile, { throwIfNoEntry: false });
      if (!st || (!st.isDirectory() && !st.isFile())) return fail('FAASS_E_FILE_MISSING', `Function ${s.name}: cannot read ${s.fromFile}: no such file or directory`);
      const dir = path.join(tmp, CODE_DIR, s.name);
      if (st.isDirectory()) {
        fs.cpSync(s.fromFile, dir, { recursive: true, verbatimSymlinks: true });
        return { name: s.name, input: s.input, code: `${CODE_DIR}/${s.name}` };
      }
      fs.mkdirSync(dir, { recursive: true });
      fs.copyFileSync(s.fromFile, path.join(dir, path.basename(s.fromFile)));
      return { name: s.name, input: s.input, code: `${CODE_DIR}/${s.name}/${path.basename(s.fromFile)}` };
    });
    const manifest = { functions, ...(a.filter?.length ? { filter: a.filter } : {}), ...(a.message !== undefined ? { message: a.message } : {}), dry_run: a.dryRun === true };
    fs.writeFileSync(path.join(tmp, MANIFEST), JSON.stringify(manifest, null, 1));
    return await tarGz(tmp);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

interface UpAnswer {
  plan: PlanEntry[];
  version: number | null;
  fresh: boolean;
  recovered: Recovered | null;
  warnings: string[];
}

export async function remoteUp(t: Target, stack: string, specs: DeploySpec[], a: UpArgs, printPlan: (plan: PlanEntry[]) => void): Promise<number> {
  // With --filter only those functions go (the server plans no others and deletes none).
  const filter = checkFilter(specs, a.filter);
  const body = await pack(filter ? specs.filter((s) => filter.includes(s.name)) : specs, a);
  const r = await send(t, 'POST', `/system/stack/${stack}/up`, { headers: { 'content-type': 'application/gzip' }, body });
  if (r.status >= 300) throw replyError(t, r);
  const u = JSON.parse(r.body.toString('utf8')) as UpAnswer;
  sayRecovered(u.recovered ?? undefined);
  printPlan(u.plan);
  const v = u.version !== null ? `version ${u.version}` : '';
  if (a.dryRun) process.stdout.write(`Dry run: nothing changed (stack ${stack}${v ? `, ${v}` : ''} on ${t.label})\n`);
  else if (!u.fresh) process.stdout.write(`Stack ${stack} unchanged${v ? `, still ${v}` : ''} on ${t.label}\n`);
  else process.stdout.write(`Stack ${stack} is ${v} on ${t.label} (${body.length} bytes uploaded)\n`);
  sayWarnings(u.warnings);
  return 0;
}
