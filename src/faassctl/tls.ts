// faassctl tls self-signed: a key pair for local HTTPS, made by openssl(1), put in faass.conf.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Paths } from '../core/paths';
import { run } from '../systemd/systemctl';
import { readSettingsIni, readDockerIni, writeSettings, checkedSettingsText } from '../core/settings';
import { privateDir } from '../core/private-files';
import { applyUnits } from '../functions/deploy';
import { fail } from '../core/errors';
import { number } from '../core/validate';
import { Register } from './cli';

export async function tlsSelfSigned(paths: Paths, a: { days?: number; host?: string[] }): Promise<number> {
  const days = number('--days', a.days ?? 365, 1, 3650, { integer: true });
  const hosts = a.host ?? [];
  for (const h of hosts) if (!/^[A-Za-z0-9.-]{1,253}$/.test(h)) fail('FAASS_E_USAGE', `Invalid --host ${JSON.stringify(h.slice(0, 80))}: expected a DNS name`);
  const dir = path.join(paths.configDir, 'tls');
  privateDir(paths, dir);
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  const tmpKey = `${key}.${process.pid}.tmp`;
  const tmpCert = `${cert}.${process.pid}.tmp`;
  const raw = readSettingsIni(paths);
  raw.tls_cert = cert;
  raw.tls_key = key;
  const docker = readDockerIni(paths);
  checkedSettingsText(raw, docker); // before anything is made: a file that cannot take the pair is refused as it is
  const san = ['DNS:localhost', 'IP:127.0.0.1', 'IP:::1', ...hosts.map((h) => `DNS:${h}`)].join(',');
  const r = await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', tmpKey, '-out', tmpCert, '-days', String(days), '-subj', '/CN=faass', '-addext', `subjectAltName=${san}`]);
  if (r.code !== 0) {
    fs.rmSync(tmpKey, { force: true });
    fs.rmSync(tmpCert, { force: true });
    fail('FAASS_E_INTERNAL', `openssl failed: ${(r.stderr.trim().split('\n').pop() ?? '').slice(0, 200) || `exit ${r.code}`}`);
  }
  fs.chmodSync(tmpKey, 0o600);
  fs.chmodSync(tmpCert, 0o600); // openssl follows the umask; everything under faass's config is private
  fs.renameSync(tmpKey, key);
  fs.renameSync(tmpCert, cert);
  writeSettings(paths, raw, docker);
  const report = await applyUnits(paths, { reload: true });
  if (report.systemd === 'applied') await run('systemctl', ['--user', 'try-restart', 'faass-gateway.service']);
  process.stdout.write(`Wrote ${cert} and ${key} (valid ${days} days for ${san}); the gateway now serves HTTPS${raw.tls_listen ? ` on ${String(raw.tls_listen)}` : ''}. Clients trust it with: curl --cacert ${cert}\n`);
  return 0;
}

export const register: Register = (y, cli) =>
  y.command('tls', 'HTTPS for the gateway', (y) =>
    y
      .command(
        'self-signed',
        'write a self-signed key pair for local use and serve HTTPS with it',
        (y) =>
          y
            .option('days', { type: 'number', describe: 'validity (default 365)' })
            .option('host', { type: 'string', array: true, describe: 'extra DNS names (localhost, 127.0.0.1 and ::1 are always in)' }),
        (a) => cli.local(a, 'tls', () => tlsSelfSigned(cli.paths, a)),
      )
      .demandCommand(1, 'Name a tls command: self-signed'),
  );
