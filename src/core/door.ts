// What a member's node may take from, and tell, a peer that may not read the chain (a stranger):
// under M-of-N admission, that peer's own signed join request, to put on the chain; and how the
// grid admits, with the progress of that peer's own request. Pure; the node's door room calls it.
import type { NodeId } from './keys.js';
import type { LedgerState } from './state.js';
import { TxError, type DecodedTx } from './tx.js';
import { admissionOf, joinRequestProblem, policyThreshold, tally } from './governance.js';

/** A stranger's own join request as members' nodes see it on the chain. */
export interface JoinProgress {
  id: number;
  /** open (waiting for votes), admitted, or rejected by objections. A request leaves the state at its expiry. */
  status: 'open' | 'admitted' | 'rejected';
  endorsed: number;
  objected: number;
  needed: number;
  expires_ms: number;
}

/**
 * All a stranger is told (in the `denied` frame): how the grid admits, how many endorsements a
 * join needs now, and its own request's progress. Nothing else of the chain: no names, members,
 * balances or heights beyond what the handshake already says.
 */
export interface OutsiderView {
  admission: 'operator' | 'm_of_n';
  /** Endorsements a join request needs now (M-of-N), or null (the operator admits). */
  join_needed: number | null;
  /** The request whose subject is this peer, while the state keeps it; null otherwise. */
  request: JoinProgress | null;
}

/** What the members' state says to peer `id` that may not read it. */
export function outsiderView(state: LedgerState, id: NodeId): OutsiderView {
  const rule = admissionOf(state.params);
  if (!rule) return { admission: 'operator', join_needed: null, request: null };
  let voters = 0;
  for (const m of state.members.values()) if (m.voter && !m.removed) voters++;
  let request: JoinProgress | null = null;
  for (const r of state.requests.values()) {
    if (r.kind !== 'join' || r.subject !== id) continue;
    const t = tally(state, r);
    const status = r.status === 'done' ? 'admitted' : r.status;
    request = { id: r.id, status, endorsed: t.endorsed, objected: t.objected, needed: t.needed, expires_ms: r.expires_ms };
  }
  return { admission: 'm_of_n', join_needed: policyThreshold(rule, voters), request };
}

/**
 * A transaction a peer that may not read hands over in its `join_req` frame. Only its own join
 * request goes through: the kind is `join_request`, it is signed in the name of the key the
 * handshake proved (`peer`), and it passes the ledger's cheap checks (the grid admits by vote,
 * seq 0, a new key, expiry, room). Its signature is checked after, on entry (Replica.submit).
 * A stranger cannot use the door to put anything else on the chain, nor anyone else's request.
 */
export function strangerJoinProblem(state: LedgerState, peer: NodeId, tx: DecodedTx): TxError | null {
  if (tx.body.kind !== 'join_request') return new TxError('not_permitted', 'a peer that is no member may hand over only its own join request');
  if (tx.body.from !== peer) return new TxError('not_permitted', 'a join request is handed over by the joiner itself');
  return joinRequestProblem(state, tx.body);
}
