// Re-keying: a member's account moves to a new key when its household lost the old one
// (browser data gone). Pure; applyRekey is called by the ledger (ledger.ts) only.
//
// moveAccount is the account-moving step on its own, with no check of who asked: every map
// of the ledger state that names a member moves with it, and the old id is retired for good.
// An operator key rotation (signed by the old operator key) can reuse it as it is: it moves
// `state.operator` too when the account moved is the operator's.
import { toHex } from './bytes.js';
import { nobleVerifier, nodeIdOf, type NodeId } from './keys.js';
import { rekeyBindMessage, rekeyInviteMessage, TxError, type TxErrorCode, type TxOf } from './tx.js';
import type { LedgerState, Member } from './state.js';

function deny(code: TxErrorCode, message: string): never {
  throw new TxError(code, message);
}

/**
 * Checks a `rekey` (cheap checks first, the two signatures last), then moves the account.
 * The sender is the new key, a stranger to the ledger (ledger.ts admits it with seq 0, as a
 * joiner presenting an invite). Throws TxError before changing anything.
 */
export function applyRekey(state: LedgerState, body: TxOf<'rekey'>): void {
  if (nodeIdOf(body.pub) !== body.from) deny('malformed', 'pub is not the key of from');
  const inv = body.invite;
  if (inv.member !== body.member) deny('bad_invite', 'the invite is for another member');
  if (inv.expires_ms < state.time_ms) deny('invite_expired', 'the rekey invite has expired');
  if (state.used_invites.has(toHex(inv.key))) deny('invite_used', 'the rekey invite was used already');
  const old = state.members.get(body.member);
  if (!old) deny('unknown_member', `${body.member} is not a member`);
  if (old.retired_to !== undefined) deny('unknown_member', `${old.id} moved to ${old.retired_to} already`);
  if (old.removed) deny('unknown_member', `${old.id} was removed`);
  // The operator's own key is rotated by a transaction the operator signs (governance), not by an invite it made.
  if (old.role === 'operator') deny('not_permitted', 'the operator key is not re-keyed by invite');
  const operator = state.members.get(state.operator)!;
  // Signature checks belong to decode, but the invite's needs the operator's key from state,
  // and the proof's the invite's one-time key.
  if (!nobleVerifier.verify(operator.pub, rekeyInviteMessage(state.chain_id, inv.member, inv.key, inv.expires_ms), inv.sig)) {
    deny('bad_invite', 'the rekey invite is not signed by the operator');
  }
  if (!nobleVerifier.verify(inv.key, rekeyBindMessage(state.chain_id, body.member, body.pub), body.proof)) {
    deny('bad_invite', 'the rekey invite is not bound to this key');
  }
  state.used_invites.set(toHex(inv.key), inv.expires_ms);
  moveAccount(state, old.id, { id: body.from, pub: body.pub });
}

/**
 * Moves account `from` to the new key `to` (whose id must be new to the ledger): balance,
 * role, name, membership height, contracts as consumer and producer (with their escrow),
 * the active-contract index, the offer, the meter baseline and unsettled energy, pending
 * payouts, and `state.operator` if it is the operator's. The old member stays listed,
 * removed and retired (`retired_to`), with nothing left in it: its key can never sign again
 * and its id is never reused. Voting does not move: the new key starts as a learner and is
 * promoted once caught up (a voter swapped for another in one step would be two membership
 * changes at once, and a new node has no log yet). The caller has checked the right to move.
 */
export function moveAccount(state: LedgerState, from: NodeId, to: { id: NodeId; pub: Uint8Array }): Member {
  const old = state.members.get(from);
  if (!old || old.removed) throw new TxError('unknown_member', `${from} is not a current member`);
  if (state.members.has(to.id)) throw new TxError('id_reused', `${to.id} is known to the ledger already`);
  const moved: Member = { ...old, id: to.id, pub: to.pub, voter: false, seq: 0, rekeyed_from: from };
  delete moved.retired_to;
  state.members.set(to.id, moved);
  old.balance = 0;
  old.voter = false;
  old.removed = true;
  old.retired_to = to.id;
  const rename = <V>(map: Map<NodeId, V>, f: (v: V) => V = (v) => v): void => {
    const v = map.get(from);
    if (v === undefined) return;
    map.delete(from);
    map.set(to.id, f(v));
  };
  rename(state.offers, (o) => ({ ...o, producer: to.id }));
  rename(state.active_contract);
  rename(state.meters);
  for (const slot of state.energy.values()) rename(slot);
  for (const c of state.contracts.values()) {
    if (c.consumer === from) c.consumer = to.id;
    if (c.producer === from) c.producer = to.id;
  }
  for (const p of state.payouts.values()) if (p.member === from) p.member = to.id;
  if (state.operator === from) state.operator = to.id;
  return moved;
}

/**
 * The first reference in the state to a member that is missing or retired, or null: after a
 * move nothing may still name the old id (the ledger's invariant check calls this).
 */
export function orphanedReference(state: LedgerState): string | null {
  const bad = (id: NodeId) => {
    const m = state.members.get(id);
    return !m || m.retired_to !== undefined;
  };
  if (bad(state.operator) || state.members.get(state.operator)!.removed) return `operator ${state.operator}`;
  for (const m of state.members.values()) {
    if (m.retired_to !== undefined && (!m.removed || m.voter || m.balance !== 0 || !state.members.has(m.retired_to))) return `retired member ${m.id} is not emptied`;
  }
  for (const c of state.contracts.values()) if (bad(c.consumer) || bad(c.producer)) return `contract ${c.id}`;
  for (const [id, o] of state.offers) if (bad(id) || o.producer !== id) return `offer of ${id}`;
  for (const id of state.active_contract.keys()) if (bad(id)) return `active contract of ${id}`;
  for (const id of state.meters.keys()) if (bad(id)) return `meter of ${id}`;
  for (const [interval, slot] of state.energy) for (const id of slot.keys()) if (bad(id)) return `energy of ${id} in interval ${interval}`;
  for (const p of state.payouts.values()) if (bad(p.member)) return `payout ${p.id}`;
  return null;
}
