// The ledger state machine: apply(state, block) -> { state, receipts, statements }.
// Deterministic and pure: the input state is never mutated, time comes only from block
// headers, and every transaction gets a receipt. A transaction that is authentic and in
// sequence but fails (overdraft, ended contract, …) changes nothing except consuming its
// sequence number, so it can never be replayed later; one out of sequence consumes nothing.
import { encodeCanonical, type CanonicalValue } from './codec.js';
import { bytesEqual } from './bytes.js';
import { taggedHash } from './hash.js';
// Invite signatures need the operator's key from state, so the ledger checks them itself
// with the core's synchronous verifier.
import { nobleVerifier as inviteVerifier, nodeIdOf, type NodeId, type Verifier } from './keys.js';
import { contractStartMaxIntervals, exactMoney, isLegacyGenesis, LIMITS, settlementRuleOf, type GridParams } from './params.js';
import { checkInviteV2, inviteId, isInviteV1 } from './invite.js';
import { operatorIdOf, type SignedGenesis, checkGenesis } from './genesis.js';
import { blockHash, checkBlock, type Block } from './block.js';
import { inviteMessage, TxError, type DecodedTx, type Role, type TxBody, type TxErrorCode, type TxOf } from './tx.js';
import { MILLI_PER_MINOR, settleDueIntervals, type Statement } from './settlement.js';
import { frontierAppend, genesisFrontier, nextHistory } from './history.js';
import type { Contract, LedgerState, Member, MemberRole } from './state.js';
import { applyRekey, orphanedReference } from './rekey.js';
import { endMembership, payOutLeavers, requestEnd } from './exit.js';
import { endorsedInviteProblem, isEndorsedInvite } from './endorsed-invite.js';
import { admissionOf, openJoinRequest, proposeOperator, proposeRemoval, pruneRequests, rotateOperator, vote } from './governance.js';
import { recordReading } from './readings.js';
import { applySchedule, priceOf, pruneSchedules } from './prices.js';

export type { Contract, ContractStatus, GovRequest, IntervalEnergy, LedgerState, Member, MemberRole, MeterState, Offer, Payout, ScheduleEntry } from './state.js';

export type Receipt =
  | { tx: string; ok: true; contract?: number; payout?: number; request?: number }
  | { tx: string; ok: false; code: TxErrorCode; reason: string };

export interface ApplyResult {
  state: LedgerState;
  receipts: Receipt[];
  statements: Statement[];
}

export class InvariantError extends Error {
  override name = 'InvariantError';
}

export function intervalOf(params: GridParams, time_ms: number): number {
  return Math.floor(time_ms / params.interval_ms);
}

export function currentInterval(state: LedgerState): number {
  return intervalOf(state.params, state.time_ms);
}

export function genesisState(signed: SignedGenesis, verifier: Verifier): LedgerState {
  const chain_id = checkGenesis(signed, verifier);
  const g = signed.genesis;
  const members = new Map<NodeId, Member>();
  const add = (pub: Uint8Array, role: MemberRole) => {
    const id = nodeIdOf(pub);
    members.set(id, { id, pub, role, voter: true, removed: false, seq: 0, balance: 0, joined_height: 0 });
  };
  add(g.operator, 'operator');
  for (const m of g.members) add(m.pub, m.role);
  return {
    chain_id,
    params: { ...g.params },
    operator: operatorIdOf(g),
    height: 0,
    last_hash: chain_id,
    history: genesisFrontier(chain_id),
    last_term: 0,
    time_ms: g.time_ms,
    members,
    used_invites: new Map(),
    prices: new Map(),
    offers: new Map(),
    contracts: new Map(),
    active_contract: new Map(),
    meters: new Map(),
    energy: new Map(),
    settled_through: intervalOf(g.params, g.time_ms) - 1,
    minted: 0,
    burned: 0,
    payouts: new Map(),
    next_contract: 1,
    next_payout: 1,
    requests: new Map(),
    next_request: 1,
  };
}

/** Voters (id -> public key) of a state: whose acks count toward commit. */
export function votersOf(state: LedgerState): Map<NodeId, Uint8Array> {
  const out = new Map<NodeId, Uint8Array>();
  for (const m of state.members.values()) if (m.voter && !m.removed) out.set(m.id, m.pub);
  return out;
}

