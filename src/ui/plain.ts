// Plain words for what the ledger says: settlement outcomes, receipt codes and refusals.
// Pure; the household's views call it (Grid details keeps the raw codes).
import type { Outcome } from '../core/settlement.js';
import type { SubmitRefusal } from '../core/replica.js';

const OUTCOMES: Record<Outcome, string> = {
  settled: 'delivered',
  no_price: 'no price was set for this interval',
  price_above_limit: 'the price was above the contract’s limit',
  no_consumption: 'no energy was used',
  no_delivery: 'the producer had no energy left',
  cap_reached: 'the contract’s energy limit was reached',
  no_funds: 'the contract’s locked tokens ran out',
};

export function outcomeText(o: string): string {
  return OUTCOMES[o as Outcome] ?? o.replace(/_/g, ' ');
}

/** Every refusal code the core can give has its words (the type checker holds it so); receipts' other codes too. */
const CODES: Record<SubmitRefusal, string> & Record<string, string> = {
  insufficient_funds: 'the balance was not enough',
  busy: 'the grid is at capacity right now; try again in a few seconds',
  no_offer: 'the producer’s offer did not cover the period',
  contract_exists: 'another contract was still running',
  invalid_period: 'the period was not valid',
  interval_closed: 'the start time had passed',
  interval_future: 'the start time was too far ahead',
  contract_ended: 'the contract had ended',
  unknown_contract: 'no such contract',
  unknown_member: 'that member is no longer in the grid',
  unknown_account: 'this tab is not a member',
  not_permitted: 'your role does not allow it',
  bad_invite: 'the invite is not valid for this grid',
  invite_used: 'the invite was used already',
  invite_expired: 'the invite had expired',
  grants_short: 'the invite needs more voters\' grants',
  already_member: 'already a member',
  reading_stale: 'a reading for that interval was sent already',
  reading_backwards: 'the meter went backwards',
  reading_too_large: 'the reading was impossibly large',
  replayed_seq: 'it was sent twice',
  skipped_seq: 'another transaction of yours was still on its way',
  price_locked: 'the interval had its price already',
  mempool_full: 'the grid is busy; try again',
  account_full: 'you have many transactions waiting already; try again once they are confirmed',
  duplicate: 'it was sent already',
  request_exists: 'a request about the same member or key is open already',
  unknown_request: 'that request no longer exists',
  request_closed: 'that request was decided already',
  request_expired: 'that request had expired',
  already_voted: 'you voted on it already',
  requests_full: 'too many requests are open; try later',
  not_voter: 'that member does not vote',
  voters_min: 'the grid keeps at least three voters',
  voters_full: 'the grid has as many voters as it aims for',
  too_large: 'it was too large',
  malformed: 'it was not a valid transaction',
  unknown_kind: 'this version of the app does not know that kind of transaction',
  wrong_chain: 'it was signed for another grid',
  bad_signature: 'its signature did not check out',
  id_reused: 'that key was used by a member before',
  members_full: 'the grid has as many members as it can take',
  not_learner: 'that member votes already',
  unknown_payout: 'no such withdrawal is waiting',
  schedules_full: 'too many price changes are waiting already',
  contracts_full: 'too many contracts are open already',
};

/** Why a transaction failed, in words (from its receipt's code). */
export function failureText(code: string | null | undefined, fallback = 'it was refused'): string {
  return (code && CODES[code]) || fallback;
}

const KINDS: Record<string, string> = {
  transfer: 'Transfer',
  mint: 'Deposit',
  withdraw: 'Withdrawal',
  payout: 'Withdrawal paid out',
  contract: 'Contract signed',
  fund: 'Contract topped up',
  cancel: 'Contract cancelled',
  offer: 'Offer published',
  admit: 'Joined the grid',
  rekey: 'Account moved to this device (new key)',
  remove: 'Member removed',
  promote: 'Member can vote',
  demote: 'Member away: stopped voting',
  price: 'Price published',
  schedule: 'Price schedule committed',
  meter: 'Meter reading',
  rename: 'Name changed',
  join_request: 'Asked to join',
  propose_removal: 'Removal proposed',
  propose_operator: 'New operator key proposed',
  endorse: 'Endorsed a request',
  object: 'Objected to a request',
  rotate_operator: 'Operator key handed over',
  contract_payment: 'Energy bought',
  contract_income: 'Energy sold',
  contract_end: 'Contract ended, unused tokens back',
};

export function kindText(kind: string): string {
  return KINDS[kind] ?? kind;
}
