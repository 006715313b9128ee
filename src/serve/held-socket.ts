// A listening socket serve holds the way systemd holds a .socket unit's: bound here, handed to
// each program it starts (LISTEN_FDS), and kept open between them, so connections that arrive
// while a program restarts wait in the kernel's queue instead of being refused.
// serve never accepts on it: the socket is only bound here (no libuv watcher, so this process
// never takes a connection meant for a child); the first program's listen(2) makes it listen
// (Node calls listen on an inherited socket, activation.ts listenOn), and it keeps listening as
// long as this process holds it. net.Server cannot do that (it always watches what it listens
// on), hence Node's own socket wraps.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Address } from '../core/validate';
import { FaassError } from '../core/errors';

interface RawHandle {
  fd: number;
  bind(host: string, port: number): number;
  bind6(host: string, port: number, flags: number): number;
  close(): void;
}

interface Wraps {
  Pipe: new (type: number) => RawHandle & { bind(path: string): number; fchmod?(mode: number): number };
  TCP: new (type: number) => RawHandle;
  PIPE_SERVER: number;
  TCP_SERVER: number;
}

function wraps(): Wraps {
  try {
    const binding = (process as unknown as { binding(name: string): Record<string, unknown> }).binding;
    const pipe = binding('pipe_wrap') as { Pipe: Wraps['Pipe']; constants: { SERVER: number } };
    const tcp = binding('tcp_wrap') as { TCP: Wraps['TCP']; constants: { SERVER: number } };
    return { Pipe: pipe.Pipe, TCP: tcp.TCP, PIPE_SERVER: pipe.constants.SERVER, TCP_SERVER: tcp.constants.SERVER };
  } catch (e) {
    throw new FaassError('FAASS_E_INTERNAL', `This Node cannot hold sockets for faassctl serve (${(e as Error).message})`);
  }
}

// uv error numbers are negative errnos.
function check(rc: number, what: string, addr: Address): void {
  if (rc === 0) return;
  const name = (require('node:util') as typeof import('node:util')).getSystemErrorName(rc);
  const hint = name === 'EADDRINUSE' ? ' (in use: is faass-gateway.socket or another faassctl serve listening there?)' : '';
  throw new FaassError('FAASS_E_CONFIG_INVALID', `Cannot ${what} ${addr.text}: ${name}${hint}`);
}

export class HeldSocket {
  private closed = false;

  private constructor(
    readonly address: Address,
    private readonly handle: RawHandle,
  ) {}

  get fd(): number {
    return this.handle.fd;
  }

  // A unix socket is made private (0600 in a 0700 directory) before its name appears: it is
  // bound under a temporary name and renamed into place.
  static bind(addr: Address): HeldSocket {
    const w = wraps();
    if (addr.kind === 'unix') {
      fs.mkdirSync(path.dirname(addr.path), { recursive: true, mode: 0o700 });
      const tmp = `${addr.path}.${process.pid}.tmp`;
      fs.rmSync(tmp, { force: true });
      const h = new w.Pipe(w.PIPE_SERVER);
      check(h.bind(tmp), 'bind', addr);
      fs.chmodSync(tmp, 0o600);
      fs.renameSync(tmp, addr.path);
      return new HeldSocket(addr, h);
    }
    const h = new w.TCP(w.TCP_SERVER);
    check(addr.host.includes(':') ? h.bind6(addr.host, addr.port, 0) : h.bind(addr.host, addr.port), 'bind', addr);
    return new HeldSocket(addr, h);
  }

  // Closes it for good (a deleted function's, an old listen address): a unix socket's name goes
  // with it, as systemd's RemoveOnStop= does.
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handle.close();
    if (this.address.kind === 'unix') fs.rmSync(this.address.path, { force: true });
  }
}
