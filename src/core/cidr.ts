// Address ranges (CIDR) and whether an address falls in one: faass.conf's [async]
// callback_allow (callbacks reach only those), checked against every address a callback's host
// resolves to. Pure. An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is its IPv4 address, so
// [::ffff:10.0.0.1] is no way around an IPv4 range.
import * as net from 'node:net';
import { fail } from './errors';

export interface Cidr {
  readonly bytes: Uint8Array; // the network, 4 or 16 bytes
  readonly bits: number; // prefix length
  readonly text: string; // as written, for messages
}

// 4 or 16 bytes, or null when text is no IP address (zone ids like fe80::1%eth0 are refused).
export function addressBytes(text: string): Uint8Array | null {
  if (net.isIPv4(text)) return Uint8Array.from(text.split('.').map(Number));
  if (!net.isIPv6(text) || text.includes('%')) return null;
  let groups = text.split(':');
  // A dotted IPv4 tail (::ffff:1.2.3.4) is two groups.
  const last = groups[groups.length - 1];
  if (last.includes('.')) {
    const v4 = last.split('.').map(Number);
    groups = [...groups.slice(0, -1), ((v4[0] << 8) | v4[1]).toString(16), ((v4[2] << 8) | v4[3]).toString(16)];
  }
  const joined = groups.join(':');
  const [head, tail] = joined.includes('::') ? joined.split('::') : [joined, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const all = tail === undefined ? headGroups : [...headGroups, ...new Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[2 * i] = v >> 8;
    out[2 * i + 1] = v & 0xff;
  });
  const mapped = out.subarray(0, 10).every((b) => b === 0) && out[10] === 0xff && out[11] === 0xff;
  return mapped ? out.slice(12) : out;
}

// One range: ADDRESS/BITS, or a bare ADDRESS (that address alone).
export function parseCidr(key: string, text: string): Cidr {
  const [addr, bitsText, extra] = text.split('/');
  const bytes = extra === undefined ? addressBytes(addr) : null;
  const max = net.isIPv6(addr) ? 128 : 32;
  const bits = bitsText === undefined ? max : /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : -1;
  if (!bytes || bits < 0 || bits > max) fail('FAASS_E_CONFIG_INVALID', `Invalid ${key} range ${JSON.stringify(text.slice(0, 80))}: expected ADDRESS/BITS, e.g. 127.0.0.0/8 or ::1/128`);
  // An IPv4-mapped range is an IPv4 range: its bits count from the mapped address.
  const v4mapped = net.isIPv6(addr) && bytes.length === 4;
  const ownBits = v4mapped ? bits - 96 : bits;
  if (ownBits < 0) fail('FAASS_E_CONFIG_INVALID', `Invalid ${key} range ${JSON.stringify(text.slice(0, 80))}: an IPv4-mapped range needs at least /96`);
  return Object.freeze({ bytes, bits: ownBits, text });
}

// A list as faass.conf writes it: ranges separated by spaces or commas; empty allows nothing.
export function parseCidrList(key: string, value: unknown): readonly Cidr[] {
  if (typeof value !== 'string') fail('FAASS_E_CONFIG_INVALID', `Invalid ${key}: expected address ranges separated by spaces`);
  return Object.freeze(
    value
      .split(/[\s,]+/)
      .filter(Boolean)
      .map((r) => parseCidr(key, r)),
  );
}

export function inRange(range: Cidr, address: Uint8Array): boolean {
  if (range.bytes.length !== address.length) return false;
  for (let bit = 0; bit < range.bits; bit++) {
    const mask = 0x80 >> bit % 8;
    if ((range.bytes[bit >> 3] & mask) !== (address[bit >> 3] & mask)) return false;
  }
  return true;
}

// Whether the address (text, v4 or v6) is in one of the ranges; no address is in none.
export function allowedAddress(ranges: readonly Cidr[], address: string): boolean {
  const bytes = addressBytes(address.replace(/^\[|\]$/g, ''));
  return bytes !== null && ranges.some((r) => inRange(r, bytes));
}
