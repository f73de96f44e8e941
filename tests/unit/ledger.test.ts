import { describe, expect, it } from 'vitest';
import { TestChain } from '../helpers/chain.js';
import { NobleSigner, nobleVerifier } from '../../src/core/keys.js';
import { inviteMessage, signTxSync, type TxBody } from '../../src/core/tx.js';
import { createInviteLinkSync, decodeInviteLink, redeemInvite } from '../../src/core/invite.js';
import { apply, stateRoot, votersOf, type Receipt } from '../../src/core/ledger.js';
import { buildBlockSync, BlockError } from '../../src/core/block.js';
import { nextHistory } from '../../src/core/history.js';
import { toHex } from '../../src/core/bytes.js';
import { RULE1_PARAMS } from '../../src/core/params.js';

const MIN = 60_000;
const codes = (rs: Receipt[]) => rs.map((r) => (r.ok ? 'ok' : r.code));

describe('ledger: tokens and sequence numbers', () => {
  it('mints, transfers, withdraws and confirms payouts; the operator alone mints', async () => {
    const c = await TestChain.create({ a: 'consumer', b: 'producer' });
    const r = c.block(
      [
        c.tx('operator', 'mint', { to: c.id('a'), amount: 1000, ref: 'deposit #1' }),
        c.tx('a', 'mint', { to: c.id('a'), amount: 1000, ref: 'self' }),
        c.tx('a', 'transfer', { to: c.id('b'), amount: 300, memo: '' }),
        c.tx('a', 'transfer', { to: c.id('b'), amount: 10_000, memo: 'overdraft' }),
        c.tx('b', 'withdraw', { amount: 100 }),
        c.tx('a', 'transfer', { to: c.id('a'), amount: 1, memo: 'self' }),
        c.tx('a', 'transfer', { to: NobleSigner.fromSeed('stranger').id, amount: 1, memo: '' }),
      ],
      1000,
    );
    expect(codes(r.receipts)).toEqual(['ok', 'not_permitted', 'ok', 'insufficient_funds', 'ok', 'not_permitted', 'unknown_member']);
    expect(r.receipts[4]).toMatchObject({ ok: true, payout: 1 });
    expect([c.balance('a'), c.balance('b'), c.state.minted, c.state.burned]).toEqual([700, 200, 1000, 100]);
    expect(c.state.payouts.get(1)).toMatchObject({ member: c.id('b'), amount: 100 });
    const p = c.block([c.tx('operator', 'payout', { payout: 1 }), c.tx('operator', 'payout', { payout: 1 })], 2000);
    expect(codes(p.receipts)).toEqual(['ok', 'unknown_payout']);
    expect(c.state.payouts.size).toBe(0);
  });

  it('rejects replayed and skipped sequence numbers; a failed tx still uses its number', async () => {
    const c = await TestChain.create({ a: 'consumer', b: 'consumer' });
    c.block([c.tx('operator', 'mint', { to: c.id('a'), amount: 10, ref: '' })], 1000);
    const first = c.tx('a', 'transfer', { to: c.id('b'), amount: 100, memo: 'overdraft' }); // seq 0, fails
    const r = c.block(
      [
        first,
        c.tx('a', 'transfer', { to: c.id('b'), amount: 1, memo: '' }, 5), // skipped
        c.tx('a', 'transfer', { to: c.id('b'), amount: 1, memo: '' }, 0), // replay of seq 0 (different body)
        c.tx('a', 'transfer', { to: c.id('b'), amount: 1, memo: 'ok' }, 1),
        c.tx('a', 'transfer', { to: c.id('b'), amount: 1, memo: 'again' }, 1), // replay of seq 1
      ],
      2000,
    );
    expect(codes(r.receipts)).toEqual(['insufficient_funds', 'skipped_seq', 'replayed_seq', 'ok', 'replayed_seq']);
    expect(c.balance('b')).toBe(1);
    // The very same bytes in a later block are a replay too.
    expect(codes(c.block([first], 3000).receipts)).toEqual(['replayed_seq']);
    expect(c.state.members.get(c.id('a'))!.seq).toBe(2);
  });
});

