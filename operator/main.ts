/**
 * `npm run operator -- --help`: the Operator's command line. Flags override environment
 * variables (KOMRADE_*), which override defaults.
 */
import { Command, Option, InvalidArgumentError } from 'commander';
import { resolve } from 'node:path';
import { startOperator } from './server.ts';

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
  .addOption(new Option('--ttl-days <n>', 'undelivered mail and idle mailboxes expire after this many days').argParser(int(1)).default(Number(env('TTL_DAYS') ?? 14)))
  .addOption(new Option('--pow-bits <n>', 'proof-of-work difficulty for registering a name').argParser(int(0)).default(Number(env('POW_BITS') ?? 18)))
  .addOption(new Option('--max-blobs <n>', 'pending blobs per mailbox').argParser(int(1)).default(Number(env('MAX_BLOBS') ?? 500)))
  .addOption(new Option('--max-mailbox-mib <n>', 'pending MiB per mailbox').argParser(int(1)).default(Number(env('MAX_MAILBOX_MIB') ?? 16)))
  .addOption(new Option('--sweep-minutes <n>', 'expire and compact every N minutes').argParser(int(1)).default(Number(env('SWEEP_MINUTES') ?? 10)))
  .addOption(new Option('--log-minutes <n>', 'log request counts every N minutes (0 = never)').argParser(int(0)).default(Number(env('LOG_MINUTES') ?? 60)));

program.parse();
const o = program.opts<{ data: string; host: string; port: number; allowPublicBind: boolean; ttlDays: number; powBits: number; maxBlobs: number; maxMailboxMib: number; sweepMinutes: number; logMinutes: number }>();

try {
  const op = await startOperator({
    dataDir: resolve(o.data), host: o.host, port: o.port, allowPublicBind: o.allowPublicBind,
    ttlMs: o.ttlDays * 86_400_000, powBits: o.powBits, maxBlobsPerMailbox: o.maxBlobs,
    maxBytesPerMailbox: o.maxMailboxMib * 1024 * 1024, sweepMs: o.sweepMinutes * 60_000, logMs: o.logMinutes * 60_000,
  });
  console.log(`Komrade Operator listening on ${op.url} (data: ${resolve(o.data)})`);
  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    await op.close();
    console.log('Operator stopped; database closed.');
    process.exit(0);
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
} catch (e) {
  console.error(`komrade-operator: ${(e as Error).message}`);
  process.exit(1);
}
