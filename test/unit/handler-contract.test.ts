// faass-handler(7) against the workers: the event and context fields the page lists for node and
// python, with their types, are exactly what real warm workers (src/runner/workers) pass to a
// handler, so the page cannot drift from the code.
import t, { type Test } from 'tap';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { WorkerPool } from '../../src/runner/worker-pool';
import { processTransport, threadTransport } from '../../src/runner/worker-transport';
import { buildFunctionConfig } from '../../src/functions/function-config';
import { Call } from '../../src/runner/call';
import { within } from '../support/within';
import { ROOT } from '../support/root';
import { compileNodeWorker, WORKERS } from '../support/workers';

t.setTimeout(120_000);

type Fields = Record<string, string[]>; // name → its types, sorted
interface Contract {
  event: Fields;
  context: Fields;
}

// A section's ".Ss The event" and ".Ss The context" lists: ".It Va NAME Pq Vt TYPE | TYPE".
function documented(section: string): Contract {
  const page = fs.readFileSync(path.join(ROOT, 'man/man7/faass-handler.7'), 'utf8');
  const body = page.split(/^\.Sh /m).find((s) => s.startsWith(section + '\n'));
  if (!body) throw new Error(`faass-handler(7) has no section ${section}`);
  const list = (title: string): Fields => {
    const sub = body.split(/^\.Ss /m).find((s) => s.startsWith(title + '\n'));
    if (!sub) throw new Error(`faass-handler(7) ${section} has no subsection ${title}`);
    const fields: Fields = {};
    for (const m of sub.matchAll(/^\.It Va (\S+) Pq Vt (.+)$/gm)) fields[m[1]] = m[2].split(' | ').sort();
    return fields;
  };
  return { event: list('The event'), context: list('The context') };
}

// What handlers saw over the calls, each field's types gathered.
function gather(seen: Contract[]): Contract {
  const merged: Contract = { event: {}, context: {} };
  for (const s of seen)
    for (const part of ['event', 'context'] as const)
      for (const [k, ty] of Object.entries(s[part])) merged[part][k] = [...new Set([...(merged[part][k] ?? []), ...ty])].sort();
  return merged;
}

// A JSON body and a text body: data is parsed in one and a string in the other.
const calls: Call[] = [
  { id: 'c1', method: 'POST', path: '/a', query: 'x=1', headers: { 'content-type': 'application/json' }, body: Buffer.from('{"k":1}') },
  { id: 'c2', method: 'GET', path: '/', query: '', headers: { 'content-type': 'text/plain' }, body: Buffer.from('text') },
];

async function observe(t: Test, pool: WorkerPool): Promise<Contract> {
  t.teardown(() => pool.close());
  const seen: Contract[] = [];
  for (const c of calls) {
    const r = await within(pool.invoke(c), 'answer');
    const types = JSON.parse(r.body.toString()) as Record<'event' | 'context', Record<string, string>>;
    seen.push({ event: Object.fromEntries(Object.entries(types.event).map(([k, v]) => [k, [v]])), context: Object.fromEntries(Object.entries(types.context).map(([k, v]) => [k, [v]])) });
  }
  return gather(seen);
}

function tempDir(t: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-contract-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('node: the event and context faass-handler(7) lists', async (t) => {
  const dir = tempDir(t);
  const worker = compileNodeWorker(dir);
  fs.writeFileSync(
    path.join(dir, 'handler.js'),
    `const kind = (v) => (Buffer.isBuffer(v) ? 'Buffer' : v === null ? 'null' : typeof v);
const types = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, kind(v)]));
module.exports = (event, context) => ({ event: types(event), context: types(context) });
`,
  );
  const cfg = buildFunctionConfig('contract', { runtime: 'node', file: 'handler.js', timeout: '5', workers: '1' });
  const pool = new WorkerPool(cfg, (on) => threadTransport(worker, { file: path.join(dir, 'handler.js'), exportName: '' }, {}, cfg.name, on, []));
  t.same(await observe(t, pool), documented('NODE'), 'fields and types as the page says');
});

t.test('python: the event and context faass-handler(7) lists', async (t) => {
  const dir = tempDir(t);
  fs.writeFileSync(
    path.join(dir, 'handler.py'),
    `def kind(v):
    if callable(v):
        return "function"
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return "number"
    return type(v).__name__


def handle(event, context):
    return {"event": {k: kind(v) for k, v in event.items()}, "context": {k: kind(v) for k, v in context.items()}}
`,
  );
  const cfg = buildFunctionConfig('contract', { runtime: 'python', file: 'handler.py', timeout: '5', workers: '1' });
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', PYTHONDONTWRITEBYTECODE: '1' };
  const pool = new WorkerPool(cfg, (on) => processTransport(['python3', path.join(WORKERS, 'python-worker.py'), path.join(dir, 'handler.py'), ''], dir, env, cfg.name, on));
  t.same(await observe(t, pool), documented('PYTHON'), 'fields and types as the page says');
});