describe('ledger: membership', () => {
  it('admits by operator as learner, promotes, removes, never reuses ids', async () => {
    const c = await TestChain.create({ a: 'consumer' });
    const bob = c.signer('bob');
    const r = c.block(
      [
        c.tx('operator', 'admit', { member: bob.id, pub: bob.publicKey, role: 'producer', invite: null }),
        c.tx('a', 'admit', { member: c.id('carol'), pub: c.signer('carol').publicKey, role: 'consumer', invite: null }),
        c.tx('operator', 'admit', { member: bob.id, pub: bob.publicKey, role: 'producer', invite: null }),
      ],
      1000,
    );
    expect(codes(r.receipts)).toEqual(['ok', 'not_permitted', 'already_member']);
    expect(c.state.members.get(bob.id)).toMatchObject({ voter: false, role: 'producer', joined_height: 1 });
    expect(votersOf(c.state).has(bob.id)).toBe(false);
    const p = c.block([c.tx('a', 'promote', { member: bob.id }), c.tx('a', 'promote', { member: bob.id })], 2000);
    expect(codes(p.receipts)).toEqual(['ok', 'not_learner']);
    expect(votersOf(c.state).has(bob.id)).toBe(true);
    const rm = c.block(
      [
        c.tx('a', 'remove', { member: bob.id }),
        c.tx('operator', 'remove', { member: bob.id }),
        c.tx('bob', 'transfer', { to: c.id('a'), amount: 1, memo: '' }),
        c.tx('operator', 'admit', { member: bob.id, pub: bob.publicKey, role: 'producer', invite: null }),
        c.tx('operator', 'remove', { member: c.id('operator') }),
      ],
      3000,
    );
    expect(codes(rm.receipts)).toEqual(['not_permitted', 'ok', 'not_permitted', 'id_reused', 'not_permitted']);
    expect(votersOf(c.state).has(bob.id)).toBe(false);
  });

  it('admits a joiner presenting an operator-signed invite, once, before it expires', async () => {
    const c = await TestChain.create();
    const chain = c.state.chain_id;
    const link = (n: number, role: 'consumer' | 'producer', expires_ms: number, signer = c.operator) =>
      decodeInviteLink(createInviteLinkSync(chain, new Uint8Array(48).fill(n), role, expires_ms, (m) => signer.signSync(m)));
    const join = (name: string, l: ReturnType<typeof link>, role = l.role) => {
      const s = c.signer(name);
      return c.tx(name, 'admit', { member: s.id, pub: s.publicKey, role, invite: redeemInvite(chain, l, s.publicKey) }, 0);
    };
    const good = link(1, 'consumer', 10_000);
    const r = c.block(
      [
        join('dan', good),
        join('eve', good), // single use
        join('fay', link(2, 'consumer', 500)), // expired (block time 1000)
        join('gus', link(3, 'producer', 10_000, NobleSigner.fromSeed('forger'))),
        join('hal', link(4, 'consumer', 10_000), 'producer'), // role differs
      ],
      1000,
    );
    expect(codes(r.receipts)).toEqual(['ok', 'invite_used', 'invite_expired', 'bad_invite', 'bad_invite']);
    expect(c.state.members.get(c.id('dan'))).toMatchObject({ role: 'consumer', voter: false, seq: 1 });
    expect(c.state.used_invites.has(toHex(redeemInvite(chain, good, c.signer('dan').publicKey).pub))).toBe(true);
    c.block([], 20_000);
    expect(c.state.used_invites.size).toBe(0); // pruned after expiry
  });

  it('refuses v1 invites (bearer codes) in new grids, and still applies them in grids made before v2', async () => {
    const v1 = (c: TestChain, n: number) => {
      const code = new Uint8Array(16).fill(n);
      return { code, role: 'consumer' as const, expires_ms: 10_000, sig: c.operator.signSync(inviteMessage(c.state.chain_id, code, 'consumer', 10_000)) };
    };
    const fresh = await TestChain.create();
    const dan = fresh.signer('dan');
    const r = fresh.block([fresh.tx('dan', 'admit', { member: dan.id, pub: dan.publicKey, role: 'consumer', invite: v1(fresh, 1) }, 0)], 1000);
    expect(codes(r.receipts)).toEqual(['bad_invite']);
    // A genesis without max_clock_ahead_s was made before v2 invites: its chain replays as made.
    const legacy = await TestChain.create({}, { max_clock_ahead_s: undefined });
    expect(Object.hasOwn(legacy.genesis.genesis.params, 'max_clock_ahead_s')).toBe(false);
    const old = legacy.block([legacy.tx('dan', 'admit', { member: dan.id, pub: dan.publicKey, role: 'consumer', invite: v1(legacy, 1) }, 0)], 1000);
    expect(codes(old.receipts)).toEqual(['ok']);
  });
});

