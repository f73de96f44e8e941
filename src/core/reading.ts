// Who may read the chain from a member's node (its genesis, blocks and certificates): the
// grid's members (auditors included), a joiner presenting a valid invite bound to its own key
// (a join or a rekey invite; a join invite of the grid's policy: the operator's, or under M-of-N
// one granted by M voters), or anyone when the
// genesis opens reading. A stranger asking the voters to join reads once admitted: then it is a
// member. Pure; sync.ts asks.
import { toHex } from './bytes.js';
import { checkInviteV2, inviteId } from './invite.js';
import type { NodeId, Verifier } from './keys.js';
import type { LedgerState } from './state.js';
import { admissionOf } from './governance.js';
import { endorsedInviteProblem, isEndorsedInvite } from './endorsed-invite.js';
import { rekeyBindMessage, rekeyInviteMessage, type EndorsedInvite, type InviteV2, type RekeyInvite } from './tx.js';

/** What a joiner shows a member's node before it may read: the invite it will present. */
export type ReadPass = { kind: 'invite'; invite: InviteV2 | EndorsedInvite } | { kind: 'rekey'; member: NodeId; invite: RekeyInvite; proof: Uint8Array };

export type ReadRight = { ok: true; as: 'public' | 'member' | 'invite' | 'rekey' } | { ok: false; reason: string };

/**
 * Whether the peer whose key the handshake proved (`id`, `pub`) may read this chain. Cheap
 * checks first (public grid, membership, expiry, single use); signatures last. Time is the
 * chain's (the state's last block), as in the ledger.
 */
export function readRight(state: LedgerState, id: NodeId, pub: Uint8Array, pass: ReadPass | null, verifier: Verifier): ReadRight {
  if (state.params.open_reading === true) return { ok: true, as: 'public' };
  const m = state.members.get(id);
  if (m && !m.removed) return { ok: true, as: 'member' };
  if (!pass) return { ok: false, reason: 'this grid is read by its members only: present an invite or ask to join' };
  const operator = state.members.get(state.operator)!;
  if (pass.kind === 'invite') {
    const inv = pass.invite;
    // Each policy takes its own invites: the operator's, or one granted by M voters (the
    // ledger would refuse the other kind's admit, so it is no read pass either).
    if (admissionOf(state.params)) {
      if (!isEndorsedInvite(inv)) return { ok: false, reason: 'this grid admits members by vote: ask to join, or present an invite granted by the voters' };
      const problem = endorsedInviteProblem(state, inv, pub, verifier);
      return problem ? { ok: false, reason: problem.message } : { ok: true, as: 'invite' };
    }
    if (isEndorsedInvite(inv)) return { ok: false, reason: 'this grid admits by its operator: its invites carry the operator\'s signature' };
    if (inv.expires_ms < state.time_ms) return { ok: false, reason: 'the invite has expired' };
    if (state.used_invites.has(inviteId(inv))) return { ok: false, reason: 'the invite was used already' };
    const problem = checkInviteV2(state.chain_id, operator.pub, inv, pub, verifier);
    return problem ? { ok: false, reason: problem } : { ok: true, as: 'invite' };
  }
  const inv = pass.invite;
  if (inv.member !== pass.member) return { ok: false, reason: 'the rekey invite is for another member' };
  if (inv.expires_ms < state.time_ms) return { ok: false, reason: 'the rekey invite has expired' };
  if (state.used_invites.has(toHex(inv.key))) return { ok: false, reason: 'the rekey invite was used already' };
  if (!verifier.verify(operator.pub, rekeyInviteMessage(state.chain_id, inv.member, inv.key, inv.expires_ms), inv.sig)) return { ok: false, reason: 'the rekey invite is not signed by the operator' };
  if (!verifier.verify(inv.key, rekeyBindMessage(state.chain_id, pass.member, pub), pass.proof)) return { ok: false, reason: 'the rekey invite is not bound to this key' };
  return { ok: true, as: 'rekey' };
}
