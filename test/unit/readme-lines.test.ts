// How test/integration/readme.test.ts reads README.md's command lines (test/support/readme.ts):
// the section's code blocks only, the comment left out as the shell would, ports replaced, and
// a line that is gone named in the failure.
import t from 'tap';
import { codeLines, findLine, stripComment, withPorts, without } from '../support/readme';

const md = ['# x', '## Set up and test', 'prose `not a line`', '```sh', './install.sh   # sets up', '', '```', '## Use it', '```sh', 'faassctl deploy web --port 9001  # one', 'faassctl deploy web --network host  # two', '```', '## Test', '```sh', 'npm test', '```'].join('\n');

t.test("a section's code lines, and nothing of the next section", async (t) => {
  t.same(codeLines(md, 'Set up'), ['./install.sh   # sets up']);
  t.same(codeLines(md, 'Use it'), ['faassctl deploy web --port 9001  # one', 'faassctl deploy web --network host  # two']);
  t.throws(() => codeLines(md, 'Nope'), /README.md has no section "## Nope"/);
});

t.test('the trailing comment goes, a # inside quotes or a word stays', async (t) => {
  t.equal(stripComment('curl -d you http://h:8080/f   # → Hello'), 'curl -d you http://h:8080/f');
  t.equal(stripComment("faassctl deploy x --command 'echo # not a comment'  # one"), "faassctl deploy x --command 'echo # not a comment'");
  t.equal(stripComment('curl "http://h/a#frag" x#y'), 'curl "http://h/a#frag" x#y');
  t.equal(stripComment('echo \\# literal'), 'echo \\# literal');
});

t.test('a line by its first words; a missing or ambiguous one is named', async (t) => {
  const lines = codeLines(md, 'Use it');
  t.equal(findLine(lines, 'here', 'faassctl deploy web', '--network host'), 'faassctl deploy web --network host');
  t.throws(() => findLine(lines, 'its "Use it" code blocks', 'faassctl deploy echo'), { message: 'README.md has no line starting "faassctl deploy echo" in its "Use it" code blocks: the README changed; update the test or the README' });
  t.throws(() => findLine(lines, 'here', 'faassctl deploy web'), /has 2 lines like its line starting "faassctl deploy web"/);
});

t.test('ports replaced where they stand alone; a part taken out or named', async (t) => {
  t.equal(withPorts('curl http://127.0.0.1:8080/x; echo 18080 80801', { 8080: 41000 }), 'curl http://127.0.0.1:41000/x; echo 18080 80801');
  t.equal(without('curl -H "A: b" -d x u', '-H "A: b" '), 'curl -d x u');
  t.throws(() => without('curl -d x u', '-H "A: b" '), /line "curl -d x u" has no -H "A: b"/);
});

