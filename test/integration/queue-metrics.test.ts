// Metrics of asynchronous calls (issue 13, Observability) with the real systemd manager: after
// some calls (some into the dead letters) /metrics shows the queue's depth, its dead letters and
// the attempts by result, still right once the dispatcher and the gateway have exited idle, and
// faassctl status shows the queue and the dead letters per function.
import t from 'tap';
import { startSandbox, setupGateway, request, waitFor, writeFixture, unitState, TEST_USER, Sandbox } from '../support/sandbox';

// One sample of a metric, null when the exposition has none.
function sample(text: string, name: string, labels: Record<string, string>): number | null {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const m = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = (m[2] ?? '').split(',').filter(Boolean);
    if (want.every((w) => have.includes(w)) && have.length === want.length) return Number(m[3]);
  }
  return null;
}

const mainPid = async (sb: Sandbox, unit: string) => Number((await sb.systemctl('show', unit, '-p', 'MainPID', '--value')).stdout.trim());
const statusRow = (out: string, fn: string) => out.split('\n').find((l) => l.startsWith(`  ${fn} `))?.trim().split(/\s{2,}/);

t.test('metrics and status of asynchronous calls', async (t) => {
  const sb = await startSandbox(t, { user: TEST_USER });
  await setupGateway(sb, 1);
  const deploy = async (...args: string[]) => {
    const r = await sb.faassctl('deploy', ...args);
    if (r.code !== 0) throw new Error(`deploy ${args.join(' ')}: ${r.stderr}`);
  };
  const scrape = async () => {
    const r = await request(sb.port, '/metrics', { method: 'GET' });
    t.equal(r.status, 200, 'GET /metrics');
    return r.body;
  };
  const queueCall = async (name: string) => t.equal((await request(sb.port, `/async-function/${name}`, { body: 'x' })).status, 202, `a call to ${name} is queued`);
  await deploy('fine', '--command', 'cat', '--idle', '1');
  // Always fails: with --retries 1, dead after 2 attempts (the first retried after about 1 s).
  await deploy('failing', '--runtime', 'exec', '--from-file', writeFixture(sb, 'fail.sh', '#!/bin/sh\nexit 1\n', 0o755), '--retries', '1', '--idle', '1');

  t.test('attempts by result, dead letters and depth survive the idle exits', async (t) => {
    for (let i = 0; i < 5; i++) await queueCall('fine');
    for (let i = 0; i < 2; i++) await queueCall('failing');
    await waitFor('2 dead letters of failing', async () => (await sb.faassctl('dlq', 'failing')).stdout.split('\n').filter((l) => /^[0-9a-f-]{36}  queued /.test(l)).length === 2, 60000);
    await waitFor('the dispatcher to exit with the queue empty', async () => (await unitState(sb, 'faass-dispatch.service')).startsWith('inactive'), 30000);
    await waitFor('the gateway to exit idle', async () => (await mainPid(sb, 'faass-gateway.service')) === 0, 30000);
    const m = await scrape(); // a fresh gateway reads what the exited processes left
    t.equal(sample(m, 'faass_async_attempts_total', { function_name: 'fine', result: 'success' }), 5, 'fine: 5 attempts succeeded');
    t.equal(sample(m, 'faass_async_attempts_total', { function_name: 'fine', result: 'retry' }), 0, 'none retried');
    t.equal(sample(m, 'faass_async_attempts_total', { function_name: 'failing', result: 'retry' }), 2, 'failing: each call failed once and was retried');
    t.equal(sample(m, 'faass_async_attempts_total', { function_name: 'failing', result: 'dead' }), 2, 'then failed again, into the dead letters');
    t.equal(sample(m, 'faass_async_attempts_total', { function_name: 'failing', result: 'success' }), 0);
    t.equal(sample(m, 'faass_async_dead_letters', { function_name: 'failing' }), 2, 'failing: 2 dead letters');
    t.equal(sample(m, 'faass_async_dead_letters', { function_name: 'fine' }), 0, 'fine: none');
    t.equal(sample(m, 'faass_async_queue_depth', { function_name: 'fine' }), 0, 'both queues are empty');
    t.equal(sample(m, 'faass_async_queue_depth', { function_name: 'failing' }), 0);
    t.equal(sample(m, 'faass_async_queue_oldest_age_seconds', { function_name: 'fine' }), 0, 'no oldest call: age 0');
    const st = await sb.faassctl('status');
    t.equal(st.code, 0, `status exits 0: dead letters are no broken function ${st.stderr}`);
    t.same(statusRow(st.stdout, 'failing'), ['failing', '0', '-', '2'], `status: failing has 0 queued, 2 dead letters\n${st.stdout}`);
    t.equal(statusRow(st.stdout, 'fine'), undefined, 'a function with nothing queued and no dead letters has no row');
  });

  t.test('calls waiting with no dispatcher: depth and age from the spool', async (t) => {
    // Held back: the path unit stopped, nothing delivers them and no faass process counts them.
    t.equal((await sb.systemctl('stop', 'faass-dispatch.path')).code, 0);
    t.teardown(() => sb.systemctl('start', 'faass-dispatch.path'));
    for (let i = 0; i < 3; i++) await queueCall('fine');
    await waitFor('the gateway to exit idle', async () => (await mainPid(sb, 'faass-gateway.service')) === 0, 30000);
    t.match(await unitState(sb, 'faass-dispatch.service'), /^inactive\//, 'no dispatcher runs');
    const m = await scrape();
    t.equal(sample(m, 'faass_async_queue_depth', { function_name: 'fine' }), 3, 'fine: 3 calls waiting');
    t.ok((sample(m, 'faass_async_queue_oldest_age_seconds', { function_name: 'fine' }) ?? 0) > 0, 'the oldest has waited a while');
    t.equal(sample(m, 'faass_async_dead_letters', { function_name: 'failing' }), 2, 'the dead letters are still there');
    const promtool = await sb.run('promtool', ['check', 'metrics'], { input: m });
    t.equal(promtool.code, 0, `promtool check metrics: ${promtool.stdout}${promtool.stderr}`);
    const st = await sb.faassctl('status');
    t.match(st.stdout, /^Asynchronous calls \(faassctl dlq NAME for the dead letters\):\n {2}FUNCTION\s+QUEUED\s+OLDEST\s+DEAD LETTERS$/m, 'status: a heading and columns');
    const row = statusRow(st.stdout, 'fine');
    t.same([row?.[0], row?.[1], row?.[3]], ['fine', '3', '0'], `fine: 3 queued, no dead letter\n${st.stdout}`);
    t.match(row?.[2] ?? '', /^\d+[smhd]$/, 'and how long the oldest has waited');
    t.equal((await sb.systemctl('start', 'faass-dispatch.path')).code, 0);
    await waitFor('the held calls delivered', async () => sample(await scrape(), 'faass_async_queue_depth', { function_name: 'fine' }) === 0, 60000);
    await waitFor('the dispatcher to exit', async () => (await unitState(sb, 'faass-dispatch.service')).startsWith('inactive'), 30000);
    t.equal(sample(await scrape(), 'faass_async_attempts_total', { function_name: 'fine', result: 'success' }), 8, 'and counted: 8 successes in all');
  });
});
