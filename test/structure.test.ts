// The code's shape (issue "Room to grow"): no import cycles anywhere in the add-on, the Operator
// or the protocol (the import graph comes from esbuild's metafile, as the bundles see it), and no
// source file (.ts or .svelte, tests and components included) under operator/, protocol/ or
// extension/ over 250 lines (issue "A lean Operator").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { OPERATOR_NODE_FLAGS } from './support/operator.ts';

const ENTRIES = ['extension/background/main.ts', 'operator/main.ts', 'bench/bench.ts', 'protocol/client.ts'];

test('no import cycles in extension/, operator/ and protocol/', async () => {
  const { metafile } = await build({ entryPoints: ENTRIES, bundle: true, write: false, metafile: true, platform: 'node', format: 'esm', outdir: '/tmp/komrade-structure', packages: 'external', logLevel: 'silent' });
  const graph = new Map(Object.entries(metafile.inputs).map(([file, input]) => [file, input.imports.map((i) => i.path).filter((p) => p in metafile.inputs)]));
  assert.ok(graph.size > 30, `the graph covers the code (${graph.size} files)`);
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const visit = (file: string, path: string[]) => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'open') { cycles.push([...path.slice(path.indexOf(file)), file].join(' → ')); return; }
    state.set(file, 'open');
    for (const next of graph.get(file) ?? []) visit(next, [...path, file]);
    state.set(file, 'done');
  };
  for (const file of graph.keys()) visit(file, []);
  assert.deepEqual(cycles, []);
});

test('no .ts or .svelte file under operator/, protocol/ or extension/ is over 250 lines', () => {
  const files = ['operator', 'protocol', 'extension'].flatMap((dir) => readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(ts|svelte)$/.test(e.name))
    .map((e) => join(e.parentPath, e.name)));
  assert.ok(files.some((f) => f.endsWith('.svelte')) && files.some((f) => f.startsWith('operator/')), 'the walk sees components and the Operator');
  const long = files.map((f) => [f, readFileSync(f, 'utf8').split('\n').length - 1] as const).filter(([, n]) => n > 250);
  assert.deepEqual(long, []);
});

test('every test file is listed in scripts/tests.sh (what npm test runs)', () => {
  const listed = readFileSync('scripts/tests.sh', 'utf8');
  const files = ['extension', 'operator', 'protocol', 'test'].flatMap((dir) => readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(test|e2e)\.ts$/.test(e.name))
    .map((e) => join(e.parentPath, e.name)));
  assert.ok(files.length > 20);
  assert.deepEqual(files.filter((f) => !listed.includes(f)), []);
});

test('npm start and npm run operator give the Operator the V8 flags the tests and benches run it with', () => {
  const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts;
  for (const name of ['operator', 'start']) for (const flag of OPERATOR_NODE_FLAGS) assert.ok(scripts[name]!.includes(`node ${flag} --import tsx operator/main.ts`), `${name}: ${flag}`);
});
