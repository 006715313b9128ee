// Logging never blocks on journald (issue 11, item 4): the bounded queue, the native protocol's
// framing, and the sender against a socket that says "full" until told otherwise; then the real
// non-blocking socket against a receiver this test stops (SIGSTOP) and resumes.
import t from 'tap';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { once } from 'node:events';
import { BoundedQueue } from '../../src/observe/bounded-queue';
import { DatagramSocket, JournalSender, SendResult, journalEntry, unixDatagramSocket } from '../../src/observe/journal-sender';
import { ROOT } from '../support/root';

const b = (s: string) => Buffer.from(s);

t.test('the queue holds a fixed number of entries and bytes, and counts what it drops', async (t) => {
  const q = new BoundedQueue(3, 10);
  t.ok(q.push(b('aaaa')) && q.push(b('bbbb')), 'two entries of 4 bytes fit');
  t.notOk(q.push(b('ccc')), 'a third that would make 11 bytes does not');
  t.ok(q.push(b('cc')), 'one that makes 10 does');
  t.notOk(q.push(b('')), 'nor does a fourth entry, however small');
  t.equal(q.length, 3);
  t.equal(q.bytes, 10);
  t.equal(q.takeDropped(), 2, 'two dropped');
  t.equal(q.takeDropped(), 0, 'and the count starts again');
  t.equal(q.shift()?.toString(), 'aaaa', 'first in, first out');
  t.ok(q.push(b('dddd')), 'room again after one left');
  q.drop(5);
  t.equal(q.takeDropped(), 5, 'entries lost otherwise are counted too');
  t.equal(q.droppedTotal, 7, 'the total never goes down');
});

t.test('journald native protocol framing', async (t) => {
  t.equal(journalEntry({ MESSAGE: 'hi', PRIORITY: '6' }).toString(), 'MESSAGE=hi\nPRIORITY=6\n');
  const multi = journalEntry({ MESSAGE: 'a\nb' });
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(3n);
  t.same(multi, Buffer.concat([b('MESSAGE\n'), size, b('a\nb'), b('\n')]), 'a value with a newline goes with its length');
});

// A socket that takes entries while open, and says "full" while not.
function fakeSocket() {
  const state = { open: true, sent: [] as string[], writable: () => undefined as void, opens: 0, fail: false };
  const open = (onWritable: () => void): DatagramSocket => {
    state.opens++;
    state.writable = onWritable;
    return {
      send(entry: Buffer): SendResult {
        if (state.fail) return new Error('ECONNREFUSED');
        if (!state.open) return 'congested';
        state.sent.push(entry.toString());
        return 'sent';
      },
      close: () => undefined,
    };
  };
  return { state, open };
}

t.test('while journald is full, sends return at once, a bounded number waits, the rest is counted', async (t) => {
  const { state, open } = fakeSocket();
  const sender = new JournalSender(open, { entries: 3, bytes: 1000 }, (n) => b(`dropped ${n}`));
  sender.send(b('first'));
  t.same(state.sent, ['first'], 'sent at once while journald takes lines');
  state.open = false;
  for (let i = 0; i < 10; i++) sender.send(b(`line ${i}`));
  t.equal(sender.waiting, 3, 'three wait');
  t.same(state.sent, ['first'], 'nothing more sent');
  let flushed = false;
  const flush = sender.flush(60000).then(() => (flushed = true));
  state.open = true;
  state.writable();
  await flush;
  t.ok(flushed, 'a flush ends once journald took what waited');
  t.same(state.sent, ['first', 'line 0', 'line 1', 'line 2', 'dropped 7'], 'the waiting lines in order, then the count of the dropped');
  t.equal(sender.droppedTotal, 7);
  sender.send(b('later'));
  t.same(state.sent.slice(-1), ['later'], 'and lines go straight through again');
});

t.test('a flush gives up after its bound when journald stays stalled', async (t) => {
  const { state, open } = fakeSocket();
  const sender = new JournalSender(open, { entries: 3, bytes: 1000 }, (n) => b(`dropped ${n}`));
  state.open = false;
  sender.send(b('stuck'));
  await sender.flush(50);
  t.equal(sender.waiting, 1, 'the flush returned with the line still waiting');
});

t.test('a socket that errs is reopened once; a line it cannot send is counted', async (t) => {
  const { state, open } = fakeSocket();
  const sender = new JournalSender(open, { entries: 3, bytes: 1000 }, (n) => b(`dropped ${n}`));
  sender.send(b('one'));
  state.fail = true;
  sender.send(b('two'));
  t.equal(state.opens, 2, 'reopened after the error');
  state.fail = false;
  sender.send(b('three'));
  t.same(state.sent, ['one', 'three', 'dropped 1'], 'the lost line is counted and said');
});

// The real socket: a receiver (a child process of this test's) that stops reading.
t.test('the real socket never blocks while its receiver is stopped', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faass-journal-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const sock = path.join(dir, 'socket');
  const receiver = spawn(
    process.execPath,
    ['-e', `const s = require('unix-dgram').createSocket('unix_dgram'); let n = 0, want = Infinity; const tell = () => n >= want && process.stdout.write(n + '\\n'); s.on('message', () => (n++, tell())); s.bind(${JSON.stringify(sock)}); process.stdout.write('ready\\n'); process.stdin.on('data', (d) => ((want = Number(d)), tell()));`],
    { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  t.teardown(() => {
    receiver.kill('SIGCONT');
    receiver.kill('SIGKILL');
  });
  await once(receiver.stdout, 'data');
  receiver.kill('SIGSTOP');
  const sender = new JournalSender(unixDatagramSocket(sock), { entries: 100, bytes: 1 << 20 }, (n) => b(`dropped ${n}`));
  const lines = 5000; // far more than the receiver's queue (net.unix.max_dgram_qlen) holds
  for (let i = 0; i < lines; i++) sender.send(b(`MESSAGE=line ${i}\n`));
  t.equal(sender.waiting, 100, 'the sends returned; 100 wait');
  t.ok(sender.droppedTotal > 0, `and ${sender.droppedTotal} were dropped`);
  const dropped = sender.droppedTotal;
  receiver.kill('SIGCONT');
  await sender.flush(60000);
  t.equal(sender.waiting, 0, 'once the receiver reads again, what waited is sent');
  // The receiver answers once it has read as many as were sent (it may still be reading).
  receiver.stdin.write(`${lines - dropped + 1}\n`);
  const [count] = (await once(receiver.stdout, 'data', { signal: AbortSignal.timeout(60000) })) as [Buffer];
  t.equal(Number(count.toString()), lines - dropped + 1, 'the receiver got every line not dropped, and the one that counts the dropped');
  sender.close();
});
