// Builds the add-on: background and popup bundles (esbuild + esbuild-svelte), the packaged
// libthemis.wasm, the Semaphore depth-16 circuit (wasm + zkey), popup.html, the icon and the manifest into dist/extension/, then zips them
// into dist/komrade.xpi. `node build.mjs` (or `npm run build`).
import { build } from 'esbuild';
import sveltePlugin from 'esbuild-svelte';
import { zipSync } from 'fflate';
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const out = 'dist/extension';
rmSync('dist', { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const common = {
  bundle: true, format: 'iife', target: ['firefox128'], platform: 'browser', minify: false, sourcemap: false,
  legalComments: 'none', logLevel: 'warning',
  // wasm-themis's Emscripten glue mentions Node modules it never loads in the browser
  external: ['fs', 'path', 'ws', 'util', 'crypto'],
};
// protocol/vouch.ts finds the circuit files in node_modules with import.meta.resolve (Node only);
// the add-on passes its packaged files instead (main.ts), so that branch is never taken here
await build({ ...common, entryPoints: { background: 'extension/background/main.ts' }, outdir: out, define: { 'import.meta.resolve': 'globalThis.komradeNodeOnlyResolve' } });
await build({
  // minified: the popup is parsed on every opening (337 → ~150 KB); the source is this repository
  ...common, minify: true, entryPoints: { popup: 'extension/popup/main.ts' }, outdir: out,
  mainFields: ['svelte', 'browser', 'module', 'main'], conditions: ['svelte', 'browser'],
  plugins: [sveltePlugin({ compilerOptions: { css: 'external' } })],
});

cpSync('node_modules/wasm-themis/src/libthemis.wasm', join(out, 'libthemis.wasm'));
// the Semaphore circuit (depth 16) from the trusted-setup ceremony, as shipped in npm: proving
// uses these packaged files and never downloads anything (COLLECTIVES.md §2)
for (const f of ['semaphore-16.wasm', 'semaphore-16.zkey']) cpSync(join('node_modules/@zk-kit/semaphore-artifacts', f), join(out, f));
cpSync('extension/popup/popup.html', join(out, 'popup.html'));
cpSync('extension/icon.svg', join(out, 'icon.svg'));
cpSync('LICENSE', join(out, 'LICENSE')); // AGPL-3.0-or-later travels with the add-on
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
const manifest = JSON.parse(readFileSync('manifest.json', 'utf8'));
writeFileSync(join(out, 'manifest.json'), JSON.stringify({ ...manifest, version: pkg.version }, null, 2));

const files = {};
const walk = (dir) => readdirSync(dir).forEach((f) => {
  const p = join(dir, f);
  if (statSync(p).isDirectory()) walk(p); else files[relative(out, p)] = [readFileSync(p), { mtime: new Date('2026-01-01') }];
});
walk(out);
writeFileSync('dist/komrade.xpi', zipSync(files, { level: 9 }));
console.log(`built ${out}/ and dist/komrade.xpi (${Object.keys(files).length} files)`);
