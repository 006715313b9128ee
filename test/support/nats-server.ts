// Debian's nats-server, started by a test on a loopback port and ended by its PID at teardown.
import { spawn, ChildProcess } from 'node:child_process';
import { waitFor } from './sandbox';

export const NATS_SERVER = '/usr/sbin/nats-server';

// Resolves once the server says it is ready (its stderr), with what it said on a timeout.
export async function runNatsServer(t: { teardown(f: () => unknown): void }, args: string[], name = 'nats-server'): Promise<ChildProcess> {
  const server: ChildProcess = spawn(NATS_SERVER, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let said = '';
  server.stderr?.on('data', (d: Buffer) => (said = (said + d.toString()).slice(-4000)));
  t.teardown(() => {
    if (server.exitCode === null && server.pid) process.kill(server.pid, 'SIGTERM');
  });
  await waitFor(`${name} ready`, () => said.includes('Server is ready'), 30000).catch((e: Error) => {
    throw new Error(`${e.message}: ${said.slice(-300)}`);
  });
  return server;
}
