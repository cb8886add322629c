/**
 * Test support for the Operator's collectives routes (COLLECTIVES.md): a fresh Operator (its log
 * lines kept) with registered komrades whose collective secrets are seeded, so that
 * commitments, roots, scopes and messages reproduce and proofs can come from a recording
 * (test/support/proofs.ts); joins, charters, the expected vouch counts, refusals that change
 * nothing, and growing a `log2` collective by vouching.
 */
import assert from 'node:assert/strict';
import { b64, randomBytes } from '../../protocol/bytes.ts';
import { OperatorError } from '../../protocol/client.ts';
import type { Charter } from '../../protocol/collective.ts';
import type { QuorumRule } from '../../protocol/quorum.ts';
import { quorum } from '../../protocol/quorum.ts';
import { memberIdentity, type ProofKind } from '../../protocol/vouch.ts';
import { komrade, raw, snapshot, startTestOperator } from './operator.ts';
import { seededSecret, type recordedProofs } from './proofs.ts';

/** The founder first, then the order in which they are admitted. */
export const NAMES = ['fiona', 'anna', 'boris', 'chen', 'dara', 'emeka', 'fatma', 'gus', 'hana', 'jonas', 'kofi', 'mara', 'nadia', 'omar', 'petra', 'quinn'];
export const EXTRA = ['xena', 'yuri', 'zoe'];
export const C = 'Portland', c = 'portland';
/** quorum(log2, n) for n = 1..15 members. */
export const NEEDED = [1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4];

type K = ReturnType<typeof komrade> & { secret: Uint8Array };

/** A refusal with this status (and reason, if given). */
export const rejects = (status: number, reason?: string) => (e: unknown) =>
  e instanceof OperatorError && e.status === status && (reason === undefined || e.reason === reason);

/** A new Operator with every komrade of NAMES and EXTRA registered. */
export async function collectivesWorld(proofs: ReturnType<typeof recordedProofs>) {
  const lines: string[] = [];
  const op = await startTestOperator({ logMs: 20, log: (l) => lines.push(l) });
  // proving blocks this process (client and Operator alike) for seconds: keep-alive timers would then race
  // the client's reuse of a socket the server is closing ("fetch failed"); add-on and Operator never share a process
  op.server.keepAliveTimeout = 10 * 60_000;
  const k: Record<string, K> = {};
  for (const name of [...NAMES, ...EXTRA]) {
    k[name] = Object.assign(komrade(name), { secret: seededSecret(`collectives/${name}`) });
    await k[name]!.register(op.client);
  }
  const commitments = new Map<string, bigint>(); // deriving one takes ~40 ms: once per komrade and collective
  const commitmentOf = (who: string, coll = c) => commitments.get(`${who}/${coll}`) ?? commitments.set(`${who}/${coll}`, memberIdentity(k[who]!.secret, coll).commitment).get(`${who}/${coll}`)!;
  /** What the counts should be: name → collective → vouches. */
  const model = new Map<string, Record<string, number>>();

  const w = {
    op, lines, k, commitmentOf, model,
    /** A real proof (recorded) by `who` about `subject`, against the collective's current tree (or `leaves`); `variant` for a second proof of the same inputs. */
    async prove(who: string, kind: ProofKind, subject: string, epoch: number, commitment: bigint, o: { coll?: string; leaves?: bigint[]; variant?: string } = {}) {
      const coll = o.coll ?? c;
      const leaves = (o.leaves ?? (await op.client.tree(coll)).leaves.map(BigInt)).map(String);
      const [p] = await proofs.prove([{ secret: b64(k[who]!.secret), collective: coll, members: leaves, kind, subject, epoch, binding: commitment.toString() }], o.variant);
      return p!;
    },
    /** `who` asks to join `coll`. */
    ask(who: string, coll = C) {
      const p = k[who]!;
      return op.client.requestJoin(p.identity.privateKey, {
        v: 2, collective: coll, name: who, identityKey: b64(p.identity.publicKey), commitment: commitmentOf(who, coll.toLowerCase()).toString(),
        prekey: { id: b64(randomBytes(8)), key: b64(p.prekey.publicKey) }, ts: Date.now(),
      });
    },
    /** A charter for `name` founded by `founder`. */
    charter(name: string, founder: string, quorumRule: QuorumRule): Charter {
      const f = k[founder]!;
      return { v: 2, name, description: `the ${name} collective`, quorum: quorumRule, created: Date.now(), founder, founderKey: b64(f.identity.publicKey), founderCommitment: commitmentOf(founder, name.toLowerCase()).toString() };
    },
    bump(name: string, coll: string) { const m = model.get(name) ?? {}; m[coll] = (m[coll] ?? 0) + 1; model.set(name, m); },
    reset(name: string, coll: string) { const m = model.get(name); if (m) delete m[coll]; },
    async assertCounts(name: string) {
      const m = model.get(name) ?? {};
      assert.deepEqual(await op.client.vouchCounts(name), { total: Object.values(m).reduce((a, b) => a + b, 0), collectives: m }, `counts of ${name}`);
    },
    /** Assert that a refused request changed nothing in the store. */
    async unchanged<T>(what: () => Promise<T>, check: (e: unknown) => boolean) {
      const before = await snapshot(op);
      await assert.rejects(what, check);
      assert.deepEqual(await snapshot(op), before, 'a refusal changes nothing');
    },
    async unchangedRaw(path: string, body: unknown, status: number) {
      const before = await snapshot(op);
      const r = await raw(op.url, 'POST', path, body);
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.deepEqual(await snapshot(op), before, 'a refusal changes nothing');
      return r.body;
    },
    /** Found Portland (log2) and admit NAMES[1..n-1], each by the quorum of vouches from the newest members. */
    async grow(n: number) {
      await op.client.createCollective(k.fiona!.identity.privateKey, w.charter(C, 'fiona', 'log2'));
      for (let i = 1; i < n; i++) {
        const candidate = NAMES[i]!;
        await w.ask(candidate);
        for (let v = 0; v < quorum('log2', i); v++) {
          await op.client.vouch(c, candidate, await w.prove(NAMES[i - 1 - v]!, 'vouch', candidate, 0, commitmentOf(candidate)));
          w.bump(candidate, c);
        }
      }
      assert.equal((await op.client.getCollective(c)).members, n);
    },
  };
  return w;
}
