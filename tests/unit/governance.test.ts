// Governance (issue 15): M-of-N admission by join requests and endorsements, removal by vote,
// leaving, the operator's key rotation and its recovery by two thirds of the voters, and a
// leaver's money. Each rule's refusals carry their typed code.
import { describe, expect, it } from 'vitest';
import { TestChain } from '../helpers/chain.js';
import { NobleSigner, nobleVerifier } from '../../src/core/keys.js';
import { inviteMessage, type DecodedTx } from '../../src/core/tx.js';
import { totals, votersOf, type Receipt } from '../../src/core/ledger.js';
import { checkParams, DEFAULT_PARAMS, gridParams, type GridParams } from '../../src/core/params.js';
import { admissionOf, policyThreshold, recoveryThreshold, tally } from '../../src/core/governance.js';
import { endorsedInviteProblem, type EndorsedInvite } from '../../src/core/endorsed-invite.js';
import { inviteGrantMessage as grantMessage, inviteRedeemMessage as redeemMessage } from '../../src/core/invite.js';
import { preflight } from '../../src/core/preflight.js';

const MIN = 60_000;
const HOUR = 3_600_000;
const codes = (rs: Receipt[]) => rs.map((r) => (r.ok ? 'ok' : r.code));
const THREE: Partial<GridParams> = { admission: { m_of_n: { m: 3 } } };
const FOUNDERS = { a: 'prosumer', b: 'consumer', c: 'producer', d: 'consumer' } as const;

/** A stranger's join request, seq 0. */
function ask(c: TestChain, name: string, expires_ms: number, role: 'consumer' | 'producer' | 'prosumer' = 'consumer', seq = 0): DecodedTx {
  const s = c.signer(name);
  return c.tx(name, 'join_request', { pub: s.publicKey, role, name: `House ${name}`, expires_ms }, seq);
}

describe('governance: parameters', () => {
  it('admission encodes one way; absent means the operator; new grids pay leavers out', () => {
    expect(gridParams()).toMatchObject({ exit_rule: 2 });
    expect(Object.hasOwn(gridParams(), 'admission')).toBe(false);
    expect(admissionOf(DEFAULT_PARAMS)).toBeNull();
    const ok: unknown[] = [{ m_of_n: { m: 3 } }, { m_of_n: { m: 1 } }, { m_of_n: { fraction: [2, 3] } }, { m_of_n: { fraction: [1, 1] } }];
    for (const admission of ok) expect(checkParams({ ...DEFAULT_PARAMS, admission } as GridParams)).toBeNull();
    const bad: unknown[] = [
      'operator', { m_of_n: {} }, { m_of_n: { m: 0 } }, { m_of_n: { m: 2.5 } }, { m_of_n: { m: 3, fraction: [1, 2] } },
      { m_of_n: { fraction: [4, 6] } }, { m_of_n: { fraction: [3, 2] } }, { m_of_n: { fraction: [0, 1] } }, { m_of_n: { fraction: [1] } },
      { m_of_n: { m: 3 }, extra: 1 }, { operator: true },
    ];
    for (const admission of bad) expect(checkParams({ ...DEFAULT_PARAMS, admission } as GridParams)).toMatch(/admission/);
    expect(checkParams({ ...DEFAULT_PARAMS, exit_rule: 1 } as unknown as GridParams)).toMatch(/exit_rule/);
  });

  it('thresholds: min(M, n), or the fraction rounded up, or two thirds for a new operator; never 0', () => {
    expect([0, 1, 2, 3, 4, 9].map((n) => policyThreshold({ m: 3 }, n))).toEqual([1, 1, 2, 3, 3, 3]);
    expect([1, 2, 3, 4, 5, 6].map((n) => policyThreshold({ fraction: [2, 3] }, n))).toEqual([1, 2, 2, 3, 4, 4]);
    expect([1, 2, 3, 4, 5, 6].map((n) => policyThreshold({ fraction: [1, 2] }, n))).toEqual([1, 1, 2, 2, 3, 3]);
    expect([0, 1, 2, 3, 4, 5, 6, 9].map(recoveryThreshold)).toEqual([1, 1, 2, 2, 3, 4, 4, 6]);
  });
});

