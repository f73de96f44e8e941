// What the ledger would answer for a member's transaction before anything is signed: the
// ledger's own apply step (applyUnsigned) run on a copy of the state, then the verdict in
// plain words with amounts in tokens. Pure; the node calls it for its forms and invites.
import { checkBody, TxError, type TxBody, type TxErrorCode } from './tx.js';
import { bytesEqual } from './bytes.js';
import { applyUnsigned, currentInterval } from './ledger.js';
import { settleDueIntervals } from './settlement.js';
import { contractStartMaxIntervals } from './params.js';
import { priceOf } from './prices.js';
import { formatTokens } from './money.js';
import type { LedgerState } from './state.js';
import type { NodeId } from './keys.js';

export type Verdict =
  | { ok: true; warnings: string[] }
  | {
      ok: false;
      /** Exactly the code the ledger's receipt would carry. */
      code: TxErrorCode;
      /** For the person at the form: what is wrong, amounts in tokens, and what to do. */
      reason: string;
      /** The ledger's own message (for logs and the curious). */
      ledger_reason: string;
    };

export interface PreflightOptions {
  /** The time the transaction would be applied at (now): due intervals settle first, as in the next block. */
  at_ms?: number;
  /** The sender's own transactions already submitted but not yet in a committed block; they apply first, in seq order. */
  pending?: readonly TxBody[];
}

/**
 * The ledger's verdict on `body` if it were signed by its sender and applied in the next
 * block at `at_ms`: `ok` (with warnings about things the ledger allows but that are
 * surely unintended), or the receipt's code with a plain-language reason. Never changes
 * `state`. The shape checks of decode (checkBody) run first, so a bad field is caught too.
 */
export function preflight(state: LedgerState, body: TxBody, opts: PreflightOptions = {}): Verdict {
  try {
    checkBody(body);
  } catch (err) {
    if (!(err instanceof TxError)) throw err;
    return refuse(err.code, plainShapeProblem(err), err.message);
  }
  if (!bytesEqual(body.chain, state.chain_id)) return refuse('wrong_chain', 'This form belongs to another grid. Reload the page.', 'wrong_chain');
  const s = structuredClone(state);
  if (opts.at_ms !== undefined && opts.at_ms > s.time_ms) {
    s.time_ms = opts.at_ms;
    settleDueIntervals(s);
  }
  const mine = (opts.pending ?? []).filter((b) => b.from === body.from).sort((a, b) => a.seq - b.seq);
  for (const b of mine) applyUnsigned(s, b);
  const receipt = applyUnsigned(s, body);
  // A failed transaction changes nothing but its sequence number (ledger.ts), so `s` still
  // shows what the sender had; a successful one changes nothing the warnings read.
  if (receipt.ok) return { ok: true, warnings: warnings(s, body) };
  return refuse(receipt.code, explain(s, body, receipt.code, receipt.reason), receipt.reason);
}

function refuse(code: TxErrorCode, reason: string, ledger_reason: string): Verdict {
  return { ok: false, code, reason, ledger_reason };
}

// ---- plain words ------------------------------------------------------------------------

/** A duration in words: "45 s", "5 min", "2 h 30 min", "31 days", "1 day 6 h". */
export function formatDuration(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return s % 60 === 0 || min >= 10 ? `${min} min` : `${min} min ${s % 60} s`;
  const h = Math.floor(min / 60);
  if (h < 24) return min % 60 === 0 ? `${h} h` : `${h} h ${min % 60} min`;
  const d = Math.floor(h / 24);
  const days = `${d} ${d === 1 ? 'day' : 'days'}`;
  return h % 24 === 0 ? days : `${days} ${h % 24} h`;
}

/** A member by display name, or the first 8 characters of its id when it has none. */
export function displayNameOf(state: LedgerState, id: NodeId): string {
  const m = state.members.get(id);
  return m?.name ?? id.slice(0, 8);
}

function plainShapeProblem(err: TxError): string {
  // The message reads "<kind>: <field> <problem>"; the field's problem is what the form needs.
  const detail = err.message.replace(/^[a-z_]+: (?:[a-z_]+: )?/, '');
  if (err.code === 'unknown_kind') return 'This kind of transaction does not exist.';
  if (err.code === 'too_large') return 'This transaction is too large.';
  const name = /^name (.*)$/.exec(detail);
  if (name) return `The name ${name[1]}.`;
  return `A field is not valid: ${detail}.`;
}

