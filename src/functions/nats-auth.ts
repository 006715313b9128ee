// How a NATS bridge (nats-triggers.ts) authenticates: a .creds file (a user JWT and the NKey seed
// that signs the server's nonce), a token, or a user name and password. The secret never goes
// where systemctl, ps, the journal or the API would show it: faassctl reads it from a file the
// user names, checks it, and copies it into a private file of faass's own, one per trigger
// (CONFIG/faass/nats/NAME/ID.secret, 0600 in a 0700 directory). The bridge's unit names only
// that path (bound read-only into its otherwise empty view of faass's config) and the bridge
// reads it at start. The triggers file keeps the method and the user name, never the secret.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fail } from '../core/errors';
import { Paths, natsSecretPath } from '../core/paths';
import { writeFileAtomic } from '../core/fs-atomic';
import { privateDir } from '../core/private-files';

export const NATS_AUTH_METHODS = ['token', 'user', 'creds'] as const;
export type NatsAuthMethod = (typeof NATS_AUTH_METHODS)[number];

// What faassctl trigger add was given: paths to files, and the user name.
export interface NatsAuthArgs {
  natsCreds?: string;
  natsTokenFile?: string;
  natsUser?: string;
  natsPasswordFile?: string;
}

// A secret read and checked, with how it is used; secret is what the private file holds.
export interface NatsSecret {
  auth: NatsAuthMethod;
  user?: string;
  secret: Buffer;
}

// A .creds file is a few hundred bytes, a token or password less; a bound keeps a wrong path
// (a log file, a device) from being read whole.
const MAX_SECRET = 64 * 1024;

// The same blocks nats.js's credsAuthenticator takes (a dashed BEGIN line, the value, a dashed
// END line): what faassctl accepts, the bridge's client parses the same way.
const CREDS_BLOCK = /\s*(?:(?:[-]{3,}[^\n]*[-]{3,}\n)(.+)(?:\n\s*[-]{3,}[^\n]*[-]{3,}\n))/gi;

const b64url = /^[A-Za-z0-9_-]+$/;

// A .creds file: a JWT (three base64url parts, a header that says JWT) and a user's NKey seed
// (SU...) that decodes. Errors name the part that is wrong, never its content.
export function checkCreds(text: string): void {
  const blocks = [...text.matchAll(CREDS_BLOCK)].map((m) => m[1].trim());
  if (blocks.length < 2) fail('FAASS_E_CONFIG_INVALID', '--nats-creds: not a NATS credentials file (it needs a "BEGIN NATS USER JWT" block and a "BEGIN USER NKEY SEED" block, as nsc writes them)');
  const [jwt, seed] = blocks;
  const parts = jwt.split('.');
  if (parts.length !== 3 || !parts.every((x) => b64url.test(x)) || !jwtHeader(parts[0])) fail('FAASS_E_CONFIG_INVALID', '--nats-creds: its first block is not a JWT');
  if (!seed.startsWith('SU')) fail('FAASS_E_CONFIG_INVALID', "--nats-creds: its second block is not a user's NKey seed (one starting with SU)");
  // Loaded here only: the NATS client costs every faassctl command ~100 ms to load.
  const { nkeys } = require('nats') as typeof import('nats');
  try {
    nkeys.fromSeed(new TextEncoder().encode(seed));
  } catch {
    fail('FAASS_E_CONFIG_INVALID', "--nats-creds: its NKey seed does not decode (cut short or mistyped?)");
  }
}

function jwtHeader(part: string): boolean {
  try {
    const h = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as { typ?: unknown };
    return typeof h === 'object' && h !== null && String(h.typ).toUpperCase() === 'JWT';
  } catch {
    return false;
  }
}

// A token or a password: one line (a final newline dropped, as editors and `echo` add one), no
// control characters.
export function checkOneLine(flag: string, text: string): string {
  const s = text.replace(/\r?\n$/, '');
  if (s === '') fail('FAASS_E_CONFIG_INVALID', `${flag}: the file is empty`);
  if (/[\x00-\x1f\x7f]/.test(s)) fail('FAASS_E_CONFIG_INVALID', `${flag}: the file holds more than one line or control characters; it must hold the secret alone`);
  return s;
}

