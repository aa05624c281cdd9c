// The in-process SSH loops: 100 commands over one connection, through raw ssh2 and through SshHost.
import { readFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import type { Client, ClientChannel } from 'ssh2';
import { SshHost } from '../core/hosts/ssh.ts';

export interface Target {
  address: string;
  port: number;
  user: string;
  key: string;
  knownHosts: string;
}

/** A plain ssh2 client, the way its README shows it; optionally with TCP_NODELAY on its socket. */
async function rawClient(t: Target, noDelay: boolean): Promise<Client> {
  const { Client } = await import('ssh2');
  const sock = tcpConnect({ host: t.address, port: t.port });
  await new Promise<void>((resolve, reject) => {
    sock.once('connect', resolve);
    sock.once('error', reject);
  });
  if (noDelay) sock.setNoDelay(true);
  const client = new Client();
  await new Promise<void>((resolve, reject) => {
    client.once('ready', resolve).once('error', reject);
    client.connect({ sock, username: t.user, privateKey: readFileSync(t.key) });
  });
  return client;
}

function rawExec(client: Client, command: string): Promise<number> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err: Error | undefined, stream: ClientChannel) => {
      if (err) {
        reject(err);
        return;
      }
      let code = -1;
      stream.on('exit', (c: number) => {
        code = c;
      });
      stream.on('close', () => resolve(code));
      stream.resume();
      stream.stderr.resume();
      stream.end();
    });
  });
}

/** Milliseconds for `n` commands one after another on an open raw ssh2 connection. */
export async function rawLoop(t: Target, n: number, noDelay: boolean): Promise<number> {
  const client = await rawClient(t, noDelay);
  try {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) if ((await rawExec(client, '/bin/true')) !== 0) throw new Error('/bin/true failed');
    return performance.now() - t0;
  } finally {
    client.end();
  }
}

/** Milliseconds for `n` commands through SshHost.exec: one after another, or all at once. */
export async function hostLoop(t: Target, n: number, parallel: boolean): Promise<number> {
  const host = await SshHost.connect({ ...t, readKnownHosts: [] });
  try {
    const t0 = performance.now();
    if (parallel) {
      const rs = await Promise.all(Array.from({ length: n }, () => host.exec('/bin/true')));
      if (rs.some((r) => r.exitCode !== 0)) throw new Error('/bin/true failed');
    } else {
      for (let i = 0; i < n; i++) if ((await host.exec('/bin/true')).exitCode !== 0) throw new Error('/bin/true failed');
    }
    return performance.now() - t0;
  } finally {
    await host.close();
  }
}

/** Milliseconds to connect (TCP, handshake, host key check, login) and close. */
export async function hostConnect(t: Target): Promise<number> {
  const t0 = performance.now();
  const host = await SshHost.connect({ ...t, readKnownHosts: [] });
  const ms = performance.now() - t0;
  await host.close();
  return ms;
}
