// faassctl login|logout --gateway URL: a token kept per gateway ($XDG_CONFIG_HOME/faass/credentials).
import { Paths } from '../core/paths';
import { FaassError, fail } from '../core/errors';
import { send, replyError, updateTokens, gatewayKey, parseGatewayUrl, checkToken, remoteTarget, credentialsFile } from './client';
import { Register } from './cli';

async function readStdinToken(): Promise<string> {
  if (process.stdin.isTTY) fail('FAASS_E_USAGE', '--token-stdin reads the token from a pipe or file: faassctl login --gateway URL --token-stdin < FILE');
  const chunks: Buffer[] = [];
  for await (const c of process.stdin as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8').trim();
}

// Checks the token against the gateway, then keeps it for that gateway (mode 0600).
export async function login(paths: Paths, a: { gateway?: string; token?: string; tokenStdin?: boolean; cacert?: string }): Promise<number> {
  if (!a.gateway) fail('FAASS_E_USAGE', 'login needs --gateway URL (or FAASS_GATEWAY)');
  const url = parseGatewayUrl(a.gateway);
  const raw = a.tokenStdin ? await readStdinToken() : a.token;
  if (!raw) fail('FAASS_E_USAGE', 'login needs a token: --token-stdin (a pipe or file), or --token TOKEN');
  const token = checkToken(raw, a.tokenStdin ? 'stdin' : '--token');
  const t = remoteTarget(url, token, a.cacert);
  const r = await send(t, 'GET', '/system/info');
  let what: string;
  if (r.status === 200) what = 'an admin token: the management API and every function';
  else {
    const e = replyError(t, r);
    if (e.code === 'FAASS_E_FORBIDDEN') what = 'not an admin: it may call the functions that name it';
    else if (e.code === 'FAASS_E_API_DISABLED') what = 'not checked: the management API is off there (no admin credential)';
    else throw new FaassError(e.code, `Not saved: ${e.message}`);
  }
  updateTokens(paths, (tokens) => tokens.set(gatewayKey(url), token));
  process.stdout.write(`Token for ${gatewayKey(url)} saved in ${credentialsFile(paths)} (${what})\n`);
  return 0;
}

export function logout(paths: Paths, a: { gateway?: string }): number {
  if (!a.gateway) fail('FAASS_E_USAGE', 'logout needs --gateway URL (or FAASS_GATEWAY)');
  const key = gatewayKey(parseGatewayUrl(a.gateway));
  let found = false;
  updateTokens(paths, (tokens) => {
    found = tokens.delete(key);
  });
  process.stdout.write(found ? `Token for ${key} removed\n` : `No token for ${key} was saved\n`);
  return 0;
}

export const register: Register = (y, cli) =>
  y
    .command(
      'login',
      "check a token against --gateway URL and keep it for that gateway ($XDG_CONFIG_HOME/faass/credentials, mode 0600)",
      (y) => y.option('token-stdin', { type: 'boolean', describe: 'read the token from stdin (a pipe or file; keeps it out of the process list)' }),
      (a) =>
        cli.run(() =>
          login(cli.paths, { gateway: cli.gatewayOf(a), token: a.token ?? (process.env.FAASS_TOKEN || undefined), tokenStdin: a.tokenStdin, cacert: a.cacert ?? (process.env.FAASS_CACERT || undefined) }),
        ),
    )
    .command('logout', 'forget the token kept for --gateway URL', (y) => y, (a) => cli.run(() => logout(cli.paths, { gateway: cli.gatewayOf(a) })));
