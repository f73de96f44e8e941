// Governance without a single point (issue 15): the genesis' admission policy, requests (a
// stranger's to join, a voter's to remove a member or to appoint a new operator key), the
// voters' endorsements and objections, and the operator's own key rotation. Pure; called by
// the ledger (ledger.ts), the replica's entry check (replica.ts) and read models only.
//
// Deterministic rule (docs/PROTOCOL.md, "Governance"): the endorsement that brings a request
// to its threshold carries it out in the same transaction — there is no separate admit — and
// only CURRENT voters count, at each vote. Every check throws before the first change.
import { nodeIdOf, type NodeId } from './keys.js';
import { LIMITS, type AdmissionParam, type GridParams } from './params.js';
import { TxError, type TxErrorCode, type TxOf } from './tx.js';
import type { GovRequest, LedgerState, Member } from './state.js';
import { moveAccount } from './rekey.js';
import { endMembership } from './exit.js';

/** The M-of-N rule of a genesis; null means the operator admits (and removes) alone. */
export type MofN = AdmissionParam['m_of_n'];

/**
 * Kinds that may change the voter set when they apply (an endorsement may complete an
 * admission, a removal or a recovery): Raft's one-membership-change-per-block rule counts them.
 */
export const GOVERNANCE_MEMBERSHIP_KINDS: readonly string[] = ['propose_removal', 'propose_operator', 'endorse', 'rotate_operator'];

function deny(code: TxErrorCode, message: string): never {
  throw new TxError(code, message);
}

export function admissionOf(params: GridParams): MofN | null {
  return params.admission?.m_of_n ?? null;
}

/** Endorsements a join or removal needs from `n` eligible voters: min(M, n), or ⌈num·n/den⌉; at least 1. */
export function policyThreshold(rule: MofN, n: number): number {
  const t = 'm' in rule ? Math.min(rule.m, n) : Math.floor((rule.fraction[0] * n + rule.fraction[1] - 1) / rule.fraction[1]);
  return Math.max(1, t);
}

/** Endorsements a new operator key needs: two thirds (rounded up) of the voters other than the operator. */
export function recoveryThreshold(n: number): number {
  return Math.max(1, Math.floor((2 * n + 2) / 3));
}

const isVoter = (m: Member | undefined): m is Member => !!m && m.voter && !m.removed;

/** The current voters whose votes count on `req`: not the member to remove, not the operator whose key is replaced. */
function eligibleOn(state: LedgerState, req: GovRequest): Set<NodeId> {
  const out = new Set<NodeId>();
  for (const m of state.members.values()) {
    if (!isVoter(m)) continue;
    if (req.kind === 'remove' && m.id === req.subject) continue;
    if (req.kind === 'operator' && m.id === state.operator) continue;
    out.add(m.id);
  }
  return out;
}

export interface Tally {
  /** Voters whose votes count now. */
  eligible: number;
  /** Endorsements and objections from those voters (votes of members since removed drop out). */
  endorsed: number;
  objected: number;
  /** Endorsements needed now. */
  needed: number;
}

export function tally(state: LedgerState, req: GovRequest, endorsed = req.endorsed, objected = req.objected): Tally {
  const who = eligibleOn(state, req);
  const n = who.size;
  const rule = admissionOf(state.params);
  const needed = req.kind === 'operator' || !rule ? recoveryThreshold(n) : policyThreshold(rule, n);
  return { eligible: n, endorsed: endorsed.filter((id) => who.has(id)).length, objected: objected.filter((id) => who.has(id)).length, needed };
}

// ---- opening requests -------------------------------------------------------------------

function checkExpiry(state: LedgerState, expires_ms: number): void {
  if (expires_ms <= state.time_ms) deny('request_expired', 'the request expires before this block');
  if (expires_ms > state.time_ms + LIMITS.request_max_ms) deny('invalid_period', `a request may stay open at most ${LIMITS.request_max_ms / 3_600_000} h`);
}

function openRequests(state: LedgerState): GovRequest[] {
  return [...state.requests.values()].filter((r) => r.status === 'open');
}

function checkRoom(state: LedgerState, by: NodeId | null): void {
  if (state.requests.size >= LIMITS.requests_max) deny('requests_full', `the grid holds ${LIMITS.requests_max} requests; wait for some to expire`);
  const open = openRequests(state);
  if (by === null && open.filter((r) => r.kind === 'join').length >= LIMITS.join_requests_open_max) {
    deny('requests_full', `${LIMITS.join_requests_open_max} join requests are open; try again later`);
  }
  if (by !== null && open.filter((r) => r.by === by).length >= LIMITS.requests_open_per_member) {
    deny('requests_full', `you have ${LIMITS.requests_open_per_member} open proposals already`);
  }
}

