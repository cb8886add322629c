// The built add-on passes Mozilla's linter (web-ext lint) with no errors, and its manifest
// asks for no more than it needs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

test('web-ext lint reports no errors', () => {
  const out = execFileSync('npx', ['web-ext', 'lint', '--source-dir', 'dist/extension', '--self-hosted', '--output', 'json'], { encoding: 'utf8' });
  const report = JSON.parse(out.slice(out.indexOf('{'))) as { summary: { errors: number }; errors: unknown[]; warnings: { code: string; file: string }[] };
  assert.equal(report.summary.errors, 0, JSON.stringify(report.errors));
  // the one innerHTML is Svelte's runtime cloning its static templates, never user data
  for (const w of report.warnings.filter((x) => x.code === 'UNSAFE_VAR_ASSIGNMENT')) assert.equal(w.file, 'popup.js');
});

test('the manifest: strict CSP, few permissions, host access only to onions and loopback', () => {
  const m = JSON.parse(readFileSync('dist/extension/manifest.json', 'utf8'));
  assert.match(m.content_security_policy.extension_pages, /^script-src 'self' 'wasm-unsafe-eval'; object-src 'none'/);
  assert.doesNotMatch(m.content_security_policy.extension_pages, /upgrade-insecure-requests|'unsafe-eval'|'unsafe-inline'/);
  assert.deepEqual(m.permissions.sort(), ['alarms', 'notifications', 'proxy', 'storage']);
  assert.deepEqual(m.host_permissions, ['http://*.onion/*', 'http://127.0.0.1/*', 'http://localhost/*']);
  assert.equal(m.version, JSON.parse(readFileSync('package.json', 'utf8')).version);
  // the licence: AGPL-3.0-or-later (snarkjs, Semaphore's prover, is GPL-3.0), its text shipped inside the .xpi
  assert.equal(JSON.parse(readFileSync('package.json', 'utf8')).license, 'AGPL-3.0-or-later');
  assert.match(m.description, /AGPL-3\.0-or-later/);
  assert.match(readFileSync('dist/extension/LICENSE', 'utf8'), /GNU AFFERO GENERAL PUBLIC LICENSE\s+Version 3/);
});
