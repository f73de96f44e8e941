// Rekey invites and transactions for tests and the simulator, made as the operator's node and
// the new tab make them: the operator signs the one-time key, the one-time key signs the new key.
import { NobleSigner } from '../../src/core/keys.js';
import { rekeyBindMessage, rekeyInviteMessage, signTxSync, type DecodedTx, type RekeyInvite, type TxBody } from '../../src/core/tx.js';

export interface RekeyLink {
  invite: RekeyInvite;
  secret: NobleSigner; // the one-time key carried by the link
}

/** The operator's rekey invite for `member`: a one-time key (from `seed`) it signed. */
export function rekeyLink(chain: Uint8Array, operator: NobleSigner, member: string, expires_ms: number, seed: string): RekeyLink {
  const secret = NobleSigner.fromSeed(`one-time:${seed}`);
  const sig = operator.signSync(rekeyInviteMessage(chain, member, secret.publicKey, expires_ms));
  return { invite: { member, key: secret.publicKey, expires_ms, sig }, secret };
}

/** The new key's rekey, seq 0, its key bound to the invite by the link's one-time key. */
export function rekeyTx(chain: Uint8Array, link: RekeyLink, newKey: NobleSigner, opts: { seq?: number; member?: string; proofFor?: Uint8Array } = {}): DecodedTx {
  const member = opts.member ?? link.invite.member;
  const proof = link.secret.signSync(rekeyBindMessage(chain, member, opts.proofFor ?? newKey.publicKey));
  const body = { v: 1, chain, kind: 'rekey', from: newKey.id, seq: opts.seq ?? 0, member, pub: newKey.publicKey, invite: link.invite, proof } as TxBody;
  return signTxSync(body, newKey);
}
