/**
 * Writes README.md's "Measured" table from bench/results.json (`npm run bench:readme`): the
 * rows between the `<!-- measured -->` markers are replaced, everything else is left alone.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Row } from './lib.ts';

const { machine, rows } = JSON.parse(readFileSync('bench/results.json', 'utf8')) as { machine: Record<string, string | number>; rows: Row[] };
const num = (v: number) => (Math.abs(v) >= 100 ? Math.round(v).toString() : Number(v.toPrecision(3)).toString());
const cell = (r: Row) => r.ratio
  ? `${num(r.value)}× (${num(r.ratio.of.value)} ${r.ratio.of.unit} ÷ ${num(r.ratio.to.value)} ${r.ratio.to.unit})`
  : `${num(r.value)} ${r.unit}`;
const table = [
  `Measured by \`npm run bench\` on ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node} (${machine.date}); every ratio's two sides come from the same run.`,
  '',
  '| Measure | Value | Goal |',
  '|---|---|---|',
  ...rows.map((r) => `| ${r.name.trim().replaceAll('|', '\\|')} | ${cell(r)} | ${r.goal ? `${r.goal}: ${r.met ? 'met' : '**missed**'}` : ''} |`),
].join('\n');
const readme = readFileSync('README.md', 'utf8');
const re = /<!-- measured -->[\s\S]*<!-- \/measured -->/;
if (!re.test(readme)) throw new Error('README.md has no <!-- measured --> … <!-- /measured --> markers');
writeFileSync('README.md', readme.replace(re, `<!-- measured -->\n${table}\n<!-- /measured -->`));
console.log(`README.md: ${rows.length} rows`);
