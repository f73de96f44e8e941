// Invites under M-of-N admission: the v2 invite (a one-time key whose public half is granted,
// whose private half rides in the link, and which signs the joiner's own key) granted by M
// current voters instead of the operator. Pure. The ledger's `admit`, the replica's entry
// check and `readRight` (the `present` pass) call endorsedInviteProblem; members' nodes and
// tests make grants and redeem with the helpers below.
//
// The messages are the v2 invite's (invite.ts): a member's grant says what the operator's says.
import { p256 } from '@noble/curves/nist.js';
import { bytesEqual } from './bytes.js';
import { inviteGrantMessage, inviteId, inviteKeyFromSeed, inviteRedeemMessage } from './invite.js';
import { isValidPublicKey, PUBLIC_KEY_BYTES, type NodeId, type Verifier } from './keys.js';
import { TxError, type EndorsedInvite, type Invite, type InviteGrant, type Role } from './tx.js';
import type { LedgerState } from './state.js';
import { admissionOf, policyThreshold } from './governance.js';
import { LIMITS } from './params.js';

export type { EndorsedInvite, InviteGrant } from './tx.js';

export function isEndorsedInvite(invite: Invite): invite is EndorsedInvite {
  return Object.hasOwn(invite, 'sigs');
}

/** Endorsed invites the grid's policy needs now: M of its current voters (null under the operator's policy). */
export function grantsNeeded(state: LedgerState): number | null {
  const rule = admissionOf(state.params);
  if (!rule) return null;
  let voters = 0;
  for (const m of state.members.values()) if (m.voter && !m.removed) voters++;
  return policyThreshold(rule, voters);
}

/**
 * Checks an invite presented by `joinerPub` under M-of-N admission, cheapest first: the
 * policy; expiry and single use (against the state's time and `used_invites`, keyed by `pub`
 * as for v2); the grants' shape (sorted, distinct); that each grantor is a current voter;
 * that there are as many as the policy needs now; then the signatures — each grant, and the
 * one-time key's proof over the joiner's key. Returns the typed problem, or null.
 * Codes: not_permitted (operator's policy), invite_expired, invite_used, bad_invite (shape,
 * signatures, proof), not_voter (a grantor that does not vote now), grants_short.
 */
export function endorsedInviteProblem(state: LedgerState, invite: EndorsedInvite, joinerPub: Uint8Array, verifier: Verifier): TxError | null {
  const needed = grantsNeeded(state);
  if (needed === null) return new TxError('not_permitted', 'this grid admits by its operator: its invites carry the operator\'s signature');
  if (invite.expires_ms < state.time_ms) return new TxError('invite_expired', 'invite has expired');
  if (state.used_invites.has(inviteId(invite))) return new TxError('invite_used', 'invite was used already');
  if (!(invite.pub instanceof Uint8Array) || invite.pub.length !== PUBLIC_KEY_BYTES || !isValidPublicKey(invite.pub)) return new TxError('bad_invite', 'the invite key is not a P-256 public key');
  if (bytesEqual(invite.pub, joinerPub)) return new TxError('bad_invite', 'the invite key is not the joiner\'s key');
  if (!Array.isArray(invite.sigs) || invite.sigs.length > LIMITS.invite_grants_max) return new TxError('bad_invite', `an invite carries at most ${LIMITS.invite_grants_max} grants`);
  for (let i = 1; i < invite.sigs.length; i++) {
    if (!(invite.sigs[i - 1]!.member < invite.sigs[i]!.member)) return new TxError('bad_invite', 'grants must be sorted by member id, one per member');
  }
  const grantors = invite.sigs.map((g) => state.members.get(g.member));
  for (const [i, m] of grantors.entries()) {
    if (!m || !m.voter || m.removed) return new TxError('not_voter', `${invite.sigs[i]!.member} is not a current voter`);
  }
  if (invite.sigs.length < needed) {
    const more = needed > LIMITS.invite_grants_max ? ` (more than an invite can carry: ask to join)` : '';
    return new TxError('grants_short', `the invite carries ${invite.sigs.length} grants; ${needed} are needed now${more}`);
  }
  const grant = inviteGrantMessage(state.chain_id, invite.pub, invite.role, invite.expires_ms);
  for (const [i, g] of invite.sigs.entries()) {
    if (!verifier.verify(grantors[i]!.pub, grant, g.sig)) return new TxError('bad_invite', `the grant of ${g.member} does not verify`);
  }
  if (!verifier.verify(invite.pub, inviteRedeemMessage(state.chain_id, joinerPub), invite.proof)) return new TxError('bad_invite', 'invite is not redeemed for this key (proof does not verify)');
  return null;
}

/** A member's grant of the one-time key `pub` (its node signs the v2 grant message). */
export function grantEndorsedInvite(chain: Uint8Array, member: NodeId, pub: Uint8Array, role: Role, expires_ms: number, signSync: (message: Uint8Array) => Uint8Array): InviteGrant {
  return { member, sig: signSync(inviteGrantMessage(chain, pub, role, expires_ms)) };
}

/** The one-time key of an endorsed invite from 48 random bytes (as a v2 link's). */
export function endorsedInviteKey(seed: Uint8Array): { key: Uint8Array; pub: Uint8Array } {
  return inviteKeyFromSeed(seed);
}

/**
 * The joiner redeems an endorsed invite for its own key: grants sorted by member id (a grant
 * repeated for one member is kept once), and the one-time secret `key` signs `joinerPub`.
 */
export function redeemEndorsedInvite(chain: Uint8Array, key: Uint8Array, role: Role, expires_ms: number, grants: InviteGrant[], joinerPub: Uint8Array): EndorsedInvite {
  const byMember = new Map<NodeId, InviteGrant>();
  for (const g of grants) if (!byMember.has(g.member)) byMember.set(g.member, g);
  const sigs = [...byMember.values()].sort((x, y) => (x.member < y.member ? -1 : x.member > y.member ? 1 : 0));
  return {
    pub: p256.getPublicKey(key, true),
    role,
    expires_ms,
    sigs,
    proof: p256.sign(inviteRedeemMessage(chain, joinerPub), key, { lowS: true }),
  };
}
