/**
 * `npm run operator -- --help`: the Operator's command line. Flags override environment
 * variables (KOMRADE_*), which override defaults.
 */
import { Command, Option, InvalidArgumentError } from 'commander';
import { resolve } from 'node:path';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import QRCode from 'qrcode';
import { startOperator } from './server.ts';
import { addOnion, launchTor, torAvailable, type Onion } from './tor.ts';

const int = (min: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`must be a whole number >= ${min}`);
  return n;
};
const env = (name: string) => process.env[`KOMRADE_${name}`];

const program = new Command('komrade-operator')
  .description('The Komrade Operator: encrypted mailboxes that forget, meant to be reached only as a Tor onion service.')
  .addOption(new Option('--data <dir>', 'data directory (LevelDB)').default(env('DATA') ?? './data'))
  .addOption(new Option('--host <addr>', 'address to bind; must be loopback unless --allow-public-bind').default(env('HOST') ?? '127.0.0.1'))
  .addOption(new Option('--port <n>', 'port to bind; 0 = any free port (printed)').argParser(int(0)).default(Number(env('PORT') ?? 7657)))
  .option('--allow-public-bind', 'allow a non-loopback --host (not for production: the Operator belongs behind tor)', env('ALLOW_PUBLIC_BIND') === '1')
  .option('--allow-loopback-homes', 'developer mode: a join request may name a loopback home Operator (COLLECTIVES.md §15)', env('ALLOW_LOOPBACK_HOMES') === '1')
  .addOption(new Option('--ttl-days <n>', 'undelivered mail and idle mailboxes expire after this many days').argParser(int(1)).default(Number(env('TTL_DAYS') ?? 14)))
  .addOption(new Option('--pow-bits <n>', 'proof-of-work difficulty for registering a name').argParser(int(0)).default(Number(env('POW_BITS') ?? 20)))
  .addOption(new Option('--mailbox-pow-bits <n>', 'proof-of-work difficulty for creating a mailbox').argParser(int(0)).default(Number(env('MAILBOX_POW_BITS') ?? 16)))
  .addOption(new Option('--deposit-pow-bits <n>', 'proof-of-work difficulty for a deposit into an intro mailbox').argParser(int(0)).default(Number(env('DEPOSIT_POW_BITS') ?? 16)))
  .addOption(new Option('--max-store-mib <n>', 'pending MiB in all mailboxes together; past it deposits get 507 (0 = no limit)').argParser(int(0)).default(Number(env('MAX_STORE_MIB') ?? 0)))
  .addOption(new Option('--max-blobs <n>', 'pending blobs per mailbox').argParser(int(1)).default(Number(env('MAX_BLOBS') ?? 500)))
  .addOption(new Option('--max-mailbox-mib <n>', 'pending MiB per mailbox').argParser(int(1)).default(Number(env('MAX_MAILBOX_MIB') ?? 16)))
  .addOption(new Option('--max-holds <n>', 'held fetches and log reads open at once; above it a read with a wait is answered at once (PROTOCOL.md §5.4)').argParser(int(0)).default(Number(env('MAX_HOLDS') ?? 20_000)))
  .addOption(new Option('--sweep-minutes <n>', 'expire and compact every N minutes').argParser(int(1)).default(Number(env('SWEEP_MINUTES') ?? 10)))
  .addOption(new Option('--log-minutes <n>', 'log request counts every N minutes (0 = never)').argParser(int(0)).default(Number(env('LOG_MINUTES') ?? 60)))
  .addOption(new Option('--tor <mode>', 'auto: launch tor if installed, else loopback only; launch: require it; control: use a running tor (--tor-control-port); off')
    .choices(['auto', 'launch', 'control', 'off']).default(env('TOR') ?? 'auto'))
  .option('--tor-binary <path>', 'the tor program to launch', env('TOR_BINARY') ?? 'tor')
  .addOption(new Option('--tor-socks-port <n>', 'launch: also open a SocksPort on 127.0.0.1 (0 = none)').argParser(int(0)).default(Number(env('TOR_SOCKS_PORT') ?? 0)))
  .option('--torrc-append <file>', 'launch: extra torrc lines (e.g. a private test network)', env('TORRC_APPEND'))
  .addOption(new Option('--tor-control-port <n>', 'control: the running tor\'s control port').argParser(int(1)).default(env('TOR_CONTROL_PORT') ? Number(env('TOR_CONTROL_PORT')) : undefined))
  .option('--tor-control-password <pw>', 'control: password (default: cookie authentication)', env('TOR_CONTROL_PASSWORD'))
  .option('--onion <address>', 'an onion already configured in the system torrc for this port: only announce it', env('ONION'))
  .addOption(new Option('--tor-timeout-seconds <n>', 'how long to wait for the onion to be published').argParser(int(1)).default(Number(env('TOR_TIMEOUT_SECONDS') ?? 300)));

