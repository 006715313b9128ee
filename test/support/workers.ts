// The warm workers from source (src/runner/workers), as WorkerPool.forRuntime starts them, for
// unit tests that drive real workers: the node worker compiled as the build does (node16
// modules keep its import()), since a worker thread cannot load .ts without tap's loader
// compiling it again, slowly.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import { ROOT } from './root';

export const WORKERS = path.join(ROOT, 'src/runner/workers');

// Writes node-worker.js into dir; returns its path.
export function compileNodeWorker(dir: string): string {
  const file = path.join(dir, 'node-worker.js');
  fs.writeFileSync(
    file,
    ts.transpileModule(fs.readFileSync(path.join(WORKERS, 'node-worker.ts'), 'utf8'), {
      fileName: 'node-worker.ts',
      compilerOptions: { module: ts.ModuleKind.Node16, moduleResolution: ts.ModuleResolutionKind.Node16, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    }).outputText,
  );
  return file;
}
