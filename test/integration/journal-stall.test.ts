// A stalled journald must not hang calls (issue 11, item 4): logging writes without blocking
// into a bounded queue, drops what does not fit, and says how much once journald takes lines
// again. Before, the runner blocked in a synchronous sendmsg(2) to journald's socket: with
// journald stopped (SIGSTOP), calls to a function that writes a lot to stderr timed out.
import t from 'tap';
import { startSandbox, setupGateway, request, waitFor, writeFixture, journaldPid, Reply } from '../support/sandbox';
import { sandboxJournal } from '../support/journal';

const TIMEOUT = 20; // the function's timeout, seconds
const CALLS = 20;
// Each call writes 2000 lines to stderr (its answer is its input): 20 calls write far more than
// journald's socket queue (net.unix.max_dgram_qlen datagrams) holds.
const NOISY = `#!/bin/sh
i=0
while [ $i -lt 2000 ]; do echo "noise line $i of a long call, padded to make the entry a little bigger" >&2; i=$((i+1)); done
cat
`;

t.test('calls answer while journald is stopped, and the drop is reported', async (t) => {
  const sb = await startSandbox(t);
  await setupGateway(sb, 120);
  writeFixture(sb, 'noisy.sh', NOISY, 0o755);
  const d = await sb.faassctl('deploy', 'noisy', '--command', `${sb.dir}/fixtures/noisy.sh`, '--timeout', String(TIMEOUT), '--idle', '120');
  t.equal(d.code, 0, `deploy noisy ${d.stderr}`);
  // Gateway and runner up (and their start-up lines logged) while journald still reads.
  const warm = await request(sb.port, '/function/noisy', { body: 'warm' });
  t.equal(warm.status, 200, `a first call answers ${warm.body.slice(0, 200)}`);

  // The journal in /run is shared with earlier runs: this runner's lines only.
  const runner = (await sb.systemctl('show', 'faass-fn-noisy.service', '--property=MainPID', '--value')).stdout.trim();
  t.not(runner, '0', 'the runner runs');
  const journald = journaldPid(sb);
  let stopped = false;
  const resume = () => {
    if (stopped) process.kill(journald, 'SIGCONT');
    stopped = false;
  };
  t.teardown(resume);
  process.kill(journald, 'SIGSTOP');
  stopped = true;
  let replies: (Reply | Error)[];
  try {
    replies = await Promise.all(
      Array.from({ length: CALLS }, (_, i) => request(sb.port, '/function/noisy', { body: `call-${i}`, timeoutMs: (TIMEOUT + 5) * 1000 }).catch((e: Error) => e)),
    );
  } finally {
    resume();
  }
  const bad = replies.filter((r, i) => r instanceof Error || r.status !== 200 || r.body !== `call-${i}`);
  t.same(
    bad.map((r) => (r instanceof Error ? r.message : `${r.status} ${r.body.slice(0, 100)}`)),
    [],
    `all ${CALLS} calls answer 200 with their body while journald is stopped`,
  );

  // This sandbox's runner: a PID alone could be another sandbox's process of an earlier run.
  const journal = () => sandboxJournal(sb, '--user-unit=faass-fn-noisy.service', `_PID=${runner}`);
  await waitFor('the line that counts the dropped log lines', async () => /Dropped \d+ log lines: journald did not take them in time/.test(await journal()), 60000);
  const dropped = [...(await journal()).matchAll(/Dropped (\d+) log lines/g)].reduce((sum, m) => sum + Number(m[1]), 0);
  t.ok(dropped > 0, `the runner reports ${dropped} dropped log lines`);
  const after = await request(sb.port, '/function/noisy', { body: 'after' });
  t.equal(after.status, 200, 'a call after journald resumed answers');
  // The runner adds its count to the metrics file every 2 s; /metrics shows it.
  const counted = async () => Number(/^faass_log_lines_dropped_total\{program="runner"\} (\d+)$/m.exec((await request(sb.port, '/metrics', { method: 'GET' })).body)?.[1] ?? 0);
  // The count reaches the file in the runner's next flushes, and lines dropped while the backlog
  // drained are reported by later lines: wait until the two say the same.
  const reported = async () => [...(await journal()).matchAll(/Dropped (\d+) log lines/g)].reduce((sum, m) => sum + Number(m[1]), 0);
  let inMetrics = 0;
  let inJournal = dropped;
  await waitFor('the same count in /metrics and in the journal', async () => (inMetrics = await counted()) === (inJournal = await reported()), 30000).catch(() => undefined);
  t.equal(inMetrics, inJournal, `/metrics counts the lines the runner dropped (${inMetrics})`);
});
