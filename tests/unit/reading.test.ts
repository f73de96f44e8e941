// Who may read the chain (core/reading.ts): members, admitted auditors, joiners presenting an
// invite bound to their own key, anyone on a public grid — and nobody else.
import { describe, expect, it } from 'vitest';
import { TestChain } from '../helpers/chain.js';
import { rekeyLink } from '../helpers/rekey.js';
import { readRight, type ReadPass } from '../../src/core/reading.js';
import { rekeyBindMessage } from '../../src/core/tx.js';
import { nobleVerifier } from '../../src/core/keys.js';

const right = (c: TestChain, name: string, pass: ReadPass | null) => readRight(c.state, c.id(name), c.signer(name).publicKey, pass, nobleVerifier);

describe('reading the chain', () => {
  it('members read; strangers without an invite do not; a public grid lets anyone read', async () => {
    const c = await TestChain.create({ a: 'consumer' });
    expect(right(c, 'a', null)).toEqual({ ok: true, as: 'member' });
    expect(right(c, 'operator', null)).toEqual({ ok: true, as: 'member' });
    expect(right(c, 'eve', null).ok).toBe(false);
    const open = await TestChain.create({}, { open_reading: true });
    expect(right(open, 'eve', null)).toEqual({ ok: true, as: 'public' });
  });

  it('a removed member no longer reads', async () => {
    const c = await TestChain.create({ a: 'consumer' });
    expect(c.block([c.tx('operator', 'remove', { member: c.id('a') })], 1000).receipts[0]!.ok).toBe(true);
    expect(right(c, 'a', null).ok).toBe(false);
  });

  it('a joiner reads with a valid invite redeemed for its own key, not with one stolen from another', async () => {
    const c = await TestChain.create();
    const pass: ReadPass = { kind: 'invite', invite: c.invite('dan', 'consumer', 10_000, 3) };
    expect(right(c, 'dan', pass)).toEqual({ ok: true, as: 'invite' });
    // Seen on the wire and shown by another key: the proof binds dan's key.
    expect(right(c, 'eve', pass).ok).toBe(false);
    // Granted by someone other than the operator.
    expect(right(c, 'dan', { kind: 'invite', invite: c.invite('dan', 'consumer', 10_000, 4, c.signer('forger')) }).ok).toBe(false);
    // Expired by chain time.
    c.block([], 20_000);
    expect(right(c, 'dan', pass)).toMatchObject({ ok: false, reason: 'the invite has expired' });
  });

  it('a used invite reads no more (its joiner is a member by then, and reads as one)', async () => {
    const c = await TestChain.create();
    const invite = c.invite('dan', 'consumer', 100_000, 5);
    expect(c.block([c.tx('dan', 'admit', { member: c.id('dan'), pub: c.signer('dan').publicKey, role: 'consumer', invite }, 0)], 1000).receipts[0]!.ok).toBe(true);
    expect(right(c, 'dan', { kind: 'invite', invite })).toEqual({ ok: true, as: 'member' });
    const eveSees = { kind: 'invite' as const, invite: c.invite('eve', 'consumer', 100_000, 5) };
    expect(right(c, 'eve', eveSees)).toMatchObject({ ok: false, reason: 'the invite was used already' });
  });

  it('a re-keyed household reads with its rekey link bound to its new key', async () => {
    const c = await TestChain.create({ a: 'consumer' });
    const link = rekeyLink(c.state.chain_id, c.operator, c.id('a'), 100_000, 'r1');
    const fresh = c.signer('a-new');
    const pass: ReadPass = { kind: 'rekey', member: c.id('a'), invite: link.invite, proof: link.secret.signSync(rekeyBindMessage(c.state.chain_id, c.id('a'), fresh.publicKey)) };
    expect(right(c, 'a-new', pass)).toEqual({ ok: true, as: 'rekey' });
    expect(right(c, 'eve', pass).ok).toBe(false);
  });

  it('an auditor is a member that reads, is never promoted and reports no meter', async () => {
    const c = await TestChain.create();
    const aud = c.signer('aud');
    const r = c.block([c.tx('operator', 'admit', { member: aud.id, pub: aud.publicKey, role: 'auditor', invite: null })], 1000);
    expect(r.receipts[0]!.ok).toBe(true);
    expect(right(c, 'aud', null)).toEqual({ ok: true, as: 'member' });
    const promote = c.block([c.tx('operator', 'promote', { member: aud.id })], 2000).receipts[0]!;
    expect(promote).toMatchObject({ ok: false, code: 'not_permitted' });
    const meter = c.block([c.tx('aud', 'meter', { interval: 0, import_wh: 1, export_wh: 0 })], 3000).receipts[0]!;
    expect(meter).toMatchObject({ ok: false, code: 'not_permitted' });
  });
});
