/**
 * The attacker's own client: seals a message that claims to come from `from`, signed by a fresh
 * identity key of the attacker's (or by `signer`), and deposits it through the real Operator into
 * `to`'s intro mailbox (with the intro deposit's proof of work), as any independent client could.
 */
import { b64, randomBytes, unb64 } from '../protocol/bytes.ts';
import type { OperatorClient } from '../protocol/client.ts';
import { seal } from '../protocol/envelope.ts';
import { KeyPair } from '../protocol/themis.ts';

export async function forge(client: OperatorClient, o: { to: string; from: string; text: string; signer?: KeyPair }) {
  const rec = (await client.lookup(o.to)).record;
  const signer = o.signer ?? new KeyPair();
  const body = { kind: 'msg', from: o.from, text: o.text, replyTo: b64(randomBytes(16)), prekey: { id: b64(randomBytes(8)), key: b64(new KeyPair().publicKey) } };
  const { blob, id } = seal({
    senderIdentity: { privateKey: signer.privateKey, publicKey: signer.publicKey },
    recipientIdentityKey: unb64(rec.identityKey), prekey: { id: rec.prekey.id, key: unb64(rec.prekey.key) }, body,
  });
  await client.deposit(rec.intro, blob, { intro: true });
  return { id, intro: rec.intro };
}
