// The error catalog and faassctl(1) DIAGNOSTICS say the same thing.
import t from 'tap';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ERRORS, FaassError } from '../../src/core/errors';
import { ROOT } from '../support/root';

t.test('every error code is documented with its status and exit code', async (t) => {
  const page = fs.readFileSync(path.join(ROOT, 'man', 'man1', 'faassctl.1'), 'utf8');
  const rows = new Map([...page.matchAll(/^\.It (FAASS_E_\w+) Ta (\d+) Ta (\d+)$/gm)].map((m) => [m[1], [Number(m[2]), Number(m[3])]]));
  for (const [code, e] of Object.entries(ERRORS)) t.same(rows.get(code), [e.status, e.exit], `${code} documented as HTTP ${e.status}, exit ${e.exit}`);
  t.same([...rows.keys()].sort(), Object.keys(ERRORS).sort(), 'and nothing else is');
  const err = new FaassError('FAASS_E_NAME_INVALID', 'x');
  t.same(err.toJSON(), { error: { code: 'FAASS_E_NAME_INVALID', message: 'x' } });
  t.equal(err.status, 400);
  t.equal(err.exitCode, 2);
});
