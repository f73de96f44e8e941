// Re-keying (issue 12): a household whose browser data is gone gets a rekey invite from the
// operator; its new key takes over the account — balance, contracts as consumer and producer
// with their escrow, offer, meter baseline and unsettled energy, payouts, role, name — and
// the old key is retired for good. Voting does not move in the same step (a learner first).
import { describe, expect, it } from 'vitest';
import { contractsOf, TestChain } from '../helpers/chain.js';
import { rekeyLink, rekeyTx } from '../helpers/rekey.js';
import { NobleSigner, nobleVerifier } from '../../src/core/keys.js';
import { apply, assertInvariants, genesisState, stateRoot, totals, votersOf, type LedgerState, type Receipt } from '../../src/core/ledger.js';
import { moveAccount, orphanedReference } from '../../src/core/rekey.js';
import { decodeTx, TxError } from '../../src/core/tx.js';
import { preflight } from '../../src/core/preflight.js';
import type { ContractStatement } from '../../src/core/settlement.js';

const MIN = 60_000;
const at = (interval: number) => interval * MIN + 1000;
const codes = (rs: Receipt[]) => rs.map((r) => (r.ok ? 'ok' : r.code));
const HOUR = 3_600_000;

/** C1 contracts P1 for intervals 1–6; both meter intervals 0 and 1; C1 has a pending payout. */
async function market(): Promise<TestChain> {
  const c = await TestChain.create({ P1: 'producer', C1: 'consumer', X: 'prosumer' });
  c.block(
    [
      c.tx('operator', 'mint', { to: c.id('C1'), amount: 5_000, ref: 'deposit' }),
      ...[1, 2, 3, 4, 5, 6, 7].map((interval) => c.tx('operator', 'price', { interval, price: 200 })),
      c.tx('P1', 'offer', { first_interval: 1, last_interval: 10 }),
      c.tx('C1', 'contract', { producer: c.id('P1'), first_interval: 1, last_interval: 6, max_energy_wh: 50_000, max_price: 300, lock: 2_000 }),
      c.tx('C1', 'withdraw', { amount: 100 }),
      c.tx('C1', 'rename', { name: 'Corner house' }),
    ],
    at(0),
  );
  c.block([c.tx('C1', 'meter', { interval: 0, import_wh: 1_000, export_wh: 0 }), c.tx('P1', 'meter', { interval: 0, import_wh: 0, export_wh: 9_000 })], at(1));
  c.block([c.tx('C1', 'meter', { interval: 1, import_wh: 1_500, export_wh: 0 }), c.tx('P1', 'meter', { interval: 1, import_wh: 0, export_wh: 10_000 })], at(2));
  return c;
}

function rekey(c: TestChain, oldName: string, newName: string, time_ms: number, expires_ms = time_ms + HOUR): Receipt {
  const link = rekeyLink(c.state.chain_id, c.operator, c.id(oldName), expires_ms, `${oldName}->${newName}`);
  const r = c.block([rekeyTx(c.state.chain_id, link, c.signer(newName))], time_ms);
  if (r.receipts[0]!.ok) c.seqs.set(newName, 1);
  return r.receipts[0]!;
}

