// Which of faass's own files a faassctl image carries: the compiled modules serve.js reaches
// through require() (followed from it, not listed by hand, so a new import comes along), the
// workers the runner starts by path, and the packages of node_modules those modules require,
// with the packages they depend on. Nothing else of faass (no faassctl, gateway, console).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { builtinModules } from 'node:module';

// Packages the image's runner never loads, though a module it reaches names them: each is
// required lazily, only where the image cannot be (a container function's calls through an
// engine: in the image its command runs in-process; sd_notify and journald's socket: no systemd
// in a pod). sd-notify and unix-dgram are native too, built for this host's node, not the base's.
const NOT_IN_IMAGE: ReadonlySet<string> = new Set(['dockerode', 'sd-notify', 'unix-dgram']);

// Started by path, not required: the node and python workers (runner/worker-pool.ts). Not the
// runner's faass-spawn.node (fast-spawn.ts, required by a computed path, so never followed): it
// is built against this host's glibc and Node, the base image may have neither; without it
// the image's runner starts exec functions with Node's spawn.
const BY_PATH = ['dist/runner/workers'];

const REQUIRE_RE = /\brequire\((['"])([^'"]+)\1\)/g;

const isBuiltin = (spec: string): boolean => builtinModules.includes(spec.split('/')[0]);
const packageName = (spec: string): string => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);

function resolveModule(from: string, spec: string): string | null {
  const base = path.resolve(path.dirname(from), spec);
  for (const f of [base, `${base}.js`, path.join(base, 'index.js')]) if (fs.statSync(f, { throwIfNoEntry: false })?.isFile()) return f;
  return null;
}

// A package's dependencies, found where node would: nested in it, else hoisted to the root.
function packageDirs(root: string, name: string, out: Set<string>, from = root): void {
  const nested = path.join(from, 'node_modules', name);
  const dir = fs.existsSync(nested) ? nested : path.join(root, 'node_modules', name);
  if (out.has(dir)) return;
  if (!fs.existsSync(path.join(dir, 'package.json'))) throw new Error(`faass's package ${name} is not installed in ${root}/node_modules (npm ci --omit=dev)`);
  out.add(dir);
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  for (const dep of Object.keys(pkg.dependencies ?? {})) if (!NOT_IN_IMAGE.has(dep)) packageDirs(root, dep, out, dir);
}

// Paths relative to root (faass's install: dist/, node_modules/, package.json), files and
// package directories, sorted.
export function runtimeFiles(root: string, entry: string): string[] {
  const modules = new Set<string>();
  const packages = new Set<string>();
  const todo = [path.join(root, entry)];
  while (todo.length) {
    const file = todo.pop() as string;
    if (modules.has(file)) continue;
    modules.add(file);
    for (const m of fs.readFileSync(file, 'utf8').matchAll(REQUIRE_RE)) {
      const spec = m[2];
      if (spec.startsWith('node:') || !/^[.@a-z]/.test(spec)) continue;
      if (spec.startsWith('.')) {
        const f = resolveModule(file, spec);
        if (f) todo.push(f);
      } else if (!NOT_IN_IMAGE.has(packageName(spec)) && !isBuiltin(spec)) packageDirs(root, packageName(spec), packages);
    }
  }
  const byPath = BY_PATH.map((p) => path.join(root, p)).filter((p) => fs.existsSync(p));
  return [...modules, ...packages, ...byPath, path.join(root, 'package.json')].map((f) => path.relative(root, f)).sort();
}

