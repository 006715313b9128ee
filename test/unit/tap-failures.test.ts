// scripts/tap-failures.js: the end of a test run names what failed, with its diagnostics, so a
// CI log that keeps only the tail still says which assertion failed and why.
import path from 'node:path';
import t from 'tap';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const { TapFailures } = require(path.join(ROOT, 'scripts', 'tap-failures.js')) as {
  TapFailures: new () => { line(l: string): void; report(): string };
};

const STREAM = `# Subtest: dist-test/test/unit/a.test.js
    # Subtest: outer
        # Subtest: inner one
            not ok 1 - one is two
              ---
              diff: |
                -2
                +1
              ...
            ok 2 - fine
            1..2
        not ok 1 - inner one # time=43.013ms
          ---
          fail: 1
          ...
    not ok 1 - outer # time=63.301ms
not ok 1 - dist-test/test/unit/a.test.js # time=113.278ms
# Subtest: dist-test/test/unit/b.test.js
not ok 2 - dist-test/test/unit/b.test.js # time=90000ms
  ---
  signal: SIGTERM
  ...
ok 3 - dist-test/test/unit/c.test.js
`;

t.test('each failed assertion is named by its path, with its diagnostics; files that only hold them are not repeated', async (t) => {
  const f = new TapFailures();
  for (const l of STREAM.split('\n')) f.line(l);
  const report = f.report();
  t.match(report, 'What failed (2):');
  t.match(report, '- dist-test/test/unit/a.test.js > outer > inner one > one is two\n    diff: |\n      -2\n      +1');
  t.match(report, '- dist-test/test/unit/b.test.js\n    signal: SIGTERM', 'a file that timed out is named with why');
  t.notMatch(report, /^- .*> outer$/m, 'the parents of a failure are not listed again');
});

t.test('a run without failures adds nothing', async (t) => {
  const f = new TapFailures();
  f.line('ok 1 - dist-test/test/unit/c.test.js');
  t.equal(f.report(), '');
});