describe('attack 6: an invite seen on the wire cannot be stolen', () => {
  it('a thief who copies the invite out of a joiner\'s admit cannot use it for its own key', async () => {
    const c = await TestChain.create();
    const chain = c.state.chain_id;
    const link = decodeInviteLink(createInviteLinkSync(chain, new Uint8Array(48).fill(9), 'consumer', 10_000, (m) => c.operator.signSync(m)));
    const dan = c.signer('dan');
    const honest = c.tx('dan', 'admit', { member: dan.id, pub: dan.publicKey, role: 'consumer', invite: redeemInvite(chain, link, dan.publicKey) }, 0);
    // The thief saw `honest` on the wire and races it with its own key.
    const thief = c.signer('thief');
    const seen = honest.body.kind === 'admit' ? honest.body.invite : null;
    const stolen = c.tx('thief', 'admit', { member: thief.id, pub: thief.publicKey, role: 'consumer', invite: seen }, 0);
    const r = c.block([stolen, honest], 1000);
    expect(r.receipts.map((x) => (x.ok ? 'ok' : x.code))).toEqual(['bad_invite', 'ok']);
    expect(c.state.members.has(thief.id)).toBe(false);
  });
});

describe('ledger: display names', () => {
  it('are set at admission (by the operator or with an invite), changed by rename, and in the state root', async () => {
    const c = await TestChain.create({ a: 'consumer' });
    const bob = c.signer('bob');
    const dan = c.signer('dan');
    const invite = c.invite('dan', 'consumer', 10_000, 9);
    const r = c.block(
      [
        c.tx('operator', 'admit', { member: bob.id, pub: bob.publicKey, role: 'producer', invite: null, name: 'Bob’s roof' }),
        c.tx('dan', 'admit', { member: dan.id, pub: dan.publicKey, role: 'consumer', invite, name: 'Dan' }, 0),
      ],
      1000,
    );
    expect(codes(r.receipts)).toEqual(['ok', 'ok']);
    expect([c.state.members.get(bob.id)!.name, c.state.members.get(dan.id)!.name]).toEqual(['Bob’s roof', 'Dan']);
    expect(c.state.members.get(c.id('a'))!.name).toBeUndefined(); // founders and old members: none
    c.seqs.set('dan', 1);
    const rn = c.block([c.tx('a', 'rename', { name: 'Ana' }), c.tx('dan', 'rename', { name: 'Daniel' }), c.tx('stranger', 'rename', { name: 'X' })], 2000);
    expect(codes(rn.receipts)).toEqual(['ok', 'ok', 'unknown_account']);
    expect([c.state.members.get(c.id('a'))!.name, c.state.members.get(dan.id)!.name]).toEqual(['Ana', 'Daniel']);
    // The name is part of the state root.
    const renamed = structuredClone(c.state);
    renamed.members.get(dan.id)!.name = 'Dan';
    expect(stateRoot(renamed)).not.toEqual(stateRoot(c.state));
  });

  it('admits without a name as before (old admits still decode and apply)', async () => {
    const c = await TestChain.create();
    const bob = c.signer('bob');
    const r = c.block([c.tx('operator', 'admit', { member: bob.id, pub: bob.publicKey, role: 'producer', invite: null })], 1000);
    expect(codes(r.receipts)).toEqual(['ok']);
    expect(Object.hasOwn(c.state.members.get(bob.id)!, 'name')).toBe(false);
  });
});

