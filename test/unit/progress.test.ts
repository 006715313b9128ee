import t from 'tap';
import { BuildProgress } from '../../src/faassctl/progress';

const sink = (isTTY: boolean, columns = 40) => {
  const out = { isTTY, columns, text: '', write: (s: string) => (out.text += s) };
  return out;
};

t.test('not a terminal: every line, as it comes', async (t) => {
  const out = sink(false);
  const p = new BuildProgress(out);
  p.event({ kind: 'step', text: 'Step 1/2 : FROM x' });
  p.event({ kind: 'output', text: 'compiling' });
  p.event({ kind: 'step', text: 'Step 2/2 : CMD y' });
  p.done(true);
  t.match(out.text, /^Step 1\/2 : FROM x\n {2}compiling\nStep 2\/2 : CMD y\nBuilt in \d+\.\ds\n$/);
  t.notMatch(out.text, /\r|\x1b/, 'no terminal control characters in logs');
});

t.test('a terminal: steps stay, output is one status line rewritten in place', async (t) => {
  const out = sink(true, 30);
  const p = new BuildProgress(out);
  p.event({ kind: 'step', text: 'Step 1/2 : RUN make' });
  p.event({ kind: 'output', text: 'line one' });
  p.event({ kind: 'output', text: 'a very long line of compiler output that does not fit' });
  p.event({ kind: 'step', text: 'Step 2/2 : CMD y' });
  p.done(true);
  const screen = out.text.split('\n');
  t.equal(screen[0], 'Step 1/2 : RUN make');
  t.match(screen[1], /^\r\x1b\[K {2}\[\d+\.\ds\] line one\r\x1b\[K {2}\[\d+\.\ds\] a very long.*…\r\x1b\[KStep 2\/2 : CMD y$/, 'output overwritten, then cleared before the next step');
  for (const seg of screen[1].split('\r\x1b[K')) t.ok(seg.length <= 29, `status line fits the terminal: ${JSON.stringify(seg)}`);
  t.match(screen[2], /^Built in/);
});

t.test('a failed build clears the status line and says nothing more', async (t) => {
  const out = sink(true);
  const p = new BuildProgress(out);
  p.event({ kind: 'output', text: 'oops' });
  p.done(false);
  t.match(out.text, /oops\r\x1b\[K$/);
});