function liveCount(state: LedgerState): number {
  let live = 0;
  for (const m of state.members.values()) if (!m.removed) live++;
  return live;
}

/** A key about to become a member must be new to the ledger (ids are never reused). */
function checkNewKey(state: LedgerState, id: NodeId): void {
  const known = state.members.get(id);
  if (known?.removed) deny('id_reused', `${id} was a member; ids are never reused`);
  if (known) deny('already_member', `${id} is a member`);
}

function add(state: LedgerState, fields: Omit<GovRequest, 'id' | 'objected' | 'status'>): GovRequest {
  const req: GovRequest = { id: state.next_request++, ...fields, objected: [], status: 'open' };
  state.requests.set(req.id, req);
  return req;
}

/**
 * The cheap checks of a stranger's join request, against the applied state: enough to keep
 * requests that cannot apply out of the mempool (the replica's entry check) and the ledger's own
 * first checks. Null when it may go in.
 */
export function joinRequestProblem(state: LedgerState, body: TxOf<'join_request'>): TxError | null {
  try {
    if (!admissionOf(state.params)) deny('not_permitted', 'this grid admits members by its operator: ask the operator');
    if (body.seq !== 0) deny('skipped_seq', 'a new key signs its join request with seq 0');
    if (nodeIdOf(body.pub) !== body.from) deny('malformed', 'pub is not the key of from');
    checkNewKey(state, body.from);
    checkExpiry(state, body.expires_ms);
    for (const r of state.requests.values()) if (r.subject === body.from) deny('request_exists', `request ${r.id} is for this key already`);
    checkRoom(state, null);
    if (liveCount(state) >= LIMITS.members_max) deny('members_full', `the grid has ${LIMITS.members_max} members`);
    return null;
  } catch (err) {
    if (err instanceof TxError) return err;
    throw err;
  }
}

/** A stranger asks to join: its key, role and name are published for the voters. */
export function openJoinRequest(state: LedgerState, body: TxOf<'join_request'>, height: number): number {
  const problem = joinRequestProblem(state, body);
  if (problem) throw problem;
  const req = add(state, {
    kind: 'join', subject: body.from, pub: body.pub, role: body.role, name: body.name, by: body.from,
    opened_height: height, expires_ms: body.expires_ms, endorsed: [],
  });
  return req.id;
}

function requireVoter(sender: Member | undefined, what: string): Member {
  const learner = !!sender && !sender.removed && !sender.voter;
  if (!isVoter(sender)) deny('not_permitted', `only a current voter may ${what}${learner ? ' (a learner votes once promoted)' : ''}`);
  return sender;
}

/** A voter proposes to remove another member; its own endorsement comes with the proposal. */
export function proposeRemoval(state: LedgerState, body: TxOf<'propose_removal'>, sender: Member | undefined, height: number): number {
  if (!admissionOf(state.params)) deny('not_permitted', 'in this grid the operator removes members');
  const s = requireVoter(sender, 'propose a removal');
  const m = state.members.get(body.member);
  if (!m || m.removed) deny('unknown_member', `${body.member} is not a current member`);
  if (m.id === s.id) deny('not_permitted', 'to leave the grid, remove yourself');
  if (m.role === 'operator') deny('not_permitted', 'the operator cannot be removed; voters can appoint a new operator key');
  checkExpiry(state, body.expires_ms);
  for (const r of openRequests(state)) if (r.subject === m.id) deny('request_exists', `request ${r.id} about ${m.id} is open: endorse it`);
  checkRoom(state, s.id);
  const fields = { kind: 'remove' as const, subject: m.id, by: s.id, opened_height: height, expires_ms: body.expires_ms, endorsed: [s.id] };
  return proposeAndMaybeComplete(state, fields, height);
}

/** Recovery: a voter proposes a new operator key (the old one is lost); its endorsement comes with it. */
export function proposeOperator(state: LedgerState, body: TxOf<'propose_operator'>, sender: Member | undefined, height: number): number {
  const s = requireVoter(sender, 'propose a new operator key');
  if (s.role === 'operator') deny('not_permitted', 'the operator rotates its own key (rotate_operator)');
  const id = nodeIdOf(body.pub);
  checkNewKey(state, id);
  checkExpiry(state, body.expires_ms);
  for (const r of openRequests(state)) if (r.subject === id) deny('request_exists', `request ${r.id} for this key is open: endorse it`);
  checkRoom(state, s.id);
  const fields = { kind: 'operator' as const, subject: id, pub: body.pub, by: s.id, opened_height: height, expires_ms: body.expires_ms, endorsed: [s.id] };
  return proposeAndMaybeComplete(state, fields, height);
}

