/**
 * A minimal Tor control-port client (control-spec.txt): authenticate (cookie or password),
 * send commands, and receive asynchronous events. Enough to publish the Operator's onion
 * service with ADD_ONION on a system tor and to learn when a descriptor has been uploaded.
 */
import net from 'node:net';
import { readFile } from 'node:fs/promises';

/** One reply: status code and its lines (without the code prefix). */
export interface Reply { code: number; lines: string[] }

/** A control connection. */
export class TorControl {
  private buf = '';
  private pending: Reply['lines'] = [];
  private waiters: ((r: Reply) => void)[] = [];
  private listeners: ((line: string) => void)[] = [];

  private constructor(private readonly sock: net.Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => this.onData(d));
    sock.on('error', () => undefined);
  }

  /** Connect to `host:port`. */
  static connect(port: number, host = '127.0.0.1'): Promise<TorControl> {
    return new Promise((resolve, reject) => {
      const sock = net.connect(port, host, () => resolve(new TorControl(sock)));
      sock.once('error', reject);
    });
  }

  private onData(d: string) {
    this.buf += d;
    let i: number;
    while ((i = this.buf.indexOf('\r\n')) >= 0) {
      const line = this.buf.slice(0, i);
      this.buf = this.buf.slice(i + 2);
      const code = Number(line.slice(0, 3)), sep = line[3], rest = line.slice(4);
      if (code === 650) { if (sep === ' ') this.listeners.forEach((l) => l(rest)); continue; }
      this.pending.push(rest);
      if (sep === ' ') { const lines = this.pending; this.pending = []; this.waiters.shift()?.({ code, lines }); }
    }
  }

  /** Send one command; resolves with its reply (rejects on a non-2xx code). */
  command(cmd: string): Promise<Reply> {
    return new Promise((resolve, reject) => {
      this.waiters.push((r) => (r.code >= 200 && r.code < 300 ? resolve(r) : reject(new Error(`tor: ${r.code} ${r.lines.join(' ')}`))));
      this.sock.write(`${cmd}\r\n`);
    });
  }

  /** Authenticate with a password, or with the cookie file tor names in PROTOCOLINFO. */
  async authenticate(password?: string): Promise<void> {
    if (password !== undefined) { await this.command(`AUTHENTICATE "${password.replace(/["\\]/g, '\\$&')}"`); return; }
    const info = (await this.command('PROTOCOLINFO 1')).lines.join('\n');
    const cookieFile = /COOKIEFILE="((?:[^"\\]|\\.)*)"/.exec(info)?.[1];
    if (/METHODS=[^ ]*NULL/.test(info) && !cookieFile) { await this.command('AUTHENTICATE'); return; }
    if (!cookieFile) throw new Error('tor: no cookie authentication offered; pass --tor-control-password');
    const cookie = await readFile(cookieFile.replace(/\\(.)/g, '$1'));
    await this.command(`AUTHENTICATE ${cookie.toString('hex')}`);
  }

  /** Receive asynchronous event lines (after SETEVENTS). */
  onEvent(l: (line: string) => void): void { this.listeners.push(l); }

  /** Close the connection. */
  close(): void { this.sock.end(); }
}