describe('rekey: the account moves to the new key', () => {
  it('moves balance, contract and escrow, meter baseline, unsettled energy, payout, role and name; retires the old id', async () => {
    const c = await market();
    const [oldC1, newC1] = [c.id('C1'), c.id('C1b')];
    const before = c.state.members.get(oldC1)!;
    const energyBefore = c.state.energy.get(1)!.get(oldC1);
    expect(energyBefore).toEqual({ import_wh: 500, export_wh: 0 });
    expect(rekey(c, 'C1', 'C1b', at(2) + 10)).toMatchObject({ ok: true });
    const s = c.state;
    const moved = s.members.get(newC1)!;
    expect(moved).toMatchObject({ role: 'consumer', name: 'Corner house', balance: before.balance, voter: false, removed: false, seq: 1, joined_height: before.joined_height, rekeyed_from: oldC1 });
    expect(s.members.get(oldC1)).toMatchObject({ removed: true, voter: false, balance: 0, retired_to: newC1 });
    expect(s.contracts.get(1)).toMatchObject({ consumer: newC1, producer: c.id('P1'), locked: 2_000, status: 'active' });
    expect(s.active_contract.get(newC1)).toBe(1);
    expect(s.active_contract.has(oldC1)).toBe(false);
    expect(s.meters.get(newC1)).toEqual({ last_interval: 1, import_wh: 1_500, export_wh: 0 });
    expect(s.meters.has(oldC1)).toBe(false);
    expect(s.energy.get(1)!.get(newC1)).toEqual(energyBefore);
    expect(s.payouts.get(1)).toMatchObject({ member: newC1, amount: 100 });
    expect(votersOf(s).has(oldC1)).toBe(false);
    expect(orphanedReference(s)).toBeNull();

    // Settlement goes on with the new id: interval 1 settles (paid from the escrow), and the
    // new key's readings continue the old baseline (no gap, no reset).
    const settled: ContractStatement[] = [];
    settled.push(...contractsOf(c.block([c.tx('C1b', 'meter', { interval: 2, import_wh: 2_100, export_wh: 0 }), c.tx('P1', 'meter', { interval: 2, import_wh: 0, export_wh: 11_000 })], at(3)).statements));
    settled.push(...contractsOf(c.block([], at(4) + 5).statements));
    expect(settled.map((st) => [st.interval, st.consumer, st.delivered_wh, st.paid])).toEqual([
      [1, newC1, 500, 100],
      [2, newC1, 600, 120],
    ]);
    const t = totals(c.state);
    expect(t.minted - t.burned).toBe(t.balances + t.locked);
  });

  it('moves a producer: its offer, its side of contracts, and its income', async () => {
    const c = await market();
    const newP1 = c.id('P1b');
    expect(rekey(c, 'P1', 'P1b', at(2) + 10)).toMatchObject({ ok: true });
    expect(c.state.offers.get(newP1)).toMatchObject({ producer: newP1, first_interval: 1, last_interval: 10 });
    expect(c.state.contracts.get(1)!.producer).toBe(newP1);
    const st = contractsOf(c.block([], at(3) + 5).statements);
    expect(st.map((x) => [x.producer, x.paid])).toEqual([[newP1, 100]]);
    expect(c.state.members.get(newP1)!.balance).toBe(100);
    // Another consumer can contract the producer under its new id (and not its old one).
    c.block([c.tx('operator', 'mint', { to: c.id('X'), amount: 500, ref: '' })], at(3) + 6);
    const r = c.block(
      [
        c.tx('X', 'contract', { producer: c.id('P1'), first_interval: 4, last_interval: 5, max_energy_wh: 100, max_price: 300, lock: 10 }),
        c.tx('X', 'contract', { producer: newP1, first_interval: 4, last_interval: 5, max_energy_wh: 100, max_price: 300, lock: 10 }),
      ],
      at(3) + 7,
    );
    expect(codes(r.receipts)).toEqual(['unknown_member', 'ok']);
  });

  it('the old key can never sign again, its id is never reused, and the invite works once', async () => {
    const c = await market();
    const link = rekeyLink(c.state.chain_id, c.operator, c.id('C1'), at(2) + HOUR, 'once');
    const first = rekeyTx(c.state.chain_id, link, c.signer('C1b'));
    const r = c.block(
      [
        first,
        c.tx('C1', 'transfer', { to: c.id('P1'), amount: 1, memo: 'old key, after its retirement' }),
        rekeyTx(c.state.chain_id, link, c.signer('C1c')), // the same link for another key
      ],
      at(2) + 10,
    );
    expect(codes(r.receipts)).toEqual(['ok', 'not_permitted', 'invite_used']);
    c.seqs.set('C1b', 1);
    const later = c.block(
      [
        first, // a replay: the new key's seq 0 is used
        c.tx('operator', 'admit', { member: c.id('C1'), pub: c.signer('C1').publicKey, role: 'consumer', invite: null }),
        c.tx('operator', 'mint', { to: c.id('C1'), amount: 5, ref: '' }),
        c.tx('C1b', 'transfer', { to: c.id('C1'), amount: 5, memo: '' }),
        rekeyTx(c.state.chain_id, rekeyLink(c.state.chain_id, c.operator, c.id('C1'), at(3), 'second'), c.signer('C1d')),
      ],
      at(2) + 20,
    );
    expect(codes(later.receipts)).toEqual(['replayed_seq', 'id_reused', 'unknown_member', 'unknown_member', 'unknown_member']);
  });

  it('refuses forged, unbound, expired, misdirected invites, the operator, strangers and members', async () => {
    const c = await market();
    const chain = c.state.chain_id;
    const now = at(2) + 10;
    const good = (seed: string, member = c.id('C1')) => rekeyLink(chain, c.operator, member, now + HOUR, seed);
    const forged = rekeyLink(chain, NobleSigner.fromSeed('forger'), c.id('C1'), now + HOUR, 'f');
    const r = c.block(
      [
        rekeyTx(chain, forged, c.signer('n1')),
        rekeyTx(chain, good('u'), c.signer('n2'), { proofFor: c.signer('n9').publicKey }), // proof made for another key
        rekeyTx(chain, rekeyLink(chain, c.operator, c.id('C1'), now - 1, 'e'), c.signer('n3')),
        rekeyTx(chain, good('m'), c.signer('n4'), { member: c.id('P1') }), // invite names C1, tx names P1
        rekeyTx(chain, good('o', c.id('operator')), c.signer('n5')),
        rekeyTx(chain, good('s', NobleSigner.fromSeed('stranger').id), c.signer('n6')),
        rekeyTx(chain, good('x'), c.signer('X'), { seq: 0 }), // the new key is a member already
        rekeyTx(chain, good('q'), c.signer('n7'), { seq: 1 }),
      ],
      now,
    );
    expect(codes(r.receipts)).toEqual(['bad_invite', 'bad_invite', 'invite_expired', 'bad_invite', 'not_permitted', 'unknown_member', 'already_member', 'skipped_seq']);
    expect(c.state.members.get(c.id('C1'))!.retired_to).toBeUndefined();
    // A removed member is not re-keyed.
    c.block([c.tx('operator', 'remove', { member: c.id('X') })], now + 1);
    expect(codes(c.block([rekeyTx(chain, good('r', c.id('X')), c.signer('n8'))], now + 2).receipts)).toEqual(['unknown_member']);
  });

  it('a voter re-keyed leaves the voters; its new key joins them when promoted', async () => {
    const c = await market();
    expect(votersOf(c.state).has(c.id('C1'))).toBe(true);
    rekey(c, 'C1', 'C1b', at(2) + 10);
    expect(votersOf(c.state).has(c.id('C1b'))).toBe(false);
    const p = c.block([c.tx('P1', 'promote', { member: c.id('C1b') })], at(2) + 20);
    expect(codes(p.receipts)).toEqual(['ok']);
    expect([...votersOf(c.state).keys()].sort()).toEqual([c.id('operator'), c.id('P1'), c.id('C1b'), c.id('X')].sort());
  });

  it('decode checks the shape; preflight gives the receipt codes', async () => {
    const c = await market();
    const link = rekeyLink(c.state.chain_id, c.operator, c.id('C1'), at(2) + HOUR, 'pf');
    const tx = rekeyTx(c.state.chain_id, link, c.signer('C1b'));
    expect(decodeTx(tx.bytes, c.state.chain_id, nobleVerifier).body.kind).toBe('rekey');
    const noProof = { ...tx.body } as Record<string, unknown>;
    delete noProof.proof;
    expect(() => preflightOrThrow(c.state, noProof)).toThrow(/malformed/);
    expect(preflight(c.state, tx.body, { at_ms: at(2) + 10 })).toMatchObject({ ok: true });
    const expired = rekeyTx(c.state.chain_id, rekeyLink(c.state.chain_id, c.operator, c.id('C1'), at(2), 'pe'), c.signer('C1c'));
    const v = preflight(c.state, expired.body, { at_ms: at(2) + 10 });
    expect(v).toMatchObject({ ok: false, code: 'invite_expired' });
    expect(!v.ok && v.reason).toMatch(/re-key link expired/);
  });
});

