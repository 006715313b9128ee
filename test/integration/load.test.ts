// Load across scale-to-zero boundaries, a runner killed with SIGKILL, and a redeploy under load:
// not one request may be lost.
import t from 'tap';
import { startSandbox, setupGateway, request, load, faassPids, waitFor, writeFixture, unitState, Reply, TEST_USER } from '../support/sandbox';
import { sandboxJournal } from '../support/journal';

t.test('load with idle exits, kill -9, redeploy', async (t) => {
  // As an ordinary user: runners start in their PID namespace (bwrap), whose stops go through
  // ExecStop= (units.ts ownPidsExec): the redeploys below must lose no call through it.
  const sb = await startSandbox(t, { user: TEST_USER });
  await setupGateway(sb, 1);
  t.equal((await sb.faassctl('deploy', 'cat', '--command', 'cat', '--idle', '1')).code, 0, 'deploy cat');
  const handler = writeFixture(sb, 'v1/handler.js', "module.exports = async (event) => 'v1:' + event.body;\n");
  t.equal((await sb.faassctl('deploy', 'echo', '--runtime', 'node', '--from-file', handler, '--idle', '1')).code, 0, 'deploy node echo');

  t.test('3200 requests at concurrency 50 in bursts across idle exits', async (t) => {
    let total = 0;
    let failures = 0;
    let exits = 0;
    for (let burst = 0; burst < 4; burst++) {
      const fn = burst % 2 === 0 ? 'cat' : 'echo';
      const r = await load(sb.port, `/function/${fn}`, 800, 50, (res) => res.status === 200 && res.body.endsWith(`req-${res.body.split('req-')[1]}`));
      total += r.sent;
      failures += r.failures.length;
      if (r.failures.length) t.comment(JSON.stringify(r.failures.slice(0, 5)));
      // Longer than idle: gateway and runner both exit before the next burst.
      if (await waitFor('the stack to scale to zero', () => faassPids(sb).length === 0, 30000).then(() => true, () => false)) exits++;
    }
    t.equal(total, 3200, 'all requests sent');
    t.equal(failures, 0, 'zero failed requests');
    t.equal(exits, 4, 'gateway and runners exited between every burst');
    // This sandbox's gateway only: other sandboxes' gateways (every earlier run, and the file
    // running beside this one) log the same line from a unit of the same name.
    const starts = async () => ((await sandboxJournal(sb, '--user-unit=faass-gateway.service')).match(/Gateway serving/g) ?? []).length;
    await waitFor('four gateway starts in the journal', async () => (await starts()) >= 4, 30000).catch(() => undefined);
    t.ok((await starts()) >= 4, 'the gateway was started at least 4 times');
  });

  t.test('kill -9 of a runner during load', async (t) => {
    let finished = false;
    const running = load(sb.port, '/function/cat', 1500, 50).finally(() => (finished = true));
    await waitFor('the runner to run', async () => (await unitState(sb, 'faass-fn-cat.service')) === 'active/running', 30000);
    const pid = (await sb.systemctl('show', 'faass-fn-cat.service', '--property=MainPID', '--value')).stdout.trim();
    t.not(pid, '0', 'runner has a main pid');
    t.notOk(finished, 'the load is still running at the kill');
    process.kill(Number(pid), 'SIGKILL');
    const during = await running;
    t.comment(`during the kill: ${during.ok} ok, ${during.failures.length} failed ${JSON.stringify(during.failures.slice(0, 3))}`);
    t.ok(during.failures.length <= 50, 'at most the calls in flight at the kill fail');
    t.ok(
      during.failures.every((f) => f.status === 502 && /"FAASS_E_RUNNER_STOPPED"/.test(f.body ?? '')),
      'each of them is a 502 saying the runner stopped during the call (a started call is not replayed)',
    );
    t.match(await unitState(sb, 'faass-fn-cat.socket'), /^active\/(listening|running)$/, 'the socket survives the kill');
    const after = await load(sb.port, '/function/cat', 500, 50);
    t.equal(after.failures.length, 0, 'every later request succeeds');
  });

  t.test('redeploy with new code while load runs', async (t) => {
    // Under another file name (issue 11 item 9): a runner that looked its code up through the
    // new version's settings while serving the old version's tree failed calls.
    const v2 = writeFixture(sb, 'v2/handler-v2.js', "module.exports = async (event) => 'v2:' + event.body;\n");
    const seen: { started: number; reply?: Reply; error?: string }[] = [];
    let deployedAt = Infinity;
    let stop = false;
    const worker = async () => {
      while (!stop) {
        const rec: { started: number; reply?: Reply; error?: string } = { started: Date.now() };
        seen.push(rec);
        try {
          rec.reply = await request(sb.port, '/function/echo', { body: 'x' });
        } catch (e) {
          rec.error = (e as Error).message;
        }
      }
    };
    const workers = Array.from({ length: 50 }, worker);
    // Counted in answers, not in seconds: a busy machine answers fewer per second.
    const answered = (since: number) => seen.filter((s) => s.started > since && (s.reply || s.error)).length;
    await waitFor('100 answers before the deploy', () => answered(0) >= 100, 60000).catch(() => undefined);
    const dep = await sb.faassctl('deploy', 'echo', '--runtime', 'node', '--from-file', v2, '--idle', '1');
    deployedAt = Date.now();
    t.equal(dep.code, 0, `redeploy exits 0 ${dep.stderr}`);
    await waitFor('100 answers to calls made after the deploy', () => answered(deployedAt) >= 100, 60000).catch(() => undefined);
    stop = true;
    await Promise.all(workers);
    const bad = seen.filter((s) => s.error || s.reply?.status !== 200);
    t.equal(bad.length, 0, `0 failed of ${seen.length} requests ${JSON.stringify(bad.slice(0, 3))}`);
    const after = seen.filter((s) => s.started > deployedAt);
    t.ok(after.length >= 100, `requests after the deploy (${after.length})`);
    t.ok(after.every((s) => s.reply?.body === 'v2:x'), 'every request after the deploy gets the new code');
    t.ok(seen.some((s) => s.reply?.body === 'v1:x'), 'requests before it got the old code');
  });

  t.test('redeploys one after another under load: no call lost', async (t) => {
    // Each redeploy stops a runner with calls in flight on the gateway's connection to it. A
    // runner that cut that connection once its calls were answered lost answers still unread in
    // the gateway's buffer (the gateway's next write failed, EPIPE, and Node dropped them): 1 to
    // 15 acknowledged calls per redeploy answered 502 FAASS_E_RUNNER_STOPPED, at the first or
    // second redeploy on a busy machine.
    const files = [writeFixture(sb, 'r1/a.js', "module.exports = async () => 'a';\n"), writeFixture(sb, 'r2/b.js', "module.exports = async () => 'b';\n")];
    let stop = false;
    let answered = 0;
    const bad: string[] = [];
    const worker = async () => {
      while (!stop) {
        const r = await request(sb.port, '/function/echo', { body: 'x' }).catch((e: Error) => ({ status: 0, body: e.message }));
        answered++;
        if (r.status !== 200) bad.push(`${r.status} ${r.body}`);
      }
    };
    const workers = Array.from({ length: 50 }, worker);
    for (let i = 0; i < 10; i++) {
      const before = answered;
      await waitFor('100 answers between redeploys', () => answered >= before + 100, 60000).catch(() => undefined);
      const dep = await sb.faassctl('deploy', 'echo', '--runtime', 'node', '--from-file', files[i % 2], '--idle', '1');
      t.equal(dep.code, 0, `redeploy ${i + 1} ${dep.stderr}`);
    }
    const last = answered;
    await waitFor('100 answers after the last redeploy', () => answered >= last + 100, 60000).catch(() => undefined);
    stop = true;
    await Promise.all(workers);
    t.same(bad.slice(0, 3), [], `0 failed of ${answered} calls across 10 redeploys (${bad.length} failed)`);
  });
});