/** Checks the block against the state's tip (checkBlock), then applies it. */
export function apply(state: LedgerState, block: Block, verifier: Verifier, trust_tx?: (tx: DecodedTx) => boolean): ApplyResult {
  const txs = checkBlock(block, {
    ...(trust_tx ? { trust_tx } : {}),
    chain: state.chain_id,
    prev: { hash: state.last_hash, height: state.height, term: state.last_term, time_ms: state.time_ms },
    history: nextHistory(state.params, state.history),
    max_txs: state.params.block_max_txs,
    max_bytes: state.params.block_max_bytes,
    verifier,
  });
  return applyChecked(state, block, txs);
}

/** Applies a block whose checks (checkBlock) already passed; `txs` are its decoded transactions. */
export function applyChecked(prior: LedgerState, block: Block, txs: DecodedTx[]): ApplyResult {
  const state = structuredClone(prior);
  const h = block.header;
  state.height = h.height;
  state.last_hash = blockHash(h);
  // The tree over blocks 0..height; the next block's header carries its root.
  state.history = frontierAppend(prior.history, prior.height + 1, state.last_hash);
  state.last_term = h.term;
  state.time_ms = h.time_ms;
  const statements = settleDueIntervals(state);
  // Readings after a gap add their share of settled intervals (rule 3) after settlement's.
  const receipts = txs.map((tx) => applyBody(state, tx.body, tx.pub, tx.id, h.height, statements, h.proposer));
  payOutLeavers(state, h.height);
  prune(state);
  assertInvariants(state);
  return { state, receipts, statements };
}

/**
 * What the ledger answers for `body` from its own sender, without a signature: the very
 * checks and changes of a transaction in a block, bar the key match (the caller is about
 * to sign with the sender's key). Mutates `state`: pass a copy. For preflight.ts only.
 */
export function applyUnsigned(state: LedgerState, body: TxBody, height = state.height + 1): Receipt {
  return applyBody(state, body, null, '', height, []);
}

/**
 * `out`: the block's statements (a reading after a gap adds to them); `proposer`: the
 * block's (null in preflight, which has no block).
 */
function applyBody(state: LedgerState, body: TxBody, pub: Uint8Array | null, id: string, height: number, out: Statement[], proposer: NodeId | null = null): Receipt {
  const tx = { id };
  // A joiner presenting an invite or asking to join (join_request), or a new key taking over an
  // account (rekey): a stranger's first tx.
  const joining = (body.kind === 'admit' && body.invite !== null) || body.kind === 'rekey' || body.kind === 'join_request';
  const sender = state.members.get(body.from);
  if (joining && !sender) {
    if (body.seq !== 0) return fail(tx, new TxError('skipped_seq', `a new key signs its ${body.kind} with seq 0`));
  } else {
    if (!sender) return fail(tx, new TxError('unknown_account', `${body.from} is not a member`));
    if (body.seq < sender.seq) return fail(tx, new TxError('replayed_seq', `seq ${body.seq} already used (next is ${sender.seq})`));
    if (body.seq > sender.seq) return fail(tx, new TxError('skipped_seq', `seq ${body.seq} skips ahead of ${sender.seq}`));
    if (sender.removed) return fail(tx, new TxError('not_permitted', `${body.from} was removed`));
    if (pub && !bytesEqual(sender.pub, pub)) return fail(tx, new TxError('bad_signature', 'key does not match the member'));
  }
  try {
    const extra = execute(state, body, sender, height, out, proposer);
    return { tx: tx.id, ok: true, ...extra };
  } catch (err) {
    if (!(err instanceof TxError)) throw err;
    return fail(tx, err);
  } finally {
    // Authentic and in sequence: the number is used whatever the outcome.
    const member = state.members.get(body.from);
    if (member && (sender || joining) && member.seq === body.seq) member.seq = body.seq + 1;
  }
}

function fail(tx: { id: string }, err: TxError): Receipt {
  return { tx: tx.id, ok: false, code: err.code, reason: err.message };
}

function deny(code: TxErrorCode, message: string): never {
  throw new TxError(code, message);
}

const isProducer = (r: MemberRole) => r === 'producer' || r === 'prosumer';
const isConsumer = (r: MemberRole) => r === 'consumer' || r === 'prosumer';

function liveMember(state: LedgerState, id: NodeId): Member {
  const m = state.members.get(id);
  if (!m || m.removed) deny('unknown_member', `${id} is not a current member`);
  return m;
}

