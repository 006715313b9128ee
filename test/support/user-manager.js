// A sandboxed systemd user manager (systemd-user.sh) and a free loopback port, shared by the
// tests (through sandbox.ts) and the benchmarks (bench/lib.js): one copy of how a sandbox is
// started, read and stopped.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const SCRIPT = path.join(__dirname, 'systemd-user.sh');

// Not under /tmp: generated units use PrivateTmp=, as they would for a real user.
const base = () => process.env.FAASS_TEST_ROOT || '/var/lib/faass-test';

// Starts a manager in a new directory under the test root; returns its directory, the
// environment to reach it (XDG_*, HOME), `ns` (the command prefix that runs a command in the
// manager's mount namespace, with its journal), `as` (the command prefix that runs a command as the
// manager's user: empty for root) and stop(), which ends it and removes the directory.
// (`as` also drops NODE_OPTIONS, which tap sets on every child to track it, writing under the
// checkout, where that user may not.)
// user: an ordinary account to run the manager as (systemd-user.sh creates it when missing).
function startUserManager(prefix, user) {
  fs.mkdirSync(base(), { recursive: true });
  const dir = fs.mkdtempSync(path.join(base(), prefix));
  const home = path.join(dir, 'home');
  // The environment of the sandbox's manager and user: nothing of npm's own run of the suite
  // (`npm test` hands its config down as npm_config_*, its cache among them: root's, which an
  // ordinary user cannot write), so a test sees the same under npm as under scripts/test.js.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'INIT_CWD'));
  env.HOME = home;
  const out = execFileSync('bash', [SCRIPT, 'start', dir, ...(user ? [user] : [])], { encoding: 'utf8', env });
  for (const line of out.trim().split('\n')) {
    const i = line.indexOf('=');
    env[line.slice(0, i)] = line.slice(i + 1);
  }
  // The manager's mount namespace (systemd-user.sh): where its journal is at /run/log/journal, as
  // for its units. Commands of the sandbox that read the journal (journalctl, faassctl logs) run
  // there. manager.pid is the manager's own PID: unshare and sh exec it.
  const managerPid = fs.readFileSync(path.join(dir, 'manager.pid'), 'utf8').trim();
  // --wd=.: in the working directory it was started in (nsenter opens it before it enters, and
  // would otherwise go to the namespace's /).
  const ns = ['nsenter', `--mount=/proc/${managerPid}/ns/mnt`, '--wd=.', '--'];
  const as = user ? ['setpriv', `--reuid=${user}`, `--regid=${execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim()}`, '--init-groups', 'env', '-u', 'NODE_OPTIONS'] : [];
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    execFileSync('bash', [SCRIPT, 'stop', dir], { stdio: 'inherit' });
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return { dir, env, ns, as, stop };
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

module.exports = { startUserManager, freePort };