function proposeAndMaybeComplete(state: LedgerState, fields: Omit<GovRequest, 'id' | 'objected' | 'status'>, height: number): number {
  // A threshold of one (a grid of two voters) is met by the proposal itself.
  const draft: GovRequest = { id: state.next_request, ...fields, objected: [], status: 'open' };
  const t = tally(state, draft);
  if (t.endorsed >= t.needed) carryOut(state, draft, height);
  const req = add(state, fields);
  if (t.endorsed >= t.needed) close(req, 'done', height);
  return req.id;
}

// ---- votes --------------------------------------------------------------------------------

/** A current voter endorses (`yes`) or objects to an open request; see the module comment. */
export function vote(state: LedgerState, id: number, sender: Member | undefined, yes: boolean, height: number): void {
  const req = state.requests.get(id);
  if (!req) deny('unknown_request', `no request ${id}`);
  if (req.status !== 'open') deny('request_closed', `request ${id} is ${req.status === 'done' ? 'carried out' : 'rejected'} already`);
  if (req.expires_ms < state.time_ms) deny('request_expired', `request ${id} has expired`);
  const s = requireVoter(sender, 'vote');
  if (req.kind === 'remove' && s.id === req.subject) deny('not_permitted', 'a member does not vote on its own removal');
  if (req.endorsed.includes(s.id) || req.objected.includes(s.id)) deny('already_voted', `you voted on request ${id} already`);
  if (req.kind === 'operator' && s.id === state.operator) {
    if (yes) deny('not_permitted', 'the operator rotates its own key (rotate_operator)');
    // The operator still holds its key: it was not lost, so the recovery is void.
    req.objected = [...req.objected, s.id];
    close(req, 'rejected', height);
    return;
  }
  if (yes) {
    const endorsed = [...req.endorsed, s.id];
    const t = tally(state, req, endorsed);
    if (t.endorsed >= t.needed) carryOut(state, req, height); // throws before any change
    req.endorsed = endorsed;
    if (t.endorsed >= t.needed) close(req, 'done', height);
  } else {
    req.objected = [...req.objected, s.id];
    const t = tally(state, req);
    if (t.eligible - t.objected < t.needed) close(req, 'rejected', height);
  }
}

function close(req: GovRequest, status: 'done' | 'rejected', height: number): void {
  req.status = status;
  req.closed_height = height;
}

/** What an accepted request does; its checks throw before its changes. */
function carryOut(state: LedgerState, req: GovRequest, height: number): void {
  switch (req.kind) {
    case 'join': {
      checkNewKey(state, req.subject);
      if (liveCount(state) >= LIMITS.members_max) deny('members_full', `the grid has ${LIMITS.members_max} members`);
      state.members.set(req.subject, {
        id: req.subject, pub: req.pub!, role: req.role!, voter: false, removed: false, seq: 0, balance: 0,
        joined_height: height, name: req.name!,
      });
      return;
    }
    case 'remove': {
      const m = state.members.get(req.subject);
      if (!m || m.removed) deny('unknown_member', `${req.subject} is not a current member`);
      endMembership(state, m, Math.floor(state.time_ms / state.params.interval_ms), height);
      return;
    }
    case 'operator':
      checkNewKey(state, req.subject);
      moveAccount(state, state.operator, { id: req.subject, pub: req.pub! });
      closeRecoveries(state, height, req.id);
      return;
  }
}

/** Once the operator key changed, other open recoveries are moot. */
function closeRecoveries(state: LedgerState, height: number, except = -1): void {
  for (const r of state.requests.values()) if (r.kind === 'operator' && r.status === 'open' && r.id !== except) close(r, 'rejected', height);
}

// ---- the operator's own rotation ------------------------------------------------------------

/**
 * The operator hands its account and roles (token handler, price setter, payout confirmer, and
 * admission under the operator's policy) to a new key: `moveAccount` moves the account and
 * `state.operator`; the old key is retired and refused from then on. The new key starts as a
 * learner, so a sole voter cannot rotate (no voter would be left to promote it).
 */
export function rotateOperator(state: LedgerState, body: TxOf<'rotate_operator'>, sender: Member | undefined, height: number): void {
  if (!sender || sender.role !== 'operator') deny('not_permitted', 'only the operator rotates the operator key');
  const id = nodeIdOf(body.pub);
  if (id === sender.id) deny('not_permitted', 'that is the current operator key');
  checkNewKey(state, id);
  if (sender.voter && [...state.members.values()].filter(isVoter).length === 1) {
    deny('not_permitted', 'the operator is the only voter: the grid would have none until the new key is promoted');
  }
  moveAccount(state, sender.id, { id, pub: body.pub });
  closeRecoveries(state, height);
}

/** Requests leave the state once expired (closed or not): a stranger's request cannot be replayed, its body being expired too. */
export function pruneRequests(state: LedgerState): void {
  for (const [id, r] of state.requests) if (r.expires_ms < state.time_ms) state.requests.delete(id);
}
