// The repository's top directory, for files tests read or run in place (man/, dist/, src/'s
// python worker, test/support's JavaScript, test/golden). Found by walking up to package.json,
// not by a fixed "../..": the same test runs from test/ (npx tap FILE.test.ts, tap's
// TypeScript loader) and compiled under dist-test/ (npm test, npm run test:unit).
import * as fs from 'node:fs';
import * as path from 'node:path';

function findRoot(dir: string): string {
  if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
  const up = path.dirname(dir);
  if (up === dir) throw new Error(`no package.json above ${__dirname}`);
  return findRoot(up);
}

export const ROOT = findRoot(__dirname);
