// The web console's size budget (issue 16): everything in src/ui, what the gateway serves from
// dist/ui, gzipped file by file as a browser would fetch it, stays within 200 KB. A console for
// one host over any link, a phone's included, has no need of a framework; this is where one
// arriving, or a file growing without notice, is seen.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { ROOT } from '../support/root';

const BUDGET = 200 * 1024;

t.test('the whole console, gzipped, is within 200 KB', async (t) => {
  const dir = path.join(ROOT, 'src', 'ui');
  const files = (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile());
  t.ok(files.includes('index.html'), 'the console is there to weigh');
  let total = 0;
  for (const f of files) {
    const size = zlib.gzipSync(fs.readFileSync(path.join(dir, f)), { level: 9 }).length;
    t.comment(`${f}: ${size} B gzipped`);
    total += size;
  }
  t.comment(`total: ${total} B gzipped of ${BUDGET} B`);
  t.ok(total <= BUDGET, `${total} B gzipped, within ${BUDGET} B`);
});