describe('governance: M-of-N admission', () => {
  it('a join request admits after the third current voter endorses it, not before', async () => {
    const c = await TestChain.create(FOUNDERS, THREE);
    const open = c.block([ask(c, 'joe', 10 * MIN, 'producer')], 1000);
    expect(open.receipts[0]).toMatchObject({ ok: true, request: 1 });
    expect(c.state.requests.get(1)).toMatchObject({ kind: 'join', subject: c.id('joe'), role: 'producer', name: 'House joe', status: 'open' });
    expect(codes(c.block([c.tx('a', 'endorse', { request: 1 }), c.tx('b', 'endorse', { request: 1 })], 2000).receipts)).toEqual(['ok', 'ok']);
    expect(c.state.members.has(c.id('joe'))).toBe(false);
    expect(tally(c.state, c.state.requests.get(1)!)).toEqual({ eligible: 5, endorsed: 2, objected: 0, needed: 3 });
    expect(codes(c.block([c.tx('operator', 'endorse', { request: 1 }), c.tx('c', 'endorse', { request: 1 })], 3000).receipts)).toEqual(['ok', 'request_closed']);
    expect(c.state.members.get(c.id('joe'))).toMatchObject({ role: 'producer', name: 'House joe', voter: false, seq: 0, joined_height: 3 });
    expect(c.state.requests.get(1)).toMatchObject({ status: 'done', closed_height: 3 });
    // The joiner signs as a member from seq 0; a learner does not vote until promoted.
    c.seqs.set('joe', 0);
    const r = c.block([c.tx('joe', 'rename', { name: 'Joe' }), ask(c, 'kim', 10 * MIN)], 4000);
    expect(codes(r.receipts)).toEqual(['ok', 'ok']);
    expect(codes(c.block([c.tx('joe', 'endorse', { request: 2 })], 5000).receipts)).toEqual(['not_permitted']);
  });

  it('refuses double votes, strangers, removed members, and a stranger tx out of sequence', async () => {
    const c = await TestChain.create(FOUNDERS, THREE);
    c.block([ask(c, 'joe', 10 * MIN), c.tx('operator', 'mint', { to: c.id('d'), amount: 50, ref: '' })], 1000);
    c.block([c.tx('d', 'remove', { member: c.id('d') })], 1500); // d leaves
    const r = c.block(
      [
        c.tx('a', 'endorse', { request: 1 }),
        c.tx('a', 'endorse', { request: 1 }), // twice
        c.tx('a', 'object', { request: 1 }), // and then against
        c.tx('stranger', 'endorse', { request: 1 }, 0),
        c.tx('d', 'endorse', { request: 1 }),
        c.tx('b', 'endorse', { request: 9 }),
        ask(c, 'lou', 10 * MIN, 'consumer', 1),
      ],
      2000,
    );
    expect(codes(r.receipts)).toEqual(['ok', 'already_voted', 'already_voted', 'unknown_account', 'not_permitted', 'unknown_request', 'skipped_seq']);
    expect(c.state.requests.get(1)!.endorsed).toEqual([c.id('a')]);
  });

  it('votes of members removed since no longer count; the threshold follows the voters', async () => {
    const c = await TestChain.create({ a: 'prosumer', b: 'consumer' }, THREE);
    c.block([ask(c, 'joe', 10 * MIN)], 1000);
    c.block([c.tx('a', 'endorse', { request: 1 }), c.tx('b', 'endorse', { request: 1 })], 2000);
    c.block([c.tx('b', 'remove', { member: c.id('b') })], 2500);
    // Three voters then, two now: a's endorsement counts, b's does not, and two are needed.
    expect(tally(c.state, c.state.requests.get(1)!)).toEqual({ eligible: 2, endorsed: 1, objected: 0, needed: 2 });
    c.block([c.tx('operator', 'endorse', { request: 1 })], 3000);
    expect(c.state.members.has(c.id('joe'))).toBe(true);
  });

  it('a grid with fewer voters than M needs all of them: the operator alone admits the second member', async () => {
    const c = await TestChain.create({}, THREE);
    c.block([ask(c, 'joe', 10 * MIN)], 1000);
    c.block([c.tx('operator', 'endorse', { request: 1 })], 2000);
    expect(c.state.members.get(c.id('joe'))?.removed).toBe(false);
  });

  it('objections close a request once the endorsements left cannot reach the threshold', async () => {
    const c = await TestChain.create(FOUNDERS, THREE);
    c.block([ask(c, 'joe', 10 * MIN)], 1000);
    c.block([c.tx('a', 'object', { request: 1 }), c.tx('b', 'object', { request: 1 })], 2000);
    expect(c.state.requests.get(1)!.status).toBe('open'); // 5 − 2 = 3 can still endorse
    c.block([c.tx('c', 'object', { request: 1 })], 3000);
    expect(c.state.requests.get(1)).toMatchObject({ status: 'rejected', closed_height: 3 });
    const r = c.block([c.tx('d', 'endorse', { request: 1 }), ask(c, 'joe', 10 * MIN)], 4000);
    // Closed requests stay until they expire: neither a vote nor the same request again.
    expect(codes(r.receipts)).toEqual(['request_closed', 'request_exists']);
  });

  it('expiry: too short or too long at opening; votes after it are refused; then it is pruned and cannot be replayed', async () => {
    const c = await TestChain.create(FOUNDERS, THREE);
    const req = ask(c, 'joe', 5 * MIN);
    const r = c.block([ask(c, 'ann', 500), ask(c, 'bea', 1000 + 73 * HOUR), req], 1000);
    expect(codes(r.receipts)).toEqual(['request_expired', 'invalid_period', 'ok']);
    expect(codes(c.block([c.tx('a', 'endorse', { request: 1 })], 5 * MIN).receipts)).toEqual(['ok']); // at its expiry, still open
    expect(codes(c.block([c.tx('b', 'endorse', { request: 1 })], 5 * MIN + 1).receipts)).toEqual(['request_expired']);
    expect(c.state.requests.size).toBe(0); // pruned at the end of that block
    expect(codes(c.block([c.tx('b', 'endorse', { request: 1 })], 5 * MIN + 2).receipts)).toEqual(['unknown_request']);
    expect(codes(c.block([req], 6 * MIN).receipts)).toEqual(['request_expired']); // the same signed request, replayed
  });

  it('conflicts: a second request for a key, a request from a member or a removed one, a full queue', async () => {
    const c = await TestChain.create(FOUNDERS, THREE);
    c.block([c.tx('d', 'remove', { member: c.id('d') })], 500);
    const a = c.signer('a');
    const d = c.signer('d');
    const r = c.block(
      [
        ask(c, 'joe', 10 * MIN),
        ask(c, 'joe', 20 * MIN), // same key, another request
        c.tx('a', 'join_request', { pub: a.publicKey, role: 'consumer', name: 'again', expires_ms: 10 * MIN }),
        c.tx('d', 'join_request', { pub: d.publicKey, role: 'consumer', name: 'back', expires_ms: 10 * MIN }, 1),
      ],
      1000,
    );
    expect(codes(r.receipts)).toEqual(['ok', 'request_exists', 'already_member', 'not_permitted']); // d was removed
    const many = Array.from({ length: 33 }, (_, i) => ask(c, `s${i}`, 10 * MIN));
    const full = c.block(many, 2000);
    expect(codes(full.receipts).filter((x) => x === 'ok')).toHaveLength(31); // 32 open at most, joe's among them
    expect(codes(full.receipts).slice(-2)).toEqual(['requests_full', 'requests_full']);
  });

  it('under M-of-N the operator neither admits nor removes alone; anyone may leave', async () => {
    const c = await TestChain.create(FOUNDERS, THREE);
    const bob = c.signer('bob');
    const code = new Uint8Array(16).fill(7);
    const invite = { code, role: 'consumer' as const, expires_ms: HOUR, sig: c.operator.signSync(inviteMessage(c.state.chain_id, code, 'consumer', HOUR)) };
    const r = c.block(
      [
        c.tx('operator', 'admit', { member: bob.id, pub: bob.publicKey, role: 'consumer', invite: null }),
        c.tx('bob', 'admit', { member: bob.id, pub: bob.publicKey, role: 'consumer', invite }, 0),
        c.tx('operator', 'remove', { member: c.id('a') }),
        c.tx('b', 'remove', { member: c.id('b') }),
      ],
      1000,
    );
    expect(codes(r.receipts)).toEqual(['not_permitted', 'not_permitted', 'not_permitted', 'ok']);
  });

  it('under the operator policy (and on chains made before) nobody asks or votes: the operator admits', async () => {
    const c = await TestChain.create(FOUNDERS);
    const r = c.block([ask(c, 'joe', 10 * MIN), c.tx('a', 'propose_removal', { member: c.id('b'), expires_ms: 10 * MIN })], 1000);
    expect(codes(r.receipts)).toEqual(['not_permitted', 'not_permitted']);
  });

  it('preflight gives the receipt codes of governance transactions', async () => {
    const c = await TestChain.create(FOUNDERS, THREE);
    c.block([ask(c, 'joe', 10 * MIN)], 1000);
    c.block([c.tx('a', 'endorse', { request: 1 })], 2000);
    const body = (from: string, seq: number, f: object) => ({ v: 1, chain: c.state.chain_id, from: c.id(from), seq, ...f }) as never;
    expect(preflight(c.state, body('a', 1, { kind: 'endorse', request: 1 }))).toMatchObject({ ok: false, code: 'already_voted' });
    expect(preflight(c.state, body('b', 0, { kind: 'endorse', request: 1 })).ok).toBe(true);
    expect(preflight(c.state, body('b', 0, { kind: 'object', request: 4 }))).toMatchObject({ ok: false, code: 'unknown_request' });
  });
});

