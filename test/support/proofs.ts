/**
 * Test support: Semaphore proofs for the Operator's route tests, recorded once and verified (not
 * made) in the fast tier. Making a proof takes ~2.8 s, verifying one ~20 ms; a recording lets
 * `npm run test:fast` check every route with real proofs in seconds.
 *
 * Everything a proof's public inputs depend on comes from here, so that roots, scopes and
 * messages reproduce from run to run: member secrets are derived from a label (`seededSecret`),
 * and key pairs whose public keys a proof binds (posting keys, cursor keys) are recorded with
 * the proofs (`keyPair`). A proof is looked up by its inputs (`ProveJob`, plus a variant for a
 * second proof of the same inputs).
 *
 * Modes (environment): KOMRADE_PROVE=1 proves everything afresh and records nothing (what
 * `npm test` does: the proving paths stay covered); KOMRADE_RECORD=1 proves afresh and writes
 * the fixture (`npm run record-proofs`); otherwise proofs and keys come from the fixture, and a
 * proof missing from it fails the test with a message saying to re-record.
 */
import { spawn } from 'node:child_process';
import { after, before } from 'node:test';
import { performance } from 'node:perf_hooks';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { sha256 } from '@noble/hashes/sha2.js';
import { b64, unb64, utf8 } from '../../protocol/bytes.ts';
import { KeyPair, loadThemis, privateKey, publicKey } from '../../protocol/themis.ts';
import { memberIdentity, proveVouch, shutdownCurve, type VouchProof } from '../../protocol/vouch.ts';
import type { ProveJob } from './prove-child.ts';

export type { ProveJob } from './prove-child.ts';

/** How this run gets its proofs. */
export const mode: 'prove' | 'record' | 'recorded' = process.env.KOMRADE_RECORD === '1' ? 'record' : process.env.KOMRADE_PROVE === '1' ? 'prove' : 'recorded';

/** A 32-byte member secret derived from a label: the same commitments in every run. */
export const seededSecret = (label: string): Uint8Array => sha256(utf8(`komrade test secret\n${label}`));

interface Fixture { keys: Record<string, { priv: string; pub: string }>; proofs: Record<string, VouchProof> }

/** Prove one job in this process (blocks it for ~2–3 s). */
export const proveHere = (j: ProveJob): Promise<VouchProof> => proveVouch({
  identity: memberIdentity(unb64(j.secret), j.collective), members: j.members.map(BigInt), kind: j.kind,
  collective: j.collective, subject: j.subject, epoch: j.epoch, commitment: BigInt(j.binding),
});

/** Prove `jobs` in two child processes (both cores); proofs in job order. */
export async function proveInChildren(jobs: ProveJob[]): Promise<VouchProof[]> {
  const child = new URL('./prove-child.ts', import.meta.url).pathname;
  const half = Math.ceil(jobs.length / 2);
  const run = (part: ProveJob[]) => new Promise<VouchProof[]>((resolve, reject) => {
    if (!part.length) { resolve([]); return; }
    const p = spawn(process.execPath, ['--import', 'tsx', child], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as VouchProof[]) : reject(new Error(`prover exited ${code}`))));
    p.stdin.end(JSON.stringify(part));
  });
  const [a, b] = await Promise.all([run(jobs.slice(0, half)), run(jobs.slice(half))]);
  return [...a, ...b];
}

/**
 * The proofs and keys of one test file, in test/fixtures/proofs/<name>.json. `save()` (call it
 * in `after`) writes the fixture when recording.
 */
export function recordedProofs(name: string) {
  const file = new URL(`../fixtures/proofs/${name}.json`, import.meta.url).pathname;
  const stored: Fixture = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) as Fixture : { keys: {}, proofs: {} };
  const fresh: Fixture = { keys: {}, proofs: {} };
  const keyOf = (job: ProveJob, variant: string) => b64(sha256(utf8(JSON.stringify([job.secret, job.collective, job.members, job.kind, job.subject, job.epoch, job.binding, variant]))));
  let made = 0;
  return {
    /** How many proofs were made (not loaded) in this run. */
    get made() { return made; },
    /** A key pair recorded under `label` (a fresh one when proving afresh). */
    keyPair(label: string): KeyPair {
      let k = mode === 'recorded' ? stored.keys[label] : fresh.keys[label];
      if (!k && mode === 'recorded') throw new Error(`no key "${label}" recorded in ${file}: run npm run record-proofs`);
      if (!k) { const p = new KeyPair(); k = fresh.keys[label] = { priv: b64(p.privateKey), pub: b64(p.publicKey) }; }
      return new KeyPair(privateKey(unb64(k.priv)), publicKey(unb64(k.pub)));
    },
    /** Proofs for `jobs` (in order): loaded from the recording, or made in two child processes. */
    async prove(jobs: ProveJob[], variant = ''): Promise<VouchProof[]> {
      if (mode !== 'recorded') {
        const ps = jobs.length === 1 ? [await proveHere(jobs[0]!)] : await proveInChildren(jobs); // one: no child process to start
        made += ps.length;
        if (mode === 'record') jobs.forEach((j, i) => { fresh.proofs[keyOf(j, variant)] = ps[i]!; });
        return ps;
      }
      return jobs.map((j) => {
        const p = stored.proofs[keyOf(j, variant)];
        if (!p) throw new Error(`no proof recorded for ${j.kind} ${j.collective}/${j.subject} epoch ${j.epoch} in ${file}: run npm run record-proofs`);
        return p;
      });
    },
    /** Write the recording (record mode only). */
    save() {
      if (mode !== 'record') return;
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, `${JSON.stringify(fresh, null, 1)}\n`);
    },
  };
}

/**
 * A route test file's recorded proofs, with the file's hooks: Themis loaded before its tests;
 * after them the recording saved, the curve shut down and how many proofs were made printed.
 */
export function proofsForTestFile(name: string): ReturnType<typeof recordedProofs> {
  const proofs = recordedProofs(name), t0 = performance.now();
  before(() => loadThemis());
  after(async () => {
    proofs.save();
    await shutdownCurve();
    console.log(`# ${proofs.made} proofs made, ${Math.round((performance.now() - t0) / 1000)} s`);
  });
  return proofs;
}
