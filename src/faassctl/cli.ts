// What every faassctl command's handler shares: the paths, the global options, where a call
// goes (this host or --gateway), and the one pending result that main turns into an exit code.
import type { Argv } from 'yargs';
import { Paths } from '../core/paths';
import { FaassError } from '../core/errors';
import { Target, localTarget, remoteTarget, parseGatewayUrl, readTokens, gatewayKey, checkToken } from './client';

export interface Global {
  gateway?: string;
  token?: string;
  cacert?: string;
}

type Outcome = Promise<number> | number;

// A command module adds its yargs command (options and handler) to the parser.
export type Register = (y: Argv<Global>, cli: Cli) => Argv<Global>;

export class Cli {
  result: Promise<number> = Promise.resolve(0);

  constructor(readonly paths: Paths) {}

  run(f: () => Outcome): void {
    this.result = Promise.resolve().then(f);
  }

  // --gateway URL (or FAASS_GATEWAY): the verbs go through that gateway's management API.
  gatewayOf(a: Global): string | undefined {
    return (a.gateway !== undefined ? a.gateway : process.env.FAASS_GATEWAY) || undefined;
  }

  // The token: --token, FAASS_TOKEN, or (remote) the one faassctl login saved for the gateway.
  target(a: Global): Target {
    // --token '' sends none (not even a saved one).
    const given = a.token !== undefined ? a.token && checkToken(a.token, '--token') : process.env.FAASS_TOKEN ? checkToken(process.env.FAASS_TOKEN, 'FAASS_TOKEN') : undefined;
    const g = this.gatewayOf(a);
    if (!g) return localTarget(this.paths, given || undefined);
    const url = parseGatewayUrl(g);
    const cacert = a.cacert ?? (process.env.FAASS_CACERT || undefined);
    if (given === '') return remoteTarget(url, undefined, cacert);
    const saved = given === undefined ? readTokens(this.paths).get(gatewayKey(url)) : undefined;
    return remoteTarget(url, given ?? (saved === undefined ? undefined : checkToken(saved, 'the credentials file')), cacert);
  }

  // Commands that act on this host's files and systemd have no remote mode.
  local(a: Global, command: string, f: () => Outcome): void {
    this.run(() => {
      if (this.gatewayOf(a)) throw new FaassError('FAASS_E_USAGE', `${command} works on the gateway's host only; it has no --gateway (or FAASS_GATEWAY) mode`);
      return f();
    });
  }

  // Verbs with both modes: through the API with --gateway, on this host's files without.
  either(a: Global, remote: (t: Target) => Promise<number>, here: () => Outcome): void {
    this.run(() => (this.gatewayOf(a) ? remote(this.target(a)) : here()));
  }
}