function requireRole(sender: Member | undefined, ok: (r: MemberRole) => boolean, what: string): Member {
  if (!sender || !ok(sender.role)) deny('not_permitted', `${sender?.role ?? 'non-member'} may not ${what}`);
  return sender;
}

function debit(member: Member, amount: number): void {
  if (member.balance < amount) deny('insufficient_funds', `balance ${member.balance} < ${amount}`);
  member.balance -= amount;
}

/** Validates then mutates: every check throws before the first change. */
function execute(state: LedgerState, body: TxBody, sender: Member | undefined, height: number, out: Statement[], proposer: NodeId | null): { contract?: number; payout?: number; request?: number } {
  const now = currentInterval(state);
  const operator = (r: MemberRole) => r === 'operator';
  switch (body.kind) {
    case 'admit':
      admit(state, body, sender, height);
      return {};
    case 'rekey':
      if (sender) deny(sender.removed ? 'id_reused' : 'already_member', `${body.from} is known to the ledger already`);
      applyRekey(state, body);
      return {};
    case 'rename': {
      // The name's shape was checked on decode (checkDisplayName); any member may rename itself.
      const s = requireRole(sender, () => true, 'rename');
      s.name = body.name;
      return {};
    }
    case 'remove': {
      // Anyone may leave; under M-of-N admission another member is removed only by vote.
      const s = requireRole(sender, () => true, 'remove');
      if (body.member !== s.id && s.role !== 'operator') deny('not_permitted', 'only the operator may remove another member');
      if (body.member !== s.id && admissionOf(state.params)) deny('not_permitted', 'in this grid members are removed by vote (propose_removal)');
      const m = liveMember(state, body.member);
      if (m.role === 'operator') deny('not_permitted', 'the operator cannot be removed');
      const payout = endMembership(state, m, now, height);
      return payout === undefined ? {} : { payout };
    }
    case 'promote': {
      requireRole(sender, (r) => r === 'operator' || sender!.voter, 'promote');
      const m = liveMember(state, body.member);
      if (m.voter) deny('not_learner', `${m.id} already votes`);
      if (m.role === 'auditor') deny('not_permitted', 'an auditor reads the chain; it does not vote');
      // The autopilot's target is a rule once the genesis names it (older chains replay as made).
      const cap = state.params.max_voters;
      if (cap !== undefined && votersOf(state).size >= cap) deny('voters_full', `the grid has ${cap} voters, its max_voters`);
      m.voter = true;
      return {};
    }
    case 'demote': {
      // Only the leader demotes, in its own block: a voter that is not the block's proposer
      // (or a demotion carried into another leader's block) changes nothing.
      const s = requireRole(sender, () => sender!.voter, 'demote');
      if (s.id !== proposer) deny('not_permitted', 'only the leader demotes, in a block it proposes');
      const m = liveMember(state, body.member);
      if (m.id === s.id) deny('not_permitted', 'a leader does not demote itself');
      if (!m.voter) deny('not_voter', `${m.id} does not vote`);
      const voters = votersOf(state).size;
      if (voters <= LIMITS.voters_min) deny('voters_min', `${voters} voters; demotions never leave fewer than ${LIMITS.voters_min}`);
      m.voter = false;
      return {};
    }
    case 'mint': {
      requireRole(sender, operator, 'mint');
      const to = liveMember(state, body.to);
      if (to.balance + body.amount > Number.MAX_SAFE_INTEGER / 2) deny('not_permitted', 'balance would overflow');
      to.balance += body.amount;
      state.minted += body.amount;
      return {};
    }
    case 'withdraw': {
      const s = requireRole(sender, () => true, 'withdraw');
      debit(s, body.amount);
      state.burned += body.amount;
      const id = state.next_payout++;
      state.payouts.set(id, { id, member: s.id, amount: body.amount, height });
      return { payout: id };
    }
    case 'payout': {
      requireRole(sender, operator, 'confirm payouts');
      if (!state.payouts.has(body.payout)) deny('unknown_payout', `no pending payout ${body.payout}`);
      state.payouts.delete(body.payout);
      return {};
    }
    case 'transfer': {
      const s = requireRole(sender, () => true, 'transfer');
      if (body.to === s.id) deny('not_permitted', 'cannot transfer to yourself');
      const to = liveMember(state, body.to);
      debit(s, body.amount);
      to.balance += body.amount;
      return {};
    }
    case 'price': {
      requireRole(sender, operator, 'publish prices');
      if (body.interval <= state.settled_through || body.interval < now) deny('interval_closed', `interval ${body.interval} has begun or settled`);
      // The current interval keeps the price it began with (a price tx's, or the schedule's).
      if (body.interval === now && priceOf(state, now) !== null) deny('price_locked', 'the current interval already has its price');
      if (body.interval > now + state.params.retain_intervals) deny('interval_future', 'too far ahead');
      state.prices.set(body.interval, body.price);
      return {};
    }
    case 'schedule': {
      requireRole(sender, operator, 'commit price schedules');
      applySchedule(state, body, now);
      return {};
    }
    case 'offer': {
      const s = requireRole(sender, isProducer, 'offer energy');
      checkPeriod(state, body.first_interval, body.last_interval, now);
      state.offers.set(s.id, { producer: s.id, first_interval: body.first_interval, last_interval: body.last_interval });
      return {};
    }
    case 'contract':
      return { contract: openContract(state, body, requireRole(sender, isConsumer, 'sign contracts'), now) };
    case 'fund': {
      const s = requireRole(sender, isConsumer, 'fund contracts');
      const c = ownContract(state, body.contract, s.id);
      if (c.status !== 'active' || c.cancel_requested) deny('contract_ended', `contract ${c.id} has ended`);
      debit(s, body.amount);
      c.locked += body.amount;
      c.funded += body.amount;
      return {};
    }
    case 'cancel': {
      const s = requireRole(sender, () => true, 'cancel contracts');
      const c = state.contracts.get(body.contract);
      if (!c || (c.consumer !== s.id && c.producer !== s.id)) deny('unknown_contract', `no contract ${body.contract} of yours`);
      if (c.status !== 'active' || c.cancel_requested) deny('contract_ended', `contract ${c.id} has ended`);
      requestEnd(c, now);
      return {};
    }
    case 'meter': {
      const s = requireRole(sender, (r) => r !== 'operator' && r !== 'auditor', 'report meter readings');
      recordReading(state, s.id, body, now, out);
      return {};
    }
    case 'join_request':
      if (sender) deny(sender.removed ? 'id_reused' : 'already_member', `${body.from} is known to the ledger already`);
      return { request: openJoinRequest(state, body, height) };
    case 'propose_removal':
      return { request: proposeRemoval(state, body, sender, height) };
    case 'propose_operator':
      return { request: proposeOperator(state, body, sender, height) };
    case 'endorse':
    case 'object':
      vote(state, body.request, sender, body.kind === 'endorse', height);
      return {};
    case 'rotate_operator':
      rotateOperator(state, body, sender, height);
      return {};
    default:
      // Unreachable: decode admits only own-property kinds. Kept so no kind can apply as a no-op.
      return deny('unknown_kind', `kind ${String((body as { kind: unknown }).kind)} is not a transaction kind`);
  }
}

