// Invites under M-of-N admission: the v2 invite (a one-time key whose public half is granted,
// whose private half rides in the link, and which signs the joiner's own key) granted by M
// current voters instead of the operator. Pure. Not connected yet: the ledger refuses every
// `admit` under M-of-N (a transaction's invite carries one grant, `sig`; M grants need their
// own shape there, see docs/PROTOCOL.md "Governance").
//
// The messages are the v2 invite's (invite.ts): a member's grant says what the operator's says.
import { bytesEqual } from './bytes.js';
import { inviteGrantMessage, inviteRedeemMessage } from './invite.js';
import { isValidPublicKey, PUBLIC_KEY_BYTES, type NodeId, type Verifier } from './keys.js';
import type { Role } from './tx.js';
import type { LedgerState } from './state.js';
import { admissionOf, policyThreshold } from './governance.js';

/** One voter's grant of the invite's one-time key. */
export interface InviteGrant {
  member: NodeId;
  sig: Uint8Array; // the member's signature over inviteGrantMessage(chain, pub, role, expires_ms)
}

/** A v2 invite granted by M voters: `sigs` sorted by member id, one per member (one encoding per set). */
export interface EndorsedInvite {
  pub: Uint8Array; // the one-time key's public half, single use
  role: Role;
  expires_ms: number;
  sigs: InviteGrant[];
  proof: Uint8Array; // the one-time key's signature over inviteRedeemMessage(chain, joiner's pub)
}

/**
 * Checks an invite presented by `joinerPub` under M-of-N admission, cheapest first: the
 * policy; the grants' shape (sorted, distinct, at most one per voter); that each grantor is a
 * current voter; that there are as many as the policy needs now; then the signatures — each
 * grant, and the one-time key's proof over the joiner's key. Returns the problem, or null.
 * Expiry and single use are the ledger's (as for v2 invites: `used_invites` keyed by `pub`).
 */
export function endorsedInviteProblem(state: LedgerState, invite: EndorsedInvite, joinerPub: Uint8Array, verifier: Verifier): string | null {
  const rule = admissionOf(state.params);
  if (!rule) return 'this grid admits by its operator: its invites carry the operator\'s signature';
  if (!(invite.pub instanceof Uint8Array) || invite.pub.length !== PUBLIC_KEY_BYTES || !isValidPublicKey(invite.pub)) return 'the invite key is not a P-256 public key';
  if (bytesEqual(invite.pub, joinerPub)) return 'the invite key is not the joiner\'s key';
  const voters = [...state.members.values()].filter((m) => m.voter && !m.removed);
  if (!Array.isArray(invite.sigs) || invite.sigs.length > voters.length) return 'more grants than the grid has voters';
  for (let i = 1; i < invite.sigs.length; i++) {
    if (!(invite.sigs[i - 1]!.member < invite.sigs[i]!.member)) return 'grants must be sorted by member id, one per member';
  }
  const byId = new Map(voters.map((m) => [m.id, m]));
  for (const g of invite.sigs) if (!byId.has(g.member)) return `${g.member} is not a current voter`;
  const needed = policyThreshold(rule, voters.length);
  if (invite.sigs.length < needed) return `the invite carries ${invite.sigs.length} grants; ${needed} are needed`;
  const grant = inviteGrantMessage(state.chain_id, invite.pub, invite.role, invite.expires_ms);
  for (const g of invite.sigs) if (!verifier.verify(byId.get(g.member)!.pub, grant, g.sig)) return `the grant of ${g.member} does not verify`;
  if (!verifier.verify(invite.pub, inviteRedeemMessage(state.chain_id, joinerPub), invite.proof)) return 'invite is not redeemed for this key (proof does not verify)';
  return null;
}