describe('ledger: market rules', () => {
  it('enforces roles, offers, one active contract, and meter reading rules', async () => {
    const c = await TestChain.create({ p: 'producer', q: 'prosumer', a: 'consumer' });
    const r = c.block(
      [
        c.tx('operator', 'mint', { to: c.id('a'), amount: 1000, ref: '' }),
        c.tx('a', 'offer', { first_interval: 1, last_interval: 5 }), // consumers don't offer
        c.tx('p', 'offer', { first_interval: 1, last_interval: 5 }),
        c.tx('p', 'contract', { producer: c.id('q'), first_interval: 1, last_interval: 2, max_energy_wh: 1, max_price: 1, lock: 0 }),
        c.tx('a', 'contract', { producer: c.id('q'), first_interval: 1, last_interval: 2, max_energy_wh: 1, max_price: 1, lock: 0 }), // q offers nothing
        c.tx('a', 'contract', { producer: c.id('p'), first_interval: 1, last_interval: 9, max_energy_wh: 1, max_price: 1, lock: 0 }), // beyond the offer
        c.tx('a', 'contract', { producer: c.id('p'), first_interval: 3, last_interval: 2, max_energy_wh: 1, max_price: 1, lock: 0 }),
        c.tx('a', 'contract', { producer: c.id('p'), first_interval: 1, last_interval: 5, max_energy_wh: 100, max_price: 300, lock: 5000 }),
        c.tx('a', 'contract', { producer: c.id('p'), first_interval: 1, last_interval: 5, max_energy_wh: 100, max_price: 300, lock: 500 }),
        c.tx('a', 'contract', { producer: c.id('p'), first_interval: 1, last_interval: 5, max_energy_wh: 100, max_price: 300, lock: 500 }),
        c.tx('a', 'fund', { contract: 2, amount: 1 }),
        c.tx('a', 'fund', { contract: 1, amount: 100 }),
        c.tx('operator', 'meter', { interval: 0, import_wh: 1, export_wh: 0 }),
        c.tx('q', 'price', { interval: 2, price: 1 }),
      ],
      1000,
    );
    expect(codes(r.receipts)).toEqual([
      'ok', 'not_permitted', 'ok', 'not_permitted', 'no_offer', 'no_offer', 'invalid_period',
      'insufficient_funds', 'ok', 'contract_exists', 'unknown_contract', 'ok', 'not_permitted', 'not_permitted',
    ]);
    expect(c.state.contracts.get(1)).toMatchObject({ locked: 600, funded: 600 });
    expect(c.balance('a')).toBe(400);

    const m = c.block(
      [
        c.tx('a', 'meter', { interval: 0, import_wh: 100, export_wh: 0 }),
        c.tx('a', 'meter', { interval: 0, import_wh: 200, export_wh: 0 }), // already reported
        c.tx('a', 'meter', { interval: 1, import_wh: 50, export_wh: 0 }), // backwards
        c.tx('a', 'meter', { interval: 3, import_wh: 300, export_wh: 0 }), // future
        c.tx('a', 'meter', { interval: 1, import_wh: 100 + 200_000_000, export_wh: 0 }), // too large
        c.tx('a', 'meter', { interval: 1, import_wh: 180, export_wh: 0 }),
      ],
      MIN + 1000,
    );
    expect(codes(m.receipts)).toEqual(['ok', 'reading_stale', 'reading_backwards', 'interval_future', 'reading_too_large', 'ok']);
    expect(c.state.energy.get(1)?.get(c.id('a'))).toEqual({ import_wh: 80, export_wh: 0 });
    const late = c.block([c.tx('p', 'meter', { interval: 0, import_wh: 0, export_wh: 5 })], 3 * MIN);
    expect(codes(late.receipts)).toEqual(['interval_closed']);
  });

  it('contract periods: at least one interval, at most a month, starting within a week', async () => {
    const c = await TestChain.create({ p: 'producer', a: 'consumer' }, { interval_ms: MIN });
    const month = 31 * 24 * 60;
    const week = 7 * 24 * 60;
    expect([c.state.params.contract_max_intervals, c.state.params.contract_start_max_intervals]).toEqual([month, week]);
    const ask = (first: number, last: number) =>
      c.tx('a', 'contract', { producer: c.id('p'), first_interval: first, last_interval: last, max_energy_wh: 1, max_price: 1, lock: 0 });
    const r = c.block(
      [
        c.tx('p', 'offer', { first_interval: 1, last_interval: 1 + month }), // longer than a month
        c.tx('p', 'offer', { first_interval: 2 + week, last_interval: 3 + week }), // starts too far ahead
        c.tx('p', 'offer', { first_interval: 1, last_interval: month }),
        ask(5, 4), // a period of 0 intervals
        ask(5, 2), // of −2
        ask(1, 1 + month), // beyond the limit (the offer would not cover it either)
        ask(1, month), // exactly a month: fine
      ],
      1000,
    );
    expect(codes(r.receipts)).toEqual(['invalid_period', 'interval_future', 'ok', 'invalid_period', 'invalid_period', 'invalid_period', 'ok']);
    const reasons = r.receipts.map((x) => (x.ok ? '' : x.reason));
    expect(reasons[0]).toBe(`invalid_period: the period is ${month + 1} intervals long; at most ${month} are allowed`);
    expect(reasons[1]).toBe(`interval_future: the period starts ${week + 2} intervals from now; at most ${week} ahead are allowed`);
    expect(reasons[3]).toBe('invalid_period: the period ends (interval 4) before it starts (interval 5)');
  });

  it('a chain made before the start horizon keeps its old limits (retain_intervals ahead, one week long)', async () => {
    const c = await TestChain.create({ p: 'producer' }, {}, 0, RULE1_PARAMS);
    const r = c.block(
      [
        c.tx('p', 'offer', { first_interval: 24 * 60, last_interval: 1 + 24 * 60 }), // a day ahead: as far as it goes
        c.tx('p', 'offer', { first_interval: 1 + 24 * 60, last_interval: 2 + 24 * 60 }),
        c.tx('p', 'offer', { first_interval: 1, last_interval: 7 * 24 * 60 + 1 }),
      ],
      1000,
    );
    expect(codes(r.receipts)).toEqual(['ok', 'interval_future', 'invalid_period']);
  });

  it('prices: the current interval is locked once set, past ones are closed', async () => {
    const c = await TestChain.create();
    const r = c.block(
      [
        c.tx('operator', 'price', { interval: 5, price: 100 }),
        c.tx('operator', 'price', { interval: 5, price: 120 }), // future: may be revised
        c.tx('operator', 'price', { interval: 4, price: 100 }), // past
      ],
      5 * MIN + 10,
    );
    expect(codes(r.receipts)).toEqual(['ok', 'price_locked', 'interval_closed']);
    const f = c.block([c.tx('operator', 'price', { interval: 6, price: 1 }), c.tx('operator', 'price', { interval: 6, price: 2 })], 5 * MIN + 20);
    expect(codes(f.receipts)).toEqual(['ok', 'ok']);
    expect(c.state.prices.get(6)).toBe(2);
  });
});

