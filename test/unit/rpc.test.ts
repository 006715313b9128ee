import t from 'tap';
import { FrameDecoder, RPC_PREFACE, encodeFrame } from '../../src/core/rpc';

t.test('frames survive any chunking', async (t) => {
  const big = Buffer.alloc(200000, 7);
  const stream = Buffer.concat([RPC_PREFACE, encodeFrame(1, { m: 'POST', p: '/a?b', h: { x: 'y' } }, Buffer.from('one')), encodeFrame(2, { m: 'GET', p: '/', h: {} }, Buffer.alloc(0)), encodeFrame(3, { m: 'PUT', p: '/', h: {} }, big)]);
  for (const size of [1, 3, 13, 4096, stream.length]) {
    const d = new FrameDecoder<{ m: string; p: string }>(true);
    const got = [];
    for (let i = 0; i < stream.length; i += size) got.push(...d.push(stream.subarray(i, i + size)));
    t.same(
      got.map((f) => [f.id, f.meta.m, f.meta.p, f.body.length]),
      [
        [1, 'POST', '/a?b', 3],
        [2, 'GET', '/', 0],
        [3, 'PUT', '/', big.length],
      ],
      `chunks of ${size}`,
    );
    t.ok(got[2].body.equals(big), 'body intact');
  }
});

t.test('garbage is refused', async (t) => {
  t.throws(() => new FrameDecoder(true).push(Buffer.from('GET / HTTP/1.1\r\n\r\n')), /preface/);
  const short = Buffer.alloc(4);
  short.writeUInt32BE(3);
  t.throws(() => new FrameDecoder(false).push(short), /frame length/);
  const badMeta = Buffer.alloc(12);
  badMeta.writeUInt32BE(8, 0);
  badMeta.writeUInt32BE(1, 4);
  badMeta.writeUInt32BE(100, 8);
  t.throws(() => new FrameDecoder(false).push(badMeta), /meta length/);
});