describe('governance: removal by vote and a leaver’s money', () => {
  it('needs M voters besides the member; its contracts end, escrow comes back, and every token it holds becomes a payout', async () => {
    const c = await TestChain.create({ p: 'producer', q: 'consumer', x: 'consumer', y: 'consumer' }, THREE);
    c.block(['p', 'q'].map((h) => c.tx('operator', 'mint', { to: c.id(h), amount: 1000, ref: '' })), 1);
    c.block([c.tx('p', 'offer', { first_interval: 1, last_interval: 9 })], 2);
    const k = c.block([c.tx('q', 'contract', { producer: c.id('p'), first_interval: 1, last_interval: 9, max_energy_wh: 10_000, max_price: 500, lock: 600 })], 3);
    expect(k.receipts[0]).toMatchObject({ ok: true, contract: 1 });
    c.block([c.tx('operator', 'price', { interval: 1, price: 100 }), c.tx('q', 'meter', { interval: 0, import_wh: 0, export_wh: 0 }), c.tx('p', 'meter', { interval: 0, import_wh: 0, export_wh: 0 })], MIN);
    // In interval 1: the proposal (with x's endorsement) and one more are not enough; q may not vote on itself.
    const r = c.block(
      [
        c.tx('x', 'propose_removal', { member: c.id('q'), expires_ms: HOUR }),
        c.tx('y', 'propose_removal', { member: c.id('q'), expires_ms: HOUR }),
        c.tx('y', 'endorse', { request: 1 }),
        c.tx('q', 'object', { request: 1 }),
        c.tx('x', 'propose_removal', { member: c.id('operator'), expires_ms: HOUR }),
        c.tx('x', 'propose_removal', { member: c.id('x'), expires_ms: HOUR }),
      ],
      MIN + 1000,
    );
    expect(codes(r.receipts)).toEqual(['ok', 'request_exists', 'ok', 'not_permitted', 'not_permitted', 'not_permitted']);
    expect(c.state.members.get(c.id('q'))!.removed).toBe(false);
    c.block([c.tx('q', 'meter', { interval: 1, import_wh: 2000, export_wh: 0 }), c.tx('p', 'meter', { interval: 1, import_wh: 0, export_wh: 3000 })], 2 * MIN);
    const before = totals(c.state);
    const done = c.block([c.tx('operator', 'endorse', { request: 1 })], 2 * MIN + 1000);
    expect(codes(done.receipts)).toEqual(['ok']);
    const q = c.state.members.get(c.id('q'))!;
    expect(q).toMatchObject({ removed: true, voter: false, balance: 0 });
    // Its contract ends after the current interval (2); its free balance is a payout now.
    expect(c.state.contracts.get(1)).toMatchObject({ cancel_requested: true, last_interval: 2, locked: 600 });
    const first = [...c.state.payouts.values()].filter((p) => p.member === q.id);
    expect(first.map((p) => p.amount)).toEqual([400]);
    expect(c.state.burned - before.burned).toBe(400);
    expect(codes(c.block([c.tx('q', 'transfer', { to: c.id('p'), amount: 1, memo: '' })], 2 * MIN + 2000).receipts)).toEqual(['not_permitted']);
    // Interval 1 settles (200 paid to p), interval 2 is the last: the rest of the escrow returns, and is paid out.
    c.block([], 3 * MIN + 1);
    c.block([], 4 * MIN + 1);
    expect(c.state.contracts.get(1)).toMatchObject({ status: 'cancelled', paid: 200, refunded: 400, locked: 0 });
    const all = [...c.state.payouts.values()].filter((p) => p.member === q.id).map((p) => p.amount);
    expect(all).toEqual([400, 400]);
    expect(c.state.members.get(c.id('q'))!.balance).toBe(0);
    const t = totals(c.state);
    expect(t.minted - t.burned).toBe(t.balances + t.locked);
    // The operator pays them in currency like any withdrawal.
    const ids = [...c.state.payouts.values()].filter((p) => p.member === q.id).map((p) => p.id);
    expect(codes(c.block(ids.map((payout) => c.tx('operator', 'payout', { payout })), 4 * MIN + 2).receipts)).toEqual(['ok', 'ok']);
  });

  it('a member leaving by itself: the same end of contracts and payout; on chains made before, the balance stays frozen', async () => {
    for (const exit_rule of [2, undefined] as const) {
      const c = await TestChain.create({ b: 'consumer' }, { exit_rule });
      c.block([c.tx('operator', 'mint', { to: c.id('b'), amount: 70, ref: '' })], 1);
      const r = c.block([c.tx('b', 'remove', { member: c.id('b') })], 2);
      expect(r.receipts[0]).toEqual(exit_rule ? { tx: r.receipts[0]!.tx, ok: true, payout: 1 } : { tx: r.receipts[0]!.tx, ok: true });
      expect(c.balance('b')).toBe(exit_rule ? 0 : 70);
      expect(c.state.payouts.size).toBe(exit_rule ? 1 : 0);
    }
  });

  it('a two-voter grid: the proposal of the only other voter is the whole vote', async () => {
    const c = await TestChain.create({ b: 'consumer' }, THREE);
    const r = c.block([c.tx('operator', 'propose_removal', { member: c.id('b'), expires_ms: HOUR })], 1000);
    expect(r.receipts[0]).toMatchObject({ ok: true, request: 1 });
    expect(c.state.requests.get(1)!.status).toBe('done');
    expect(c.state.members.get(c.id('b'))!.removed).toBe(true);
  });
});

