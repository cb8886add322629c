/**
 * Publishing the Operator as a Tor onion service, three ways:
 *  - `launchTor`: run Debian's `tor` as a child process with its HiddenServiceDir in the data
 *    directory (a stable address across restarts), logs in the data directory, owned by this
 *    process (it exits when the Operator exits, even on kill -9);
 *  - `addOnion`: ask an already running system tor over its control port (ADD_ONION) with a key
 *    kept in the data directory; the service disappears when the Operator disconnects;
 *  - an onion already configured in the system torrc, just announced.
 * Both first ways wait until a descriptor has been uploaded, i.e. the service is published.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TorControl } from './torcontrol.ts';

/** A published onion service. */
export interface Onion { address: string; close(): Promise<void>; /** the tor process, when launched */ pid?: number }

/** True if a `tor` binary can be run. */
export function torAvailable(binary = 'tor'): boolean {
  return spawnSync(binary, ['--version'], { stdio: 'ignore' }).status === 0;
}

function waitForUpload(ctl: TorControl, serviceId: string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the onion service was not published within ${timeoutMs / 1000} s (see tor's log)`)), timeoutMs);
    ctl.onEvent((line) => {
      if (line.startsWith(`HS_DESC UPLOADED ${serviceId} `)) { clearTimeout(timer); resolve(); }
    });
  });
}

async function readControlPort(file: string, child: ChildProcess, timeoutMs: number): Promise<number> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (child.exitCode !== null) throw new Error(`tor exited with code ${child.exitCode} (see tor's log)`);
    if (existsSync(file)) {
      const m = /PORT=[\d.]+:(\d+)/.exec(readFileSync(file, 'utf8'));
      if (m) return Number(m[1]);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('tor did not open its control port');
}

/** Launch tor with an onion service on port 80 → 127.0.0.1:`targetPort`; resolves once published. */
export async function launchTor(o: {
  dataDir: string; targetPort: number; binary?: string; socksPort?: number; torrcAppend?: string; timeoutMs?: number;
}): Promise<Onion> {
  const dir = join(o.dataDir, 'tor');
  const hsDir = join(dir, 'onion-service');
  mkdirSync(hsDir, { recursive: true });
  chmodSync(dir, 0o700); chmodSync(hsDir, 0o700);
  const controlFile = join(dir, 'control-port');
  const torrc = [
    `DataDirectory ${join(dir, 'data')}`,
    `HiddenServiceDir ${hsDir}`,
    `HiddenServicePort 80 127.0.0.1:${o.targetPort}`,
    `SocksPort ${o.socksPort ? `127.0.0.1:${o.socksPort}` : '0'}`,
    'ControlPort auto',
    `ControlPortWriteToFile ${controlFile}`,
    'CookieAuthentication 1',
    `CookieAuthFile ${join(dir, 'control-cookie')}`,
    `__OwningControllerProcess ${process.pid}`,
    `Log notice file ${join(dir, 'notice.log')}`,
    'AvoidDiskWrites 1',
    ...(o.torrcAppend ? [readFileSync(o.torrcAppend, 'utf8')] : []),
  ].join('\n');
  writeFileSync(join(dir, 'torrc'), `${torrc}\n`);
  if (existsSync(controlFile)) writeFileSync(controlFile, ''); // a stale port from a previous run must not be read
  const child = spawn(o.binary ?? 'tor', ['-f', join(dir, 'torrc'), '--quiet'], { stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const timeoutMs = o.timeoutMs ?? 300_000;
  try {
    const ctl = await TorControl.connect(await readControlPort(controlFile, child, 30_000));
    await ctl.authenticate();
    await ctl.command('TAKEOWNERSHIP'); // tor exits when this connection closes
    await ctl.command('SETEVENTS HS_DESC');
    const hostname = join(hsDir, 'hostname');
    for (let i = 0; i < 100 && !existsSync(hostname); i++) await new Promise((r) => setTimeout(r, 100));
    const address = readFileSync(hostname, 'utf8').trim();
    await Promise.race([waitForUpload(ctl, address.replace(/\.onion$/, ''), timeoutMs), exited.then(() => { throw new Error('tor exited (see its log)'); })]);
    return { address, pid: child.pid, close: async () => { ctl.close(); child.kill('SIGTERM'); await exited; } };
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
}

/** Publish through a running tor's control port, with the service key kept in `dataDir`. */
export async function addOnion(o: { dataDir: string; targetPort: number; controlPort: number; controlHost?: string; password?: string; timeoutMs?: number }): Promise<Onion> {
  const keyFile = join(o.dataDir, 'onion-service-key');
  const ctl = await TorControl.connect(o.controlPort, o.controlHost);
  try {
    await ctl.authenticate(o.password);
    await ctl.command('SETEVENTS HS_DESC');
    const key = existsSync(keyFile) ? readFileSync(keyFile, 'utf8').trim() : 'NEW:ED25519-V3';
    const reply = await ctl.command(`ADD_ONION ${key} Port=80,127.0.0.1:${o.targetPort}`);
    const id = reply.lines.find((l) => l.startsWith('ServiceID='))!.slice('ServiceID='.length);
    const priv = reply.lines.find((l) => l.startsWith('PrivateKey='));
    if (priv) writeFileSync(keyFile, `${priv.slice('PrivateKey='.length)}\n`, { mode: 0o600 });
    await waitForUpload(ctl, id, o.timeoutMs ?? 300_000);
    return { address: `${id}.onion`, close: async () => { await ctl.command(`DEL_ONION ${id}`).catch(() => undefined); ctl.close(); } };
  } catch (e) {
    ctl.close();
    throw e;
  }
}
