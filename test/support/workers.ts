// The warm workers from source (src/runner/workers), as WorkerPool.forRuntime starts them, for
// unit tests that drive real workers: the node worker compiled as the build does (node16
// modules keep its import()), since a worker thread cannot load .ts without tap's loader
// compiling it again, slowly.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import { ROOT } from './root';

export const WORKERS = path.join(ROOT, 'src/runner/workers');

// Writes node-worker.js and the modules beside it (openfaas-node.js) into dir; returns its path.
export function compileNodeWorker(dir: string): string {
  for (const source of fs.readdirSync(WORKERS).filter((f) => f.endsWith('.ts'))) {
    fs.writeFileSync(
      path.join(dir, source.replace(/\.ts$/, '.js')),
      ts.transpileModule(fs.readFileSync(path.join(WORKERS, source), 'utf8'), {
        fileName: source,
        compilerOptions: { module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      }).outputText,
    );
  }
  return path.join(dir, 'node-worker.js');
}