describe('governance: the operator key', () => {
  it('rotation moves the account and every operator role; the old key and its invites are refused', async () => {
    const c = await TestChain.create({ a: 'consumer', b: 'consumer' });
    const code = new Uint8Array(16).fill(3);
    const oldInvite = { code, role: 'consumer' as const, expires_ms: HOUR, sig: c.operator.signSync(inviteMessage(c.state.chain_id, code, 'consumer', HOUR)) };
    c.block([c.tx('operator', 'mint', { to: c.id('operator'), amount: 5, ref: '' })], 1);
    const next = c.signer('op2');
    const r = c.block(
      [
        c.tx('a', 'rotate_operator', { pub: next.publicKey }),
        c.tx('operator', 'rotate_operator', { pub: c.signer('a').publicKey }),
        c.tx('operator', 'rotate_operator', { pub: c.operator.publicKey }),
        c.tx('operator', 'rotate_operator', { pub: next.publicKey }),
      ],
      1000,
    );
    expect(codes(r.receipts)).toEqual(['not_permitted', 'already_member', 'not_permitted', 'ok']);
    expect(c.state.operator).toBe(next.id);
    expect(c.state.members.get(next.id)).toMatchObject({ role: 'operator', balance: 5, voter: false, rekeyed_from: c.operator.id });
    expect(c.state.members.get(c.operator.id)).toMatchObject({ removed: true, retired_to: next.id, voter: false });
    expect(votersOf(c.state).has(c.operator.id)).toBe(false);
    const joiner = c.signer('joiner');
    const oldSeq = c.seqs.get('operator')!; // a removed key's refused tx consumes no number
    const after = c.block(
      [
        c.tx('operator', 'mint', { to: c.id('a'), amount: 1, ref: '' }, oldSeq),
        c.tx('operator', 'price', { interval: 1, price: 10 }, oldSeq),
        c.tx('joiner', 'admit', { member: joiner.id, pub: joiner.publicKey, role: 'consumer', invite: oldInvite }, 0),
        c.tx('op2', 'mint', { to: c.id('a'), amount: 1, ref: '' }),
        c.tx('op2', 'price', { interval: 1, price: 10 }),
        c.tx('op2', 'admit', { member: joiner.id, pub: joiner.publicKey, role: 'consumer', invite: null }),
      ],
      2000,
    );
    expect(codes(after.receipts)).toEqual(['not_permitted', 'not_permitted', 'bad_invite', 'ok', 'ok', 'ok']);
  });

  it('a sole voter cannot rotate (no voter would be left to promote the new key)', async () => {
    const c = await TestChain.create();
    expect(codes(c.block([c.tx('operator', 'rotate_operator', { pub: c.signer('op2').publicKey })], 1).receipts)).toEqual(['not_permitted']);
  });

  it('recovery: two thirds of the voters besides the operator appoint a new key; the operator may veto while it still holds its key', async () => {
    const c = await TestChain.create(FOUNDERS); // works under either policy: here the operator's
    const k1 = c.signer('k1');
    const k2 = c.signer('k2');
    const r = c.block(
      [
        c.tx('a', 'propose_operator', { pub: k1.publicKey, expires_ms: HOUR }),
        c.tx('b', 'propose_operator', { pub: k2.publicKey, expires_ms: HOUR }),
        c.tx('operator', 'propose_operator', { pub: k2.publicKey, expires_ms: HOUR }),
        c.tx('c', 'propose_operator', { pub: c.signer('a').publicKey, expires_ms: HOUR }),
        c.tx('operator', 'endorse', { request: 1 }),
      ],
      1000,
    );
    expect(codes(r.receipts)).toEqual(['ok', 'ok', 'not_permitted', 'already_member', 'not_permitted']);
    // The operator objects to request 2: its key is not lost, so that recovery is void.
    expect(codes(c.block([c.tx('operator', 'object', { request: 2 })], 2000).receipts)).toEqual(['ok']);
    expect(c.state.requests.get(2)!.status).toBe('rejected');
    // Four voters besides the operator: three are needed (a's proposal, b, and c).
    c.block([c.tx('b', 'endorse', { request: 1 })], 3000);
    expect(c.state.operator).toBe(c.operator.id);
    c.block([c.tx('c', 'endorse', { request: 1 })], 4000);
    expect(c.state.operator).toBe(k1.id);
    expect(c.state.members.get(k1.id)).toMatchObject({ role: 'operator', voter: false });
    expect(codes(c.block([c.tx('operator', 'mint', { to: c.id('a'), amount: 1, ref: '' }), c.tx('k1', 'mint', { to: c.id('a'), amount: 1, ref: '' }, 0)], 5000).receipts)).toEqual(['not_permitted', 'ok']);
  });

  it('a rotation closes open recoveries', async () => {
    const c = await TestChain.create(FOUNDERS);
    c.block([c.tx('a', 'propose_operator', { pub: c.signer('k1').publicKey, expires_ms: HOUR })], 1000);
    c.block([c.tx('operator', 'rotate_operator', { pub: c.signer('op2').publicKey })], 2000);
    expect(c.state.requests.get(1)!.status).toBe('rejected');
    expect(codes(c.block([c.tx('b', 'endorse', { request: 1 })], 3000).receipts)).toEqual(['request_closed']);
  });
});