function admit(state: LedgerState, body: TxOf<'admit'>, sender: Member | undefined, height: number): void {
  if (nodeIdOf(body.pub) !== body.member) deny('malformed', 'member is not the id of pub');
  // Under M-of-N the voters admit (governance.ts), or M of them by an endorsed invite
  // (endorsed-invite.ts); under the operator's policy, the operator or its invite.
  const byVote = admissionOf(state.params) !== null;
  const endorsed = body.invite !== null && isEndorsedInvite(body.invite);
  if (byVote && !endorsed) deny('not_permitted', 'this grid admits members by vote: send a join request, or present an invite granted by the voters');
  if (!byVote && endorsed) deny('not_permitted', 'this grid admits by its operator: its invites carry the operator\'s signature');
  if (body.invite === null) {
    requireRole(sender, (r) => r === 'operator', 'admit without an invite');
  } else {
    const inv = body.invite;
    if (body.from !== body.member) deny('bad_invite', 'an invite is presented by the joiner itself');
    if (inv.role !== body.role) deny('bad_invite', 'role differs from the invite');
    const operator = state.members.get(state.operator)!;
    // Signature checks belong to decode, but these need the voters' or operator's keys from state.
    if (isEndorsedInvite(inv)) {
      const problem = endorsedInviteProblem(state, inv, body.pub, inviteVerifier);
      if (problem) throw problem;
    } else if (isInviteV1(inv)) {
      // A bearer code: refused in grids made since v2 invites; older chains replay as made.
      if (!isLegacyGenesis(state.params)) deny('bad_invite', 'a v1 invite (bearer code) is refused: ask for a new invite');
      if (!inviteVerifier.verify(operator.pub, inviteMessage(state.chain_id, inv.code, inv.role, inv.expires_ms), inv.sig)) {
        deny('bad_invite', 'invite is not signed by the operator');
      }
    } else {
      const problem = checkInviteV2(state.chain_id, operator.pub, inv, body.pub, inviteVerifier);
      if (problem) deny('bad_invite', problem);
    }
    if (inv.expires_ms < state.time_ms) deny('invite_expired', 'invite has expired');
    if (state.used_invites.has(inviteId(inv))) deny('invite_used', 'invite was used already');
  }
  const existing = state.members.get(body.member);
  if (existing?.removed) deny('id_reused', `${body.member} was removed; ids are never reused`);
  if (existing) deny('already_member', `${body.member} is a member`);
  let live = 0;
  for (const m of state.members.values()) if (!m.removed) live++;
  if (live >= LIMITS.members_max) deny('members_full', `the grid has ${LIMITS.members_max} members`);
  if (body.invite) state.used_invites.set(inviteId(body.invite), body.invite.expires_ms);
  state.members.set(body.member, {
    id: body.member,
    pub: body.pub,
    role: body.role,
    voter: false,
    removed: false,
    seq: 0,
    balance: 0,
    joined_height: height,
    ...(body.name !== undefined ? { name: body.name } : {}),
  });
}

