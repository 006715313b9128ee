// The web console's size budget (issue 16): everything the gateway serves from dist/ui (src/ui
// and the vendored files scripts/ui-vendor.js lists, e.g. uPlot), gzipped file by file as a
// browser would fetch it, stays within 200 KB. A console for one host over any link, a phone's
// included, has no need of a framework; this is where one arriving, or a file growing without
// notice, is seen. Weighed at their sources, so no build is needed first.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { ROOT } from '../support/root';

const BUDGET = 200 * 1024;
// eslint-disable-next-line @typescript-eslint/no-var-requires
const VENDORED = require(path.join(ROOT, 'scripts', 'ui-vendor.js')) as Record<string, string>;

t.test('the whole console, gzipped, is within 200 KB', async (t) => {
  const dir = path.join(ROOT, 'src', 'ui');
  const own = (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile());
  t.ok(own.includes('index.html'), 'the console is there to weigh');
  const files: [string, string][] = [...own.map((f): [string, string] => [f, path.join(dir, f)]), ...Object.entries(VENDORED).map(([name, from]): [string, string] => [name, path.join(ROOT, from)])];
  let total = 0;
  for (const [name, file] of files) {
    const size = zlib.gzipSync(fs.readFileSync(file), { level: 9 }).length;
    t.comment(`${name}: ${size} B gzipped`);
    total += size;
  }
  t.comment(`total: ${total} B gzipped of ${BUDGET} B`);
  t.ok(total <= BUDGET, `${total} B gzipped, within ${BUDGET} B`);
});