program.parse();
const o = program.opts<{
  data: string; host: string; port: number; allowPublicBind: boolean; allowLoopbackHomes: boolean; ttlDays: number; powBits: number; mailboxPowBits: number; depositPowBits: number; maxStoreMib: number; maxBlobs: number; maxMailboxMib: number; maxHolds: number;
  sweepMinutes: number; logMinutes: number; tor: 'auto' | 'launch' | 'control' | 'off'; torBinary: string; torSocksPort: number; torrcAppend?: string;
  torControlPort?: number; torControlPassword?: string; onion?: string; torTimeoutSeconds: number;
}>();

/** Publish the Operator as an onion service as the flags say; undefined = loopback only. */
async function publish(dataDir: string, port: number): Promise<Onion | undefined> {
  const timeoutMs = o.torTimeoutSeconds * 1000;
  if (o.onion) return { address: o.onion.replace(/^http:\/\//, ''), close: async () => undefined };
  if (o.tor === 'off') return undefined;
  if (o.tor === 'control') {
    if (!o.torControlPort) throw new Error('--tor control needs --tor-control-port');
    return addOnion({ dataDir, targetPort: port, controlPort: o.torControlPort, password: o.torControlPassword, timeoutMs });
  }
  if (!torAvailable(o.torBinary)) {
    if (o.tor === 'launch') throw new Error(`cannot run ${o.torBinary}: install Debian's tor package (apt-get install tor)`);
    console.log('tor is not installed: running on loopback only, for development. Install it (apt-get install tor) to publish the Operator as an onion service.');
    return undefined;
  }
  console.log(`Starting tor (logs in ${join(dataDir, 'tor', 'notice.log')}); publishing the onion service can take a minute or two…`);
  return launchTor({ dataDir, targetPort: port, binary: o.torBinary, socksPort: o.torSocksPort || undefined, torrcAppend: o.torrcAppend, timeoutMs });
}

try {
  const op = await startOperator({
    dataDir: resolve(o.data), host: o.host, port: o.port, allowPublicBind: o.allowPublicBind, allowLoopbackHomes: o.allowLoopbackHomes,
    ttlMs: o.ttlDays * 86_400_000, powBits: o.powBits, mailboxPowBits: o.mailboxPowBits, depositPowBits: o.depositPowBits,
    maxStoreBytes: o.maxStoreMib * 1024 * 1024, maxBlobsPerMailbox: o.maxBlobs, maxHolds: o.maxHolds,
    maxBytesPerMailbox: o.maxMailboxMib * 1024 * 1024, sweepMs: o.sweepMinutes * 60_000, logMs: o.logMinutes * 60_000,
  });
  let onion: Onion | undefined;
  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    await onion?.close();
    await op.close();
    console.log('Operator stopped; database closed.');
    process.exit(0);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
  // Announce only once the signal handlers are in place: a supervisor (or a test) may send
  // SIGTERM the moment it reads this line.
  console.log(`Komrade Operator listening on ${op.url} (data: ${resolve(o.data)})`);
  try {
    onion = await publish(resolve(o.data), op.port);
  } catch (e) {
    console.error(`komrade-operator: ${(e as Error).message}`);
    await op.close();
    process.exit(1);
  }
  if (onion) {
    const url = `http://${onion.address}`;
    writeFileSync(join(resolve(o.data), 'onion-address'), `${url}\n`);
    console.log(`Onion service published: ${url}`);
    console.log(await QRCode.toString(url, { type: 'terminal', small: true }));
    console.log('Give this address to komrades: it goes in the add-on\'s Operator address.');
  }
} catch (e) {
  console.error(`komrade-operator: ${(e as Error).message}`);
  process.exit(1);
}
