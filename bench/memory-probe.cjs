// Bench-only probe, preloaded into the Operator by bench/memory.ts (`node --expose-gc --require`):
// on SIGUSR2 it prints the process's memory (process.memoryUsage(), bytes) before and after a full
// garbage collection, as one line `memory-probe {json}` on stdout. It identifies nobody.
'use strict';
process.on('SIGUSR2', () => {
  const before = process.memoryUsage();
  globalThis.gc?.();
  const after = process.memoryUsage();
  process.stdout.write(`memory-probe ${JSON.stringify({ before, after })}\n`);
});
