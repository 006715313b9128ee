// What of a service's leniently parsed answer the gateway refuses to pass on (gateway/headers.ts).
import t from 'tap';
import { answerProblem } from '../../src/gateway/headers';

t.test('a service answer that cannot be passed on', async (t) => {
  t.equal(answerProblem({ 'content-type': 'text/plain', 'content-length': '5', 'set-cookie': ['a=1', 'b=2'] }), null, 'an ordinary answer passes');
  t.equal(answerProblem({ 'x-latin': '\u00ff\u00fe', 'x-tab': 'a\tb' }), null, 'tabs and bytes past 0x7f are allowed in values');
  t.match(answerProblem({ 'content-length': '2', 'transfer-encoding': 'chunked' }), /ambiguous length/, 'both lengths: refused');
  const ctl = answerProblem({ 'x-secret': 'token\u0001value' });
  t.match(ctl, /control characters in the value of header x-secret/, 'a control character: refused, naming the header');
  t.notMatch(ctl ?? '', /token/, 'not its value');
  t.match(answerProblem({ 'set-cookie': ['ok=1', 'bad=\u0000'] }), /set-cookie/, 'in any of a repeated header');
});
