/**
 * An Operator in a process of its own for `npm run bench -- live` (the same `startOperator` as
 * operator/main.ts, no tor), answering its parent over IPC with its memory (RSS, heap), its CPU
 * time so far and how many reads it holds (PROTOCOL.md §5.4). Argv[2]: the data directory.
 */
import { loadThemis } from '../protocol/themis.ts';
import { startOperator } from '../operator/server.ts';

await loadThemis();
const op = await startOperator({
  dataDir: process.argv[2]!, host: '127.0.0.1', port: 0, allowPublicBind: false, ttlMs: 14 * 86_400_000, powBits: 8, mailboxPowBits: 0, depositPowBits: 0,
  maxBlobsPerMailbox: 500, maxBytesPerMailbox: 16 << 20, sweepMs: 3_600_000, logMs: 0, log: () => {},
});
process.on('message', async (m: { type: string }) => {
  if (m.type === 'stats') {
    const mem = process.memoryUsage(), cpu = process.cpuUsage();
    process.send!({ type: 'stats', rss: mem.rss, heapUsed: mem.heapUsed, cpuMicros: cpu.user + cpu.system, holds: op.holds.size });
  }
  if (m.type === 'close') { await op.close(); process.send!({ type: 'closed' }); process.exit(0); }
});
process.send!({ type: 'ready', url: op.url });