// A NATS user name goes into the triggers file and the bridge's command line: not a secret, but
// kept to characters that need no quoting anywhere.
export function checkNatsUser(v: unknown): string {
  if (typeof v !== 'string' || !/^[A-Za-z0-9._@+-]{1,128}$/.test(v)) fail('FAASS_E_CONFIG_INVALID', "Invalid --nats-user: 1-128 letters, digits, '.', '_', '@', '+' and '-'");
  return v;
}

// The file's bytes, up to MAX_SECRET; a missing, unreadable, empty or oversized file is refused
// with its path and why (never its content). Any readable file that is not a directory will do,
// so a pipe (--nats-token-file <(pass show nats)) keeps the secret off the disk but for faass's copy.
export function readSecretFile(flag: string, file: string): Buffer {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') fail('FAASS_E_FILE_MISSING', `${flag} ${file}: no such file`);
    return fail('FAASS_E_CONFIG_INVALID', `${flag} ${file}: cannot be read (${code ?? 'error'})`);
  }
  try {
    if (fs.fstatSync(fd).isDirectory()) fail('FAASS_E_CONFIG_INVALID', `${flag} ${file}: a directory, not a file`);
    const buf = Buffer.alloc(MAX_SECRET + 1);
    let n = 0;
    for (let got = -1; got !== 0 && n <= MAX_SECRET; n += got) got = fs.readSync(fd, buf, n, buf.length - n, null);
    if (n > MAX_SECRET) fail('FAASS_E_CONFIG_INVALID', `${flag} ${file}: larger than ${MAX_SECRET} bytes, not a secret`);
    if (n === 0) fail('FAASS_E_CONFIG_INVALID', `${flag} ${file}: the file is empty`);
    return buf.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}

// The one method given, read and checked; undefined: none (the bridge connects without
// authentication). Two methods, or half of one, are refused before any file is read.
export function readNatsAuth(a: NatsAuthArgs): NatsSecret | undefined {
  const given = [a.natsCreds !== undefined && '--nats-creds', a.natsTokenFile !== undefined && '--nats-token-file', (a.natsUser !== undefined || a.natsPasswordFile !== undefined) && '--nats-user/--nats-password-file'].filter(Boolean);
  if (given.length > 1) fail('FAASS_E_USAGE', `Give one way to authenticate to NATS, not ${given.join(' and ')}`);
  if (a.natsCreds !== undefined) {
    const secret = readSecretFile('--nats-creds', a.natsCreds);
    checkCreds(secret.toString('utf8'));
    return { auth: 'creds', secret };
  }
  if (a.natsTokenFile !== undefined) return { auth: 'token', secret: Buffer.from(checkOneLine('--nats-token-file', readSecretFile('--nats-token-file', a.natsTokenFile).toString('utf8'))) };
  if (a.natsUser === undefined && a.natsPasswordFile === undefined) return undefined;
  if (a.natsPasswordFile === undefined) fail('FAASS_E_USAGE', '--nats-user U needs --nats-password-file FILE (a password is never taken on the command line)');
  if (a.natsUser === undefined) fail('FAASS_E_USAGE', '--nats-password-file FILE needs --nats-user U');
  const user = checkNatsUser(a.natsUser);
  return { auth: 'user', user, secret: Buffer.from(checkOneLine('--nats-password-file', readSecretFile('--nats-password-file', a.natsPasswordFile).toString('utf8'))) };
}

// The trigger's private copy: written before the trigger is saved (a bridge never starts
// without it), fsync'd and renamed into place, 0600 in directories made 0700.
export function writeNatsSecret(p: Paths, name: string, id: string, secret: Buffer): void {
  const file = natsSecretPath(p, name, id);
  privateDir(p, path.dirname(file));
  writeFileAtomic(file, secret);
}

export const removeNatsSecret = (p: Paths, name: string, id: string): void => fs.rmSync(natsSecretPath(p, name, id), { force: true });
export const removeNatsSecrets = (p: Paths, name: string): void => fs.rmSync(path.dirname(natsSecretPath(p, name, 'x')), { recursive: true, force: true });