describe('ledger: blocks', () => {
  it('is pure: apply does not change its input, and equal blocks give equal state roots', async () => {
    const c = await TestChain.create({ a: 'consumer' });
    const before = stateRoot(c.state);
    const prior = c.state;
    c.block([c.tx('operator', 'mint', { to: c.id('a'), amount: 5, ref: '' })], 1000);
    expect(stateRoot(prior)).toEqual(before);
    expect(stateRoot(c.state)).not.toEqual(before);
    const again = apply(prior, c.blocks[0]!, nobleVerifier);
    expect(stateRoot(again.state)).toEqual(stateRoot(c.state));
  });

  it('refuses a block that does not follow the tip, or whose time goes backwards', async () => {
    const c = await TestChain.create();
    c.block([], 5000);
    const mk = (height: number, prev: Uint8Array, time_ms: number) =>
      buildBlockSync({ chain: c.state.chain_id, height, term: 1, prev, history: nextHistory(c.state.params, c.state.history)!, time_ms }, [], c.operator);
    expect(() => apply(c.state, mk(3, c.state.last_hash, 6000), nobleVerifier)).toThrow(/bad_height/);
    expect(() => apply(c.state, mk(2, new Uint8Array(32), 6000), nobleVerifier)).toThrow(/bad_prev/);
    expect(() => apply(c.state, mk(2, c.state.last_hash, 4000), nobleVerifier)).toThrow(BlockError);
  });

  it('keeps a transaction from an unknown signer as a failed receipt', async () => {
    const c = await TestChain.create();
    const stranger = NobleSigner.fromSeed('stranger');
    const body = { v: 1, chain: c.state.chain_id, kind: 'withdraw', from: stranger.id, seq: 0, amount: 1 } as TxBody;
    const r = c.block([signTxSync(body, stranger)], 1000);
    expect(codes(r.receipts)).toEqual(['unknown_account']);
  });
});