/** A contract's or offer's period: at least one interval, within the limits, not begun. */
function checkPeriod(state: LedgerState, first: number, last: number, now: number): void {
  if (first > last) deny('invalid_period', `the period ends (interval ${last}) before it starts (interval ${first})`);
  // The order of these checks is part of the protocol (it picks the receipt's code).
  if (first < now || first <= state.settled_through) deny('interval_closed', `interval ${first} has begun`);
  const length = last - first + 1;
  const max = state.params.contract_max_intervals;
  if (length > max) deny('invalid_period', `the period is ${length} intervals long; at most ${max} are allowed`);
  const horizon = contractStartMaxIntervals(state.params);
  if (first > now + horizon) deny('interval_future', `the period starts ${first - now} intervals from now; at most ${horizon} ahead are allowed`);
}

function openContract(state: LedgerState, body: TxOf<'contract'>, consumer: Member, now: number): number {
  checkPeriod(state, body.first_interval, body.last_interval, now);
  if (body.producer === consumer.id) deny('not_permitted', 'cannot contract yourself');
  const producer = liveMember(state, body.producer);
  if (!isProducer(producer.role)) deny('not_permitted', `${producer.id} is not a producer`);
  const offer = state.offers.get(producer.id);
  if (!offer || offer.first_interval > body.first_interval || offer.last_interval < body.last_interval) {
    deny('no_offer', `${producer.id} offers nothing covering ${body.first_interval}..${body.last_interval}`);
  }
  if (state.active_contract.has(consumer.id)) deny('contract_exists', `contract ${state.active_contract.get(consumer.id)} is still active`);
  let live = 0;
  for (const c of state.contracts.values()) if (c.status === 'active') live++;
  if (live >= LIMITS.contracts_max) deny('contracts_full', 'too many live contracts');
  debit(consumer, body.lock);
  const id = state.next_contract++;
  state.contracts.set(id, {
    id,
    consumer: consumer.id,
    producer: producer.id,
    first_interval: body.first_interval,
    last_interval: body.last_interval,
    max_energy_wh: body.max_energy_wh,
    max_price: body.max_price,
    locked: body.lock,
    funded: body.lock,
    delivered_wh: 0,
    paid: 0,
    refunded: 0,
    ...(exactMoney(settlementRuleOf(state.params)) ? { carry_milli: 0 } : {}),
    cancel_requested: false,
    status: 'active',
    closed_interval: null,
  });
  state.active_contract.set(consumer.id, id);
  return id;
}

function ownContract(state: LedgerState, id: number, consumer: NodeId): Contract {
  const c = state.contracts.get(id);
  if (!c || c.consumer !== consumer) deny('unknown_contract', `no contract ${id} of yours`);
  return c;
}

function prune(state: LedgerState): void {
  const horizon = state.settled_through - state.params.retain_intervals;
  for (const k of state.prices.keys()) if (k < horizon) state.prices.delete(k);
  for (const [id, c] of state.contracts) if (c.status !== 'active' && c.closed_interval! < horizon) state.contracts.delete(id);
  for (const [code, expires] of state.used_invites) if (expires < state.time_ms) state.used_invites.delete(code);
  for (const [id, o] of state.offers) if (o.last_interval <= state.settled_through) state.offers.delete(id);
  pruneRequests(state);
  pruneSchedules(state);
}