describe('governance: invites granted by M voters (endorsedInviteProblem; the admits in endorsed-invite.test.ts)', () => {
  it('needs M distinct current voters, sorted; every grant and the proof must verify', async () => {
    const c = await TestChain.create(FOUNDERS, THREE);
    const oneTime = NobleSigner.fromSeed('one-time');
    const joiner = c.signer('joiner');
    const chain = c.state.chain_id;
    const grant = grantMessage(chain, oneTime.publicKey, 'consumer', HOUR);
    const sigsOf = (names: string[]) => names.map((n) => ({ member: c.id(n), sig: c.signer(n).signSync(grant) })).sort((x, y) => (x.member < y.member ? -1 : 1));
    const inv = (names: string[], over: Partial<EndorsedInvite> = {}): EndorsedInvite => ({
      pub: oneTime.publicKey, role: 'consumer', expires_ms: HOUR, sigs: sigsOf(names), proof: oneTime.signSync(redeemMessage(chain, joiner.publicKey)), ...over,
    });
    const check = (i: EndorsedInvite, pub = joiner.publicKey) => endorsedInviteProblem(c.state, i, pub, nobleVerifier)?.message ?? null;
    expect(check(inv(['a', 'b', 'operator']))).toBeNull();
    expect(check(inv(['a', 'b']))).toMatch(/2 grants; 3 are needed/);
    expect(check(inv(['a', 'b', 'stranger']))).toMatch(/not a current voter/);
    const twice = inv(['a', 'b', 'c']);
    expect(check({ ...twice, sigs: [twice.sigs[0]!, twice.sigs[0]!, twice.sigs[1]!] })).toMatch(/sorted/);
    expect(check({ ...twice, sigs: [...twice.sigs].reverse() })).toMatch(/sorted/);
    expect(check(inv(['a', 'b', 'c'], { role: 'producer' }))).toMatch(/does not verify/);
    expect(check(inv(['a', 'b', 'c']), c.signer('thief').publicKey)).toMatch(/proof/);
    expect(check(inv(['a', 'b', 'c']), oneTime.publicKey)).toMatch(/joiner's key/);
    const op = await TestChain.create(FOUNDERS);
    expect(endorsedInviteProblem(op.state, inv(['a', 'b', 'c']), joiner.publicKey, nobleVerifier)?.message).toMatch(/operator/);
  });
});

describe('governance: the replica’s entry check for strangers', () => {
  it('takes a stranger’s join request into the mempool only when the ledger could apply it', async () => {
    const { Replica } = await import('../../src/core/replica.js');
    const { createGenesis } = await import('../../src/core/genesis.js');
    const { signTxSync } = await import('../../src/core/tx.js');
    const op = NobleSigner.fromSeed('entry-operator');
    const make = async (params: Partial<GridParams>) => {
      const genesis = await createGenesis(op, { name: 'entry', time_ms: 0, params: gridParams(params) });
      return new Replica({ genesis, id: op.id, verifier: nobleVerifier, rand: () => 0 });
    };
    const ask = (r: InstanceType<typeof Replica>, seed: string, f: Partial<{ seq: number; expires_ms: number }> = {}) => {
      const s = NobleSigner.fromSeed(seed);
      const body = { v: 1, chain: r.chain_id, kind: 'join_request', from: s.id, seq: f.seq ?? 0, pub: s.publicKey, role: 'consumer', name: 'New house', expires_ms: f.expires_ms ?? HOUR } as const;
      return r.submit(signTxSync(body as never, s).bytes, 0);
    };
    const byVote = await make(THREE);
    expect(ask(byVote, 's1')).toMatchObject({ ok: true });
    expect(ask(byVote, 's2', { seq: 1 })).toMatchObject({ ok: false, code: 'skipped_seq' });
    expect(ask(byVote, 's3', { expires_ms: 100 * HOUR })).toMatchObject({ ok: false, code: 'invalid_period' });
    expect(ask(await make({}), 's1')).toMatchObject({ ok: false, code: 'not_permitted' });
    // Any other kind from a stranger is refused at the door, as before.
    const s = NobleSigner.fromSeed('s4');
    const vote = signTxSync({ v: 1, chain: byVote.chain_id, kind: 'endorse', from: s.id, seq: 0, request: 1 } as never, s);
    expect(byVote.submit(vote.bytes, 0)).toMatchObject({ ok: false, code: 'unknown_account' });
  });
});
