// A member leaving the grid (by itself, by the operator, or by vote): its contracts end after
// the current interval, its offer goes, and (exit rule 2) its money becomes a pending payout.
// Pure; called by the ledger (ledger.ts) and governance.ts only.
import type { GridParams } from './params.js';
import type { Contract, LedgerState, Member } from './state.js';

/** Exit rule 2 (every grid made since): a removed member's tokens are paid out in currency. */
export function paysOutLeavers(params: GridParams): boolean {
  return params.exit_rule === 2;
}

/**
 * Ends a contract after the current interval (which still settles, so a consumer cannot
 * cancel to avoid paying for energy already delivered); what stays locked is refunded once
 * its last interval has settled.
 */
export function requestEnd(c: Contract, now: number): void {
  c.cancel_requested = true;
  c.last_interval = Math.min(c.last_interval, Math.max(now, c.first_interval - 1));
}

/**
 * Removes member `m` (the caller checked who may): no longer a voter or a member, its
 * contracts as consumer and as producer end after interval `now` — their escrow comes back
 * to the consumer through the contract's normal end — and its offer is withdrawn. Under exit
 * rule 2 its balance becomes a pending payout at once; returns that payout's number.
 */
export function endMembership(state: LedgerState, m: Member, now: number, height: number): number | undefined {
  m.removed = true;
  m.voter = false;
  for (const c of state.contracts.values()) {
    if (c.status === 'active' && (c.consumer === m.id || c.producer === m.id)) requestEnd(c, now);
  }
  state.offers.delete(m.id);
  return paysOutLeavers(state.params) ? payOutBalance(state, m, height) : undefined;
}

/**
 * Burns a removed member's balance into a pending payout (as a withdrawal does), to be paid
 * in currency by the operator; minted − burned = balances + locked still holds. Returns the
 * payout's number, or undefined when there was nothing to pay.
 */
export function payOutBalance(state: LedgerState, m: Member, height: number): number | undefined {
  if (m.balance <= 0) return undefined;
  const id = state.next_payout++;
  state.payouts.set(id, { id, member: m.id, amount: m.balance, height });
  state.burned += m.balance;
  m.balance = 0;
  return id;
}

/**
 * Exit rule 2, after every block's transactions: what reached a removed member since it left
 * (the refund of its escrow when its last contract interval settled, a producer's payment for
 * that interval) becomes a pending payout too. Retired keys (rekey.ts) hold nothing.
 */
export function payOutLeavers(state: LedgerState, height: number): void {
  if (!paysOutLeavers(state.params)) return;
  for (const m of state.members.values()) if (m.removed && m.retired_to === undefined && m.balance > 0) payOutBalance(state, m, height);
}
