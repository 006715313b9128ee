#!/usr/bin/env node
// faassctl(1): deploy, call and inspect faass functions. Each command is its own module (its
// options, handler and work); this file only wires them and maps the outcome to an exit code.
import yargs, { Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { resolvePaths } from '../core/paths';
import { FaassError } from '../core/errors';
import { Cli, Global, Register } from './cli';
import * as init from './init';
import * as deploy from './deploy';
import * as build from './build';
import * as list from './list';
import * as describe from './describe';
import * as del from './delete';
import * as generateUnits from './generate-units';
import * as invoke from './invoke';
import * as credentials from './credentials';
import * as secret from './secret';
import * as tls from './tls';
import * as login from './login';
import * as stats from './stats';
import * as top from './top';
import * as status from './status';
import * as logs from './logs';
import * as serve from './serve';
import * as dlq from './dlq';
import * as calls from './calls';
import * as scaffold from './new';
import * as trigger from './trigger';
import * as publish from './publish';
import * as versions from './versions';
import * as stack from './stack';
import * as canary from './canary';
import * as exportCmd from './export';
import * as imageCmd from './image';

// In the order --help lists them.
const COMMANDS: Register[] = [init, scaffold, deploy, build, versions, canary, stack, exportCmd, imageCmd, list, describe, del, generateUnits, invoke, publish, trigger, dlq, calls, credentials, secret, tls, login, stats, top, status, logs, serve].map((m) => m.register);

// A reader that has had enough (faassctl status | head) is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

// yargs reads `deploy -echo` as the flags -e -c -h -o and then finds no NAME: say why.
function dashHint(msg: string): string {
  if (!/^Not enough non-option arguments/.test(msg ?? '')) return '';
  const dashed = hideBin(process.argv).find((a) => /^-[^-]./.test(a));
  return dashed ? ` (${JSON.stringify(dashed)} was read as options: a name starts with a letter or digit)` : '';
}

const cli = new Cli(resolvePaths());
const parser: Argv<Global> = yargs(hideBin(process.argv))
  .scriptName('faassctl')
  .usage('$0 <command> [options]\n\nsystemd-native functions as a service; see faassctl(1).')
  .option('gateway', { type: 'string', global: true, describe: 'drive a gateway through its management API: http(s)://HOST:PORT (default: $FAASS_GATEWAY; none = this host)' })
  .option('token', { type: 'string', global: true, describe: 'credential token NAME.SECRET (default: $FAASS_TOKEN, then the one faassctl login saved for --gateway)' })
  .option('cacert', { type: 'string', global: true, describe: 'with an https gateway: trust this CA or certificate file (default: $FAASS_CACERT)' });
COMMANDS.reduce((y, register) => register(y, cli), parser)
  // bash (and zsh) completion of commands and options; install.sh installs the script.
  .completion('completion', 'print the shell completion script (bash; zsh when $SHELL is zsh)')
  .demandCommand(1, 'Name a command; see faassctl --help')
  .strict()
  .help()
  .alias('help', 'h')
  .version(false)
  .fail((msg, err) => {
    process.stderr.write(`faassctl: ${err ? err.message : msg}${err ? '' : dashHint(msg)}\n`);
    process.exit(2);
  })
  .parse();

cli.result
  .then((code) => {
    process.exitCode = code;
  })
  .catch((e: unknown) => {
    process.stderr.write(`faassctl: ${e instanceof FaassError ? `${e.message} (${e.code})` : (e as Error).message}\n`);
    process.exitCode = e instanceof FaassError ? e.exitCode : 1;
  });