function preflightOrThrow(state: LedgerState, body: Record<string, unknown>): void {
  const v = preflight(state, body as never);
  if (!v.ok) throw new TxError(v.code, v.ledger_reason);
}

describe('moveAccount (the step an operator key rotation reuses)', () => {
  it('moves the operator role with state.operator and refuses a known target id', async () => {
    const c = await market();
    const s = structuredClone(c.state);
    const op2 = NobleSigner.fromSeed('operator-2');
    moveAccount(s, c.id('operator'), { id: op2.id, pub: op2.publicKey });
    expect(s.operator).toBe(op2.id);
    expect(s.members.get(op2.id)).toMatchObject({ role: 'operator', rekeyed_from: c.id('operator') });
    assertInvariants(s);
    expect(() => moveAccount(s, c.id('P1'), { id: c.id('X'), pub: c.signer('X').publicKey })).toThrow(/id_reused/);
    expect(() => moveAccount(s, c.id('operator'), { id: NobleSigner.fromSeed('z').id, pub: NobleSigner.fromSeed('z').publicKey })).toThrow(/unknown_member/);
  });

  it('two ledgers fed the same blocks with rekeys agree on the state root', async () => {
    const c = await market();
    rekey(c, 'C1', 'C1b', at(2) + 10);
    rekey(c, 'P1', 'P1b', at(2) + 20);
    rekey(c, 'C1b', 'C1c', at(3) + 5);
    let other = genesisState(c.genesis, nobleVerifier);
    for (const b of c.blocks) other = apply(other, b, nobleVerifier).state;
    expect(stateRoot(other)).toEqual(stateRoot(c.state));
    expect(c.state.members.get(c.id('C1b'))).toMatchObject({ retired_to: c.id('C1c'), rekeyed_from: c.id('C1') });
  });
});