/** Conservation and sign invariants; stay on in production (TigerBeetle's habit). */
export function assertInvariants(state: LedgerState): void {
  let balances = 0;
  let locked = 0;
  const check = (ok: boolean, what: string) => {
    if (!ok) throw new InvariantError(`ledger invariant broken at height ${state.height}: ${what}`);
  };
  for (const m of state.members.values()) {
    check(Number.isSafeInteger(m.balance) && m.balance >= 0, `balance of ${m.id} is ${m.balance}`);
    balances += m.balance;
  }
  const exact = exactMoney(settlementRuleOf(state.params));
  for (const c of state.contracts.values()) {
    check(Number.isSafeInteger(c.locked) && c.locked >= 0, `contract ${c.id} locks ${c.locked}`);
    if (exact) {
      // Rule 2: the carried remainder is below one minor unit, covered by the escrow
      // (so the rounding at the end can always be paid), and settled when the contract closes.
      const carry = c.carry_milli;
      check(carry !== undefined && Number.isSafeInteger(carry) && carry >= 0 && carry < MILLI_PER_MINOR, `contract ${c.id} carries ${carry}`);
      check(carry! <= c.locked * MILLI_PER_MINOR, `contract ${c.id} carries ${carry} milli with ${c.locked} locked`);
      check(c.status === 'active' || carry === 0, `closed contract ${c.id} still carries ${carry}`);
    }
    check(c.status === 'active' || c.locked === 0, `closed contract ${c.id} still locks ${c.locked}`);
    check(c.funded === c.paid + c.refunded + c.locked, `contract ${c.id} escrow does not add up`);
    locked += c.locked;
  }
  for (const [consumer, id] of state.active_contract) {
    const c = state.contracts.get(id);
    check(!!c && c.status === 'active' && c.consumer === consumer, `active contract index for ${consumer} is stale`);
  }
  const orphan = orphanedReference(state);
  check(orphan === null, `a reference to a missing or retired member: ${orphan}`);
  check(state.minted - state.burned === balances + locked, `minted ${state.minted} - burned ${state.burned} != balances ${balances} + locked ${locked}`);
}

export interface Totals {
  minted: number;
  burned: number;
  balances: number;
  locked: number;
}

export function totals(state: LedgerState): Totals {
  let balances = 0;
  let locked = 0;
  for (const m of state.members.values()) balances += m.balance;
  for (const c of state.contracts.values()) locked += c.locked;
  return { minted: state.minted, burned: state.burned, balances, locked };
}

/** Canonical form of the state: maps as arrays sorted by key. */
function canonicalState(state: LedgerState): CanonicalValue {
  const sorted = <K extends string | number, V>(m: Map<K, V>, f: (v: V, k: K) => CanonicalValue): CanonicalValue[] =>
    [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, f(v, k)]);
  const plain = (v: unknown) => v as CanonicalValue;
  return {
    chain_id: state.chain_id,
    params: plain(state.params),
    operator: state.operator,
    height: state.height,
    last_hash: state.last_hash,
    history: state.history,
    last_term: state.last_term,
    time_ms: state.time_ms,
    members: sorted(state.members, plain),
    used_invites: sorted(state.used_invites, plain),
    prices: sorted(state.prices, plain),
    // Absent on chains that never had a schedule: their state root is what it always was.
    ...(state.schedules ? { schedules: plain(state.schedules) } : {}),
    offers: sorted(state.offers, plain),
    contracts: sorted(state.contracts, plain),
    active_contract: sorted(state.active_contract, plain),
    meters: sorted(state.meters, plain),
    energy: sorted(state.energy, (slot) => sorted(slot, plain)),
    settled_through: state.settled_through,
    minted: state.minted,
    burned: state.burned,
    payouts: sorted(state.payouts, plain),
    next_contract: state.next_contract,
    next_payout: state.next_payout,
    // Absent until a chain makes its first request, so the roots of chains that never did stay as they were.
    ...(state.requests.size > 0 || state.next_request !== 1
      ? { requests: sorted(state.requests, plain), next_request: state.next_request }
      : {}),
  };
}

export function stateRoot(state: LedgerState): Uint8Array {
  return taggedHash('state', encodeCanonical(canonicalState(state)));
}
