// The TLS settings of every HTTPS socket the gateway serves (main.ts, and broken.ts while the
// configuration is broken), in one place.
//
// TLS 1.2 offers only suites with forward secrecy (ECDHE) and authenticated encryption (GCM,
// ChaCha20-Poly1305), for both kinds of key pair (ECDSA, which faassctl tls self-signed makes,
// and RSA): Node's default list also offers CBC suites with SHA-1 and SHA-2 MACs and RSA key
// exchange. Every client of the last decade has one of these. DHE is left out: it needs
// parameters of our own (dhparam) and brings nothing ECDHE does not.
// TLS 1.3 keeps Node's own suites (all of them AEAD with forward secrecy): a cipher list naming
// none would turn TLS 1.3 off.
import type * as https from 'node:https';

export const TLS12_SUITES = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
];

export function tlsServerOptions(pair: { cert: Buffer; key: Buffer }): https.ServerOptions {
  // node:tls only here, when a socket speaks HTTPS: loading it costs every cold start.
  const tls13 = (require('node:tls') as typeof import('node:tls')).DEFAULT_CIPHERS.split(':').filter((s) => s.startsWith('TLS_'));
  return { ...pair, minVersion: 'TLSv1.2', ciphers: [...tls13, ...TLS12_SUITES].join(':'), honorCipherOrder: true };
}
