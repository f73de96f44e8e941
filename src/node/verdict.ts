// What the ledger would answer for one of this node's transactions before it is signed: the
// ledger's own apply run on a copy of the state, then the verdict in plain words. Called by
// the outbox (forms) and the member desk (invites); the same contract as core preflight.
import { applyChecked, currentInterval, type LedgerState } from '../core/ledger.js';
import { checkBody, TxError, type DecodedTx, type TxBody, type TxErrorCode } from '../core/tx.js';
import type { Block } from '../core/block.js';
import { formatTokens } from '../market/amounts.js';

export type Verdict =
  | { ok: true; warnings: string[] }
  | { ok: false; code: TxErrorCode; reason: string; ledger_reason: string };

export interface PreflightOptions {
  /** When the transaction would apply (now): intervals due by then settle first. */
  at_ms?: number;
  /** The sender's transactions submitted but not yet committed; they apply first, in seq order. */
  pending?: readonly TxBody[];
}

/**
 * The ledger's verdict on `body` if it were signed by its sender and applied in the next
 * block at `at_ms`. Runs applyChecked (the ledger's own apply, which trusts that signatures
 * were checked) on a block of the sender's pending bodies and this one; never changes `state`.
 */
export function preflight(state: LedgerState, body: TxBody, opts: PreflightOptions = {}): Verdict {
  try {
    checkBody(body);
  } catch (err) {
    if (!(err instanceof TxError)) throw err;
    return { ok: false, code: err.code, reason: `A field is not valid: ${err.message.replace(/^[a-z_]+: (?:[a-z_]+: )?/, '')}.`, ledger_reason: err.message };
  }
  const mine = (opts.pending ?? []).filter((b) => b.from === body.from).sort((a, b) => a.seq - b.seq);
  const pub = state.members.get(body.from)?.pub ?? (body.kind === 'admit' ? body.pub : new Uint8Array(33));
  const txs: DecodedTx[] = [...mine, body].map((b, i) => ({ body: b, pub, sig: new Uint8Array(64), id: `preflight-${i}`, bytes: new Uint8Array(0) }));
  const block: Block = {
    header: {
      v: 1,
      chain: state.chain_id,
      height: state.height + 1,
      term: state.last_term,
      prev: state.last_hash,
      tx_root: new Uint8Array(32),
      tx_count: txs.length,
      time_ms: Math.max(state.time_ms, opts.at_ms ?? state.time_ms),
      proposer: state.operator,
      proposer_pub: new Uint8Array(33),
    },
    sig: new Uint8Array(64),
    txs: [],
  };
  const { state: after, receipts } = applyChecked(state, block, txs);
  const rc = receipts[receipts.length - 1]!;
  if (rc.ok) return { ok: true, warnings: warnings(after, body) };
  return { ok: false, code: rc.code, reason: explain(after, body, rc.code, rc.reason), ledger_reason: rc.reason };
}

function warnings(s: LedgerState, body: TxBody): string[] {
  if (body.kind !== 'contract') return [];
  const price = s.prices.get(body.first_interval);
  const gt = (minor: number) => formatTokens(minor, s.params.token_decimals, s.params.token_symbol);
  return price !== undefined && price > body.max_price ? [`The price when it starts (${gt(price)}/kWh) is above your limit (${gt(body.max_price)}/kWh): nothing is bought while it stays there.`] : [];
}

function explain(s: LedgerState, body: TxBody, code: TxErrorCode, ledger: string): string {
  const gt = (minor: number) => formatTokens(minor, s.params.token_decimals, s.params.token_symbol);
  const balance = s.members.get(body.from)?.balance ?? 0;
  const iv = s.params.interval_ms;
  const at = (interval: number) => new Date(interval * iv).toLocaleString([], { dateStyle: 'short', timeStyle: 'short' });
  switch (code) {
    case 'insufficient_funds': {
      const need = body.kind === 'contract' ? body.lock : 'amount' in body ? body.amount : 0;
      const what = body.kind === 'contract' ? 'the contract needs' : body.kind === 'withdraw' ? 'you asked to withdraw' : body.kind === 'fund' ? 'adding to the contract needs' : 'this needs';
      return `Your balance is ${gt(balance)}, ${what} ${gt(need)}.`;
    }
    case 'no_offer': {
      if (body.kind !== 'contract') break;
      const o = s.offers.get(body.producer);
      if (!o) return 'That producer offers no energy at the moment. Choose another, or ask them to publish an offer.';
      if (o.first_interval > body.first_interval) return `That producer's offer starts at ${at(o.first_interval)}, after your contract would. Start later.`;
      return `That producer's offer ends at ${at(o.last_interval + 1)}, before your contract would (${at(body.last_interval + 1)}). Make the contract shorter.`;
    }
    case 'contract_exists':
      return 'You already have a contract. One contract at a time: cancel it or wait until it ends.';
    case 'invalid_period':
      return `A contract or offer lasts from one interval up to ${s.params.contract_max_intervals} intervals.`;
    case 'interval_closed':
    case 'interval_future':
      return `That start time does not work (now is interval ${currentInterval(s)}). Start from the next interval.`;
    case 'bad_invite':
      return 'This invite is not valid for this grid: it was changed, or not made by its operator.';
    case 'invite_used':
      return 'This invite was used already.';
    case 'invite_expired':
      return 'This invite has expired.';
    case 'already_member':
      return 'You are a member of this grid already.';
    case 'unknown_member':
      return 'That member is no longer in the grid.';
    case 'unknown_account':
      return 'You are not a member of this grid (yet).';
    case 'replayed_seq':
    case 'skipped_seq':
      return 'Another transaction of yours is still on its way. Try again in a moment.';
    case 'contract_ended':
      return 'That contract has ended or is ending already.';
    case 'not_permitted':
      if (body.kind === 'transfer' && body.to === body.from) return 'You cannot send tokens to yourself.';
      if (body.kind === 'contract' && body.producer === body.from) return 'You cannot sign a contract with yourself.';
      return 'Your role in the grid does not allow this.';
    default:
      break;
  }
  return ledger.replace(/^[a-z_]+: /, '');
}
