// Whether an X-Callback-Url may be called: http or https, no user name or password in it, and
// every address its host resolves to inside faass.conf's [async] callback_allow. Checked at
// enqueue (the caller hears at once, nothing is queued) and again at each send, where the host
// is resolved once and the address checked is the one connected to: a name that resolved inside
// at enqueue and resolves elsewhere later (DNS rebinding) is refused, not followed. Messages
// name the host, never the whole URL: its path or query may carry the receiver's secret.
import * as dns from 'node:dns';
import * as net from 'node:net';
import { FaassError } from '../core/errors';
import { Cidr, addressBytes, allowedAddress } from '../core/cidr';

export const CALLBACK_URL_MAX = 2048;

export type Resolver = (host: string) => Promise<{ address: string; family: number }[]>;

const systemResolver: Resolver = (host) => dns.promises.lookup(host, { all: true, verbatim: true });

export interface CallbackTarget {
  url: URL;
  address: string; // checked: connect to this one
  family: 4 | 6;
}

const refused = (why: string): FaassError => new FaassError('FAASS_E_CALLBACK_REFUSED', `X-Callback-Url refused: ${why}`);

// Refusals that may not hold later (the name does not resolve now): at send, a failed attempt
// like any other; every other refusal is final.
const passing = new WeakSet<Error>();
export const mayPassLater = (e: unknown): boolean => e instanceof Error && passing.has(e);
const unresolved = (why: string): FaassError => {
  const e = refused(why);
  passing.add(e);
  return e;
};

// The URL parsed and checked, or FAASS_E_CALLBACK_REFUSED. Pure but for the resolver.
export function parseCallbackUrl(text: string): URL {
  if (text.length > CALLBACK_URL_MAX) throw refused(`longer than ${CALLBACK_URL_MAX} characters`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw refused('not a URL (expected http://HOST[:PORT]/PATH)');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refused(`scheme ${JSON.stringify(url.protocol.slice(0, -1).slice(0, 20))} (only http and https)`);
  if (url.username !== '' || url.password !== '') throw refused('a user name or password in the URL (put a token in its path or query)');
  if (url.hostname === '') throw refused('no host');
  return url;
}

// 0.0.0.0 and :: (and ::ffff:0.0.0.0): connecting there reaches this host on any address, so
// they are never a callback's, whatever the allow-list says.
const unspecified = (address: string): boolean => addressBytes(address)?.every((b) => b === 0) ?? false;

const portOf = (url: URL): number => (url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80);

// Every address of the URL's host, each inside the allow-list and none unspecified, on a port
// that is not the gateway's; the first address is the one to use.
export async function checkCallbackUrl(text: string, allow: readonly Cidr[], resolve: Resolver = systemResolver, gatewayPorts: readonly number[] = []): Promise<CallbackTarget> {
  const url = parseCallbackUrl(text);
  if (gatewayPorts.includes(portOf(url))) throw refused(`port ${portOf(url)} is faass's gateway's own (a callback never calls faass)`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: { address: string; family: number }[];
  if (net.isIP(host)) addresses = [{ address: host, family: net.isIP(host) }];
  else {
    try {
      addresses = await resolve(host);
    } catch (e) {
      throw unresolved(`host ${host.slice(0, 100)} does not resolve (${(e as NodeJS.ErrnoException).code ?? 'unknown error'})`);
    }
    if (addresses.length === 0) throw unresolved(`host ${host.slice(0, 100)} does not resolve`);
  }
  const open = addresses.find((a) => unspecified(a.address));
  if (open) throw refused(`${host === open.address ? host : `host ${host.slice(0, 100)} resolves to ${open.address}, which`} is the unspecified address (every address of this host)`);
  const outside = addresses.find((a) => !allowedAddress(allow, a.address));
  if (outside) throw refused(`${host === outside.address ? `${host} is` : `host ${host.slice(0, 100)} resolves to ${outside.address}, which is`} outside faass.conf [async] callback_allow (${allow.map((r) => r.text).join(' ') || 'empty: callbacks go nowhere'})`);
  return { url, address: addresses[0].address, family: addresses[0].family === 6 ? 6 : 4 };
}
