/**
 * Vault v1 → v2, in place, the first time the vault is open after the update (at unlock, or at
 * the first request if the storage key was already in the session). The v1 state is split into
 * records (every record is written first, the header last: an interruption leaves a v1 vault,
 * and the next attempt writes the same records again), then the v1 ciphertext is dropped.
 */
import { CHUNK, Contact, DEFAULT_SETTINGS, StateV1, type Summary } from './state.ts';
import type { Vault } from './vault.ts';

const DAY = 86_400_000;

/** The records a v1 state becomes. */
export function recordsOfV1(raw: unknown): Record<string, unknown> {
  const s = StateV1.parse(raw);
  const out: Record<string, unknown> = {
    account: { v: 2, operator: s.operator, settings: { ...DEFAULT_SETTINGS, ...s.settings }, me: s.me, prekeys: s.prekeys, mailboxes: s.mailboxes },
    outbox: { items: s.outbox },
    pending: { items: s.pendingFirst },
  };
  const index: Record<string, Summary> = {};
  for (const [key, c] of Object.entries(s.contacts)) {
    const { messages, unread, ...rest } = c;
    const chunks = Math.ceil(messages.length / CHUNK);
    const last = messages.findLast((m) => !m.notice);
    out[`contact/${key}`] = Contact.parse({ ...rest, chunks: { first: 0, next: chunks }, disappear: 0, ...(last && { last: { text: last.text, t: last.t, dir: last.dir } }) });
    for (let n = 0; n < chunks; n++) out[`chunk/${key}/${n}`] = { messages: messages.slice(n * CHUNK, (n + 1) * CHUNK) };
    index[key] = { unread };
  }
  out.index = { contacts: index };
  const days: Record<string, Record<string, number>> = {};
  for (const [id, t] of Object.entries(s.seen)) (days[`seen/${Math.floor(t / DAY)}`] ??= {})[id] = t;
  return { ...out, ...days };
}

/** Upgrade an unlocked v1 vault; nothing to do for v2 or while locked. */
export async function migrate(vault: Vault): Promise<void> {
  const legacy = await vault.legacyState();
  if (legacy === undefined) return;
  const records = await vault.records();
  if (!records) return;
  await records.putAll(recordsOfV1(legacy));
  await vault.finishMigration();
}