function explain(s: LedgerState, body: TxBody, code: TxErrorCode, ledger: string): string {
  const d = s.params.token_decimals;
  const sym = s.params.token_symbol;
  const gt = (minor: number) => formatTokens(minor, d, sym);
  const who = (id: NodeId) => displayNameOf(s, id);
  const now = currentInterval(s);
  const iv = s.params.interval_ms;
  /** When an interval starts, from now: "now", "in 5 min", "5 min ago". */
  const when = (interval: number) => {
    const ms = (interval - now) * iv;
    return ms === 0 ? 'now' : ms > 0 ? `in ${formatDuration(ms)}` : `${formatDuration(ms)} ago`;
  };
  const me = s.members.get(body.from);
  const balance = me?.balance ?? 0;
  switch (code) {
    case 'insufficient_funds': {
      if (body.kind === 'contract') return `Your balance is ${gt(balance)}, the contract needs ${gt(body.lock)}.`;
      if (body.kind === 'transfer') return `Your balance is ${gt(balance)}, the transfer needs ${gt(body.amount)}.`;
      if (body.kind === 'withdraw') return `Your balance is ${gt(balance)}; you asked to withdraw ${gt(body.amount)}.`;
      if (body.kind === 'fund') return `Your balance is ${gt(balance)}; adding ${gt(body.amount)} to the contract needs more.`;
      return `Your balance of ${gt(balance)} is not enough.`;
    }
    case 'no_offer': {
      if (body.kind !== 'contract') break;
      const offer = s.offers.get(body.producer);
      const name = who(body.producer);
      if (!offer) return `${name} offers no energy at the moment. Choose another producer, or ask ${name} to publish an offer.`;
      if (offer.first_interval > body.first_interval) {
        return `${name}'s offer starts ${when(offer.first_interval)}, after your contract would (${when(body.first_interval)}). Start the contract later.`;
      }
      return `${name}'s offer ends ${when(offer.last_interval + 1)}, before your contract would (${when(body.last_interval + 1)}). Shorten the contract, or ask ${name} for a longer offer.`;
    }
    case 'contract_exists': {
      const id = s.active_contract.get(body.from);
      const c = id === undefined ? undefined : s.contracts.get(id);
      const with_ = c ? ` with ${who(c.producer)}, ending ${when(c.last_interval + 1)}` : '';
      return `You already have a contract${with_}. One contract at a time: cancel it or wait until it ends.`;
    }
    case 'invalid_period': {
      if (body.kind === 'schedule') return 'A fixed price in the schedule starts before the schedule takes effect.';
      if (body.kind !== 'contract' && body.kind !== 'offer') break;
      const what = body.kind === 'contract' ? 'A contract' : 'An offer';
      const length = body.last_interval - body.first_interval + 1;
      if (length < 1) return `${what} must last at least one interval (${formatDuration(iv)}).`;
      return `${what} may last at most ${formatDuration(s.params.contract_max_intervals * iv)}; this one would last ${formatDuration(length * iv)}.`;
    }
    case 'interval_closed':
      if (body.kind === 'meter') return 'That interval is settled already; its reading comes too late.';
      if (body.kind === 'price') return 'That interval has begun or is settled; prices can only be set for later intervals.';
      if (body.kind === 'schedule') return 'A schedule takes effect from a later interval: the current one keeps its price. Choose the next interval or later.';
      return `That start time has passed (${when((body as { first_interval: number }).first_interval)}). Start now or later.`;
    case 'interval_future':
      if (body.kind === 'contract' || body.kind === 'offer') {
        return `${body.kind === 'contract' ? 'A contract' : 'An offer'} may start at most ${formatDuration(contractStartMaxIntervals(s.params) * iv)} ahead; this one would start ${when(body.first_interval)}.`;
      }
      if (body.kind === 'price') return `Prices can be set at most ${formatDuration(s.params.retain_intervals * iv)} ahead.`;
      if (body.kind === 'schedule') return `A schedule can take effect at most ${formatDuration(contractStartMaxIntervals(s.params) * iv)} ahead; this one would take effect ${when(body.effective_interval)}.`;
      return 'That interval has not begun yet.';
    case 'unknown_account':
      return 'You are not a member of this grid (yet).';
    case 'replayed_seq':
    case 'skipped_seq':
      return 'Another transaction of yours is still on its way. Try again in a moment.';
    case 'unknown_member':
      if (body.kind === 'rekey') {
        const m = s.members.get(body.member);
        return m?.retired_to ? `${who(body.member)}'s account moved to a new key already.` : `${who(body.member)} is not a current member of this grid.`;
      }
      return `${who(otherParty(body) ?? '')} is not a current member of this grid.`;
    case 'contract_ended':
      return 'That contract has ended or is ending already.';
    case 'unknown_contract':
      return `You have no contract number ${(body as { contract: number }).contract}.`;
    case 'grants_short':
      return 'This invite carries fewer grants than the grid needs now (voters may have joined since it was made): ask more voters to grant it, or ask to join.';
    case 'bad_invite':
      if (body.kind === 'admit' && body.invite && Object.hasOwn(body.invite, 'sigs')) return 'This invite is not valid for this grid: a grant or the link was changed, or it is bound to another key. Ask the members for a new invite, or ask to join.';
      if (body.kind === 'rekey') return 'This re-key link is not valid for this grid: it was changed, or not made by the operator for this household. Ask the operator for a new one.';
      return 'This invite is not valid for this grid: it was changed, or not made by the operator. Ask for a new invite, or ask to join.';
    case 'invite_used':
      if (body.kind === 'rekey') return 'This re-key link was used already. Ask the operator for a new one.';
      return 'This invite was used already. Ask the operator for a new one, or ask to join.';
    case 'invite_expired':
      if (body.kind === 'rekey') return `This re-key link expired ${formatDuration(s.time_ms - body.invite.expires_ms)} ago. Ask the operator for a new one.`;
      return body.kind === 'admit' && body.invite
        ? `This invite expired ${formatDuration(s.time_ms - body.invite.expires_ms)} ago. Ask the operator for a new one, or ask to join.`
        : 'This invite has expired.';
    case 'already_member':
      return 'You are a member of this grid already.';
    case 'id_reused':
      return 'This identity was removed from the grid; it cannot join again. Use a new one.';
    case 'members_full':
      return 'The grid has as many members as it can hold.';
    case 'contracts_full':
      return 'The grid holds as many contracts as it can right now. Try again later.';
    case 'not_learner':
      return 'That member votes already.';
    case 'not_voter':
      if (body.kind === 'admit') return 'A member who granted this invite does not vote now (removed, or no longer a voter): ask another voter to grant it.';
      return 'That member does not vote.';
    case 'voters_min':
      return 'The grid keeps at least three voters: no more can stop voting now.';
    case 'voters_full':
      return `The grid has ${s.params.max_voters ?? 'its'} voters, as many as it aims for.`;
    case 'unknown_payout':
      return `There is no pending payout number ${(body as { payout: number }).payout}.`;
    case 'price_locked':
      return 'The current interval has its price already (from a price set before, or from the schedule); set the next one.';
    case 'schedules_full':
      return 'Several schedules are already waiting to take effect. Replace them with one that takes effect sooner, or wait.';
    case 'reading_stale':
      return 'A reading for that interval was sent already.';
    case 'reading_backwards':
      return 'The meter registers went backwards: check the meter.';
    case 'reading_too_large':
      return 'The reading holds more energy than one meter can move in an interval: check the meter.';
    case 'request_exists':
      if (body.kind === 'join_request') return 'A request to join from this tab was made already; the members see it.';
      return 'A request about the same member or key is open already: endorse it instead.';
    case 'unknown_request':
      return 'That request does not exist any more (requests leave the grid once they expire).';
    case 'request_closed':
      return 'That request was decided already.';
    case 'request_expired':
      return 'That request has expired.';
    case 'already_voted':
      return 'You voted on this request already.';
    case 'requests_full':
      return 'Too many requests are open right now. Try again later.';
    case 'not_permitted':
      if ((body.kind === 'endorse' || body.kind === 'object' || body.kind.startsWith('propose_')) && me && !me.removed && !me.voter) {
        return 'Your node votes once it has caught up with the grid (a few seconds after joining). Try again in a moment.';
      }
      if (body.kind === 'join_request') return 'This grid admits members through its operator: ask the operator for an invite.';
      if (body.kind === 'admit' && body.invite) {
        return Object.hasOwn(body.invite, 'sigs')
          ? 'This grid admits members through its operator: ask the operator for an invite.'
          : 'This grid admits members by vote: ask to join, or ask the members for an invite granted by the voters.';
      }
      if (body.kind === 'contract' && body.producer === body.from) return 'You cannot sign a contract with yourself.';
      if (body.kind === 'contract' && s.members.get(body.producer)?.role === 'consumer') return `${who(body.producer)} is not a producer.`;
      if (body.kind === 'transfer' && body.to === body.from) return 'You cannot send tokens to yourself.';
      if (me?.removed) return 'You were removed from this grid.';
      return `Your role (${me?.role ?? 'none'}) may not do this.`;
    default:
      break;
  }
  return ledger.replace(/^[a-z_]+: /, '');
}

/** The member a body names besides its sender, if any. */
function otherParty(body: TxBody): NodeId | undefined {
  switch (body.kind) {
    case 'transfer':
    case 'mint':
      return body.to;
    case 'contract':
      return body.producer;
    case 'admit':
    case 'rekey':
    case 'remove':
    case 'promote':
    case 'propose_removal':
    case 'demote':
      return body.member;
    default:
      return undefined;
  }
}

function warnings(s: LedgerState, body: TxBody): string[] {
  const out: string[] = [];
  if (body.kind !== 'contract') return out;
  const d = s.params.token_decimals;
  const sym = s.params.token_symbol;
  if (body.lock === 0) out.push('Nothing is locked: the contract cannot pay for any energy until you add funds.');
  const price = priceOf(s, body.first_interval)?.price;
  if (price !== undefined && price > body.max_price) {
    out.push(`The price when the contract starts (${formatTokens(price, d, sym)}/kWh) is above your limit (${formatTokens(body.max_price, d, sym)}/kWh): nothing trades while it stays there.`);
  }
  return out;
}
