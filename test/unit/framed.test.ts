import t from 'tap';
import { parseFramed, encodeFramed } from '../../src/runner/framed';

const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

t.test('a well-formed frame', async (t) => {
  const r = parseFramed(encodeFramed(201, { 'X-A': 'b' }, 'body'));
  t.ok(r.ok);
  if (r.ok) {
    t.equal(r.value.status, 201);
    t.same(r.value.headers, { 'X-A': 'b' });
    t.equal(r.value.body.toString(), 'body');
  }
  const empty = parseFramed(Buffer.concat([u32(12), Buffer.from('{"code":204}'), u32(0)]));
  t.ok(empty.ok, 'empty body and no headers');
});

t.test('malformed frames are reported, never thrown', async (t) => {
  const cases: [string, Buffer, RegExp][] = [
    ['empty', Buffer.alloc(0), /too short/],
    ['3 bytes', Buffer.from([0, 0, 1]), /too short/],
    ['header longer than output', Buffer.concat([u32(100), Buffer.from('{}')]), /only/],
    ['header over the cap', Buffer.concat([u32(0xffffffff), Buffer.from('{}')]), /exceeds/],
    ['not JSON', Buffer.concat([u32(3), Buffer.from('{{{'), u32(0)]), /not JSON/],
    ['JSON array', Buffer.concat([u32(2), Buffer.from('[]'), u32(0)]), /not an object/],
    ['code a string', Buffer.concat([u32(14), Buffer.from('{"code":"200"}'), u32(0)]), /integer HTTP status/],
    ['code not an integer', Buffer.concat([u32(12), Buffer.from('{"code":2.5}'), u32(0)]), /integer HTTP status/],
    ['headers an array', Buffer.concat([u32(26), Buffer.from('{"code":200,"headers":[1]}'), u32(0)]), /"headers" must be an object/],
    ['header value with CRLF', encodeFramed(200, { 'X-A': 'a\r\nb' }, ''), /invalid value/],
    ['header name with space', encodeFramed(200, { 'X A': 'b' }, ''), /invalid response header name/],
    ['body shorter than said', Buffer.concat([u32(12), Buffer.from('{"code":200}'), u32(10), Buffer.from('abc')]), /says 10 bytes but 3/],
    ['trailing bytes', Buffer.concat([encodeFramed(200, {}, 'x'), Buffer.from('junk')]), /says 1 bytes but 5/],
    ['no body length', Buffer.concat([u32(12), Buffer.from('{"code":200}')]), /need/],
  ];
  for (const [name, buf, re] of cases) {
    const r = parseFramed(buf);
    t.notOk(r.ok, `${name}: refused`);
    if (!r.ok) t.match(r.reason, re, `${name}: ${r.reason}`);
  }
});
