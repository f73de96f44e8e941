// Invites granted by M voters (issue 15): under M-of-N admission the joiner's own admit
// presenting M current voters' grants makes it a member; every other case is refused, typed.
import { describe, expect, it } from 'vitest';
import { TestChain } from '../helpers/chain.js';
import { nobleVerifier } from '../../src/core/keys.js';
import { decodeTx, type DecodedTx, type EndorsedInvite, type Role } from '../../src/core/tx.js';
import { LIMITS, type GridParams } from '../../src/core/params.js';
import type { Receipt } from '../../src/core/ledger.js';
import { grantsNeeded } from '../../src/core/endorsed-invite.js';
import { readRight } from '../../src/core/reading.js';
import { preflight } from '../../src/core/preflight.js';

const HOUR = 3_600_000;
const THREE: Partial<GridParams> = { admission: { m_of_n: { m: 3 } } };
const FOUNDERS = { a: 'prosumer', b: 'consumer', c: 'producer', d: 'consumer' } as const;
const codes = (rs: Receipt[]) => rs.map((r) => (r.ok ? 'ok' : r.code));

/** The joiner's own admit (seq 0) presenting `invite`. */
function admit(c: TestChain, joiner: string, invite: EndorsedInvite, role: Role = invite.role): DecodedTx {
  const s = c.signer(joiner);
  return c.tx(joiner, 'admit', { member: s.id, pub: s.publicKey, role, invite }, 0);
}

describe('endorsed invites: the admit under M-of-N', () => {
  it('M grants from distinct current voters admit the joiner as a learner, once', async () => {
    const c = await TestChain.create(FOUNDERS, THREE);
    expect(grantsNeeded(c.state)).toBe(3);
    const invite = c.endorsedInvite('joe', 'producer', HOUR, ['a', 'b', 'operator']);
    // It decodes (before: `malformed`, an invite with `sigs` was no invite) and applies.
    expect(decodeTx(admit(c, 'joe', invite).bytes, c.state.chain_id, nobleVerifier).body.kind).toBe('admit');
    const r = c.block([admit(c, 'joe', invite)], 1000);
    expect(codes(r.receipts)).toEqual(['ok']);
    expect(c.state.members.get(c.id('joe'))).toMatchObject({ role: 'producer', voter: false, removed: false, seq: 1 });
    expect(c.state.used_invites.has(Buffer.from(invite.pub).toString('hex'))).toBe(true);
    // Reused, by the same joiner or (the link shared) by another key: the one-time key is spent.
    expect(codes(c.block([admit(c, 'joe', invite), admit(c, 'kim', c.endorsedInvite('kim', 'producer', HOUR, ['a', 'b', 'operator']))], 2000).receipts)).toEqual(['replayed_seq', 'invite_used']);
  });

  it('refuses M-1 grants (grants_short), counting the voters of the moment', async () => {
    const c = await TestChain.create(FOUNDERS, THREE);
    expect(codes(c.block([admit(c, 'joe', c.endorsedInvite('joe', 'consumer', HOUR, ['a', 'b']))], 1000).receipts)).toEqual(['grants_short']);
    // A two-voter grid under 3-of-N needs both (min(M, n)).
    const small = await TestChain.create({ a: 'consumer' }, THREE);
    expect(grantsNeeded(small.state)).toBe(2);
    expect(codes(small.block([admit(small, 'joe', small.endorsedInvite('joe', 'consumer', HOUR, ['a']))], 1000).receipts)).toEqual(['grants_short']);
    expect(codes(small.block([admit(small, 'joe', small.endorsedInvite('joe', 'consumer', HOUR, ['a', 'operator'], 2))], 2000).receipts)).toEqual(['ok']);
  });

  it('refuses a duplicate grantor, an unsorted set, a forged grant, another role', async () => {
    const c = await TestChain.create(FOUNDERS, THREE);
    const good = c.endorsedInvite('joe', 'consumer', HOUR, ['a', 'b', 'c']);
    const dup = { ...good, sigs: [good.sigs[0]!, good.sigs[0]!, good.sigs[1]!] };
    const unsorted = { ...good, sigs: [...good.sigs].reverse() };
    const forged = { ...good, sigs: good.sigs.map((g, i) => (i === 0 ? { ...g, sig: c.signer('forger').signSync(new Uint8Array(8)) } : g)) };
    const r = c.block([admit(c, 'joe', dup), admit(c, 'joe', unsorted), admit(c, 'joe', forged), admit(c, 'joe', good, 'producer')], 1000);
    expect(codes(r.receipts)).toEqual(['bad_invite', 'bad_invite', 'bad_invite', 'bad_invite']);
    expect(r.receipts.map((x) => (x.ok ? '' : x.reason))).toEqual([
      expect.stringMatching(/sorted by member id, one per member/),
      expect.stringMatching(/sorted/),
      expect.stringMatching(/does not verify/),
      expect.stringMatching(/role differs/),
    ]);
    expect(c.state.members.has(c.id('joe'))).toBe(false);
  });

  it('refuses a grant from a non-member, a learner, or a member removed since (not_voter)', async () => {
    const c = await TestChain.create(FOUNDERS, THREE);
    expect(codes(c.block([admit(c, 'joe', c.endorsedInvite('joe', 'consumer', HOUR, ['a', 'b', 'stranger']))], 1000).receipts)).toEqual(['not_voter']);
    // d granted, then d is removed by vote (3 of the 4 voters besides d).
    const byD = c.endorsedInvite('joe', 'consumer', HOUR, ['a', 'b', 'd'], 2);
    c.block([c.tx('a', 'propose_removal', { member: c.id('d'), expires_ms: HOUR }), c.tx('b', 'endorse', { request: 1 }), c.tx('c', 'endorse', { request: 1 })], 2000);
    expect(c.state.members.get(c.id('d'))!.removed).toBe(true);
    expect(codes(c.block([admit(c, 'joe', byD)], 3000).receipts)).toEqual(['not_voter']);
    // A learner (admitted, not promoted) does not grant either.
    c.block([admit(c, 'kim', c.endorsedInvite('kim', 'consumer', HOUR, ['a', 'b', 'c'], 3))], 4000);
    expect(c.state.members.get(c.id('kim'))!.voter).toBe(false);
    expect(codes(c.block([admit(c, 'joe', c.endorsedInvite('joe', 'consumer', HOUR, ['a', 'b', 'kim'], 4))], 5000).receipts)).toEqual(['not_voter']);
    // Three current voters still admit joe.
    expect(codes(c.block([admit(c, 'joe', c.endorsedInvite('joe', 'consumer', HOUR, ['a', 'c', 'operator'], 5))], 6000).receipts)).toEqual(['ok']);
  });

  it('refuses an expired invite, and one bound to another key', async () => {
    const c = await TestChain.create(FOUNDERS, THREE);
    const invite = c.endorsedInvite('joe', 'consumer', 10_000, ['a', 'b', 'c']);
    // Seen on the wire and presented by eve: the proof binds joe's key.
    expect(codes(c.block([admit(c, 'eve', invite)], 1000).receipts)).toEqual(['bad_invite']);
    expect(codes(c.block([admit(c, 'joe', invite)], 20_000).receipts)).toEqual(['invite_expired']);
    expect(c.state.members.has(c.id('joe'))).toBe(false);
    expect(c.state.members.has(c.id('eve'))).toBe(false);
  });

  it('on a grid the operator admits, an endorsed invite is refused and the operator\'s v2 invite stays the way', async () => {
    const c = await TestChain.create(FOUNDERS);
    expect(grantsNeeded(c.state)).toBeNull();
    const endorsed = c.endorsedInvite('joe', 'consumer', HOUR, ['a', 'b', 'c', 'd', 'operator']);
    expect(codes(c.block([admit(c, 'joe', endorsed)], 1000).receipts)).toEqual(['not_permitted']);
    const v2 = c.invite('joe', 'consumer', HOUR, 9);
    expect(codes(c.block([c.tx('joe', 'admit', { member: c.id('joe'), pub: c.signer('joe').publicKey, role: 'consumer', invite: v2 }, 0)], 2000).receipts)).toEqual(['ok']);
    // And under M-of-N the operator's v2 invite is refused, as before.
    const m = await TestChain.create(FOUNDERS, THREE);
    const v2m = m.invite('joe', 'consumer', HOUR, 9);
    expect(codes(m.block([m.tx('joe', 'admit', { member: m.id('joe'), pub: m.signer('joe').publicKey, role: 'consumer', invite: v2m }, 0)], 1000).receipts)).toEqual(['not_permitted']);
  });

  it('preflight gives the receipt\'s code, in words', async () => {
    const c = await TestChain.create(FOUNDERS, THREE);
    const joe = c.signer('joe');
    const body = (invite: EndorsedInvite) => ({ v: 1, chain: c.state.chain_id, kind: 'admit' as const, from: joe.id, seq: 0, member: joe.id, pub: joe.publicKey, role: 'consumer' as const, invite });
    const short = preflight(c.state, body(c.endorsedInvite('joe', 'consumer', HOUR, ['a', 'b'])));
    expect(short).toMatchObject({ ok: false, code: 'grants_short' });
    expect(preflight(c.state, body(c.endorsedInvite('joe', 'consumer', HOUR, ['a', 'b', 'c'])))).toMatchObject({ ok: true });
  });
});

describe('endorsed invites: reading (the present pass)', () => {
  it('a joiner reads under M-of-N with an endorsed invite bound to its key; not with M-1 grants, another key, or under the operator', async () => {
    const c = await TestChain.create(FOUNDERS, THREE);
    const right = (name: string, invite: EndorsedInvite) => readRight(c.state, c.id(name), c.signer(name).publicKey, { kind: 'invite', invite }, nobleVerifier);
    const invite = c.endorsedInvite('joe', 'consumer', 10_000, ['a', 'b', 'c']);
    expect(right('joe', invite)).toEqual({ ok: true, as: 'invite' });
    expect(right('eve', invite).ok).toBe(false);
    expect(right('joe', c.endorsedInvite('joe', 'consumer', 10_000, ['a', 'b'], 2))).toMatchObject({ ok: false, reason: expect.stringMatching(/3 are needed/) });
    // The operator's v2 invite is no pass here (as before).
    expect(readRight(c.state, c.id('joe'), c.signer('joe').publicKey, { kind: 'invite', invite: c.invite('joe', 'consumer', 10_000, 3) }, nobleVerifier).ok).toBe(false);
    c.block([], 20_000);
    expect(right('joe', invite)).toMatchObject({ ok: false, reason: expect.stringMatching(/expired/) });
    const op = await TestChain.create(FOUNDERS);
    const opInvite = op.endorsedInvite('joe', 'consumer', 10_000, ['a', 'b', 'c']);
    expect(readRight(op.state, op.id('joe'), op.signer('joe').publicKey, { kind: 'invite', invite: opInvite }, nobleVerifier)).toMatchObject({ ok: false, reason: expect.stringMatching(/operator/) });
  });
});

describe('endorsed invites: size', () => {
  it('an admit with the most grants and the longest name fits a transaction; one grant more does not decode', async () => {
    const names = Array.from({ length: 11 }, (_, i) => `m${i}`);
    const c = await TestChain.create(Object.fromEntries(names.map((n) => [n, 'consumer'])), { admission: { m_of_n: { m: 10 } } });
    const joe = c.signer('joe');
    const ten = c.endorsedInvite('joe', 'prosumer', 2 ** 52, names.slice(0, 10));
    const tx = c.tx('joe', 'admit', { member: joe.id, pub: joe.publicKey, role: 'prosumer', invite: ten, name: '𝔸'.repeat(40) }, 0);
    expect(tx.bytes.length).toBeLessThanOrEqual(LIMITS.tx_max_bytes);
    expect(codes(c.block([tx], 1000).receipts)).toEqual(['ok']);
    const eleven = c.endorsedInvite('kim', 'consumer', 2 ** 52, names, 2);
    expect(() => c.tx('kim', 'admit', { member: c.id('kim'), pub: c.signer('kim').publicKey, role: 'consumer', invite: eleven }, 0)).toThrow(/grants/);
  });
});

describe('endorsed invites: the replica’s entry check', () => {
  it('takes a stranger’s admit with an endorsed invite under M-of-N only; checks it before the mempool', async () => {
    const { Replica } = await import('../../src/core/replica.js');
    const { createGenesis } = await import('../../src/core/genesis.js');
    const { signTxSync } = await import('../../src/core/tx.js');
    const { gridParams } = await import('../../src/core/params.js');
    const { NobleSigner } = await import('../../src/core/keys.js');
    const { endorsedInviteKey, grantEndorsedInvite, redeemEndorsedInvite } = await import('../../src/core/endorsed-invite.js');
    const op = NobleSigner.fromSeed('entry-operator');
    const make = async (params: Partial<GridParams>) => {
      const genesis = await createGenesis(op, { name: 'entry', time_ms: 0, params: gridParams(params) });
      return new Replica({ genesis, id: op.id, verifier: nobleVerifier, rand: () => 0 });
    };
    const present = (r: InstanceType<typeof Replica>, seed: string, fill: number, granter = op) => {
      const s = NobleSigner.fromSeed(seed);
      const { key, pub } = endorsedInviteKey(new Uint8Array(48).fill(fill));
      const grant = grantEndorsedInvite(r.chain_id, granter.id, pub, 'consumer', HOUR, (m) => granter.signSync(m));
      const invite = redeemEndorsedInvite(r.chain_id, key, 'consumer', HOUR, [grant], s.publicKey);
      const body = { v: 1, chain: r.chain_id, kind: 'admit', from: s.id, seq: 0, member: s.id, pub: s.publicKey, role: 'consumer', invite } as const;
      return r.submit(signTxSync(body as never, s).bytes, 0);
    };
    // A new grid under 3-of-N has one voter, its operator: its grant is enough (min(M, n)).
    const byVote = await make(THREE);
    expect(present(byVote, 'j1', 1)).toMatchObject({ ok: true });
    expect(present(byVote, 'j2', 2, NobleSigner.fromSeed('not-a-voter'))).toMatchObject({ ok: false, code: 'not_voter' });
    expect(present(await make({}), 'j3', 3)).toMatchObject({ ok: false, code: 'not_permitted' });
  });
});

describe('endorsed invites: the present frame', () => {
  it('carries an endorsed invite as a read pass; a malformed grant list is refused', async () => {
    const { decodeFrame, encodeFrame } = await import('../../src/net/wire.js');
    const c = await TestChain.create(FOUNDERS, THREE);
    const invite = c.endorsedInvite('joe', 'consumer', HOUR, ['a', 'b', 'c']);
    const back = decodeFrame(encodeFrame({ t: 'present', pass: { kind: 'invite', invite } }));
    expect(back).toMatchObject({ t: 'present', pass: { kind: 'invite', invite: { sigs: [{ member: invite.sigs[0]!.member }, {}, {}] } } });
    const pass = (back as { pass: { kind: 'invite'; invite: EndorsedInvite } }).pass;
    expect(readRight(c.state, c.id('joe'), c.signer('joe').publicKey, pass, nobleVerifier)).toEqual({ ok: true, as: 'invite' });
    expect(() => decodeFrame(encodeFrame({ t: 'present', pass: { kind: 'invite', invite: { ...invite, sigs: [] } } }))).toThrow();
    expect(() => decodeFrame(encodeFrame({ t: 'present', pass: { kind: 'invite', invite: { ...invite, sigs: [{ ...invite.sigs[0]!, extra: 1 } as never] } } }))).toThrow();
  });
});

describe('endorsed invites: the tokens members hand each other, and the link', () => {
  it('grant request → grants → link → the joiner’s admit; damaged tokens are refused', async () => {
    const m = await import('../../src/core/endorsed-invite.js');
    const { decodeInviteLink } = await import('../../src/core/invite.js');
    const c = await TestChain.create(FOUNDERS, THREE);
    const chain = c.state.chain_id;
    const { key, pub } = m.endorsedInviteKey(new Uint8Array(48).fill(7));
    const req = m.decodeGrantRequest(m.encodeGrantRequest({ v: 1, chain, pub, role: 'prosumer', expires_ms: HOUR }));
    const grants = ['c', 'a', 'b'].map((n) => m.decodeGrant(m.encodeGrant(m.grantEndorsedInvite(req.chain, c.id(n), req.pub, req.role, req.expires_ms, (x) => c.signer(n).signSync(x)))));
    for (const g of grants) expect(m.grantProblem(c.state, req, g, nobleVerifier)).toBeNull();
    expect(m.grantProblem(c.state, req, { ...grants[0]!, member: c.id('d') }, nobleVerifier)).toMatch(/not for this invite/);
    expect(m.grantProblem(c.state, req, { ...grants[0]!, member: c.id('eve') }, nobleVerifier)).toMatch(/not from a current voter/);
    const sigs = [...grants].sort((x, y) => (x.member < y.member ? -1 : 1));
    const bytes = m.encodeEndorsedLink({ v: 3, key, role: 'prosumer', expires_ms: HOUR, sigs });
    // A v2-only reader refuses it; the reader of either kind takes it.
    expect(() => decodeInviteLink(bytes)).toThrow();
    const link = m.decodeAnyInviteLink(bytes);
    expect(link.v).toBe(3);
    const invite = m.redeemAnyInvite(chain, link, c.signer('joe').publicKey) as EndorsedInvite;
    expect(codes(c.block([admit(c, 'joe', invite)], 1000).receipts)).toEqual(['ok']);
    // A v2 link still reads as v2.
    const v2 = m.decodeAnyInviteLink((await import('../../src/core/invite.js')).createInviteLinkSync(chain, new Uint8Array(48).fill(8), 'consumer', HOUR, (x) => c.operator.signSync(x)));
    expect(v2.v).toBe(2);
    expect(() => m.decodeAnyInviteLink(bytes.slice(0, -3))).toThrow();
    expect(() => m.decodeGrantRequest(bytes)).toThrow(/grant request/);
    expect(() => m.decodeGrant(m.encodeGrantRequest(req))).toThrow(/grant/);
  });
});

describe('endorsed invites: the voters’ nodes (node/voter-invites.ts)', () => {
  it('one voter starts, two grant, the starter gets a link the joiner admits itself with; non-voters and strangers’ grants are refused', async () => {
    const { VoterInvites } = await import('../../src/node/voter-invites.js');
    const { fromBase64url } = await import('../../src/node/types.js');
    const m = await import('../../src/core/endorsed-invite.js');
    const c = await TestChain.create(FOUNDERS, THREE);
    // A node's context, as far as the desk reads it: this chain's state, a real key, a real verifier.
    const nodeOf = (name: string) => {
      const s = c.signer(name);
      const ctx = { id: s.id, replica: { get state() { return c.state; } }, signer: { sign: async (x: Uint8Array) => s.signSync(x) }, verifier: nobleVerifier };
      return new VoterInvites(ctx as never);
    };
    const [a, b, d] = [nodeOf('a'), nodeOf('b'), nodeOf('d')];
    const started = await a.start('producer', HOUR);
    expect(started).toMatchObject({ grants: 1, needed: 3, link: null, role: 'producer' });
    await expect(nodeOf('eve').grant(started.request)).rejects.toThrow(/voting member/);
    await expect(b.grant('garbage')).rejects.toThrow(/not a grant request/);
    const fromB = await b.grant(started.request);
    expect(a.add(started.id, fromB.token)).toMatchObject({ grants: 2, link: null });
    // The same grant twice counts once; a grant for another invite is refused.
    expect(a.add(started.id, fromB.token)).toMatchObject({ grants: 2 });
    const other = await d.start('consumer', HOUR);
    expect(() => a.add(started.id, 'x')).toThrow(/not a grant/);
    const forOther = (await nodeOf('c').grant(other.request)).token;
    expect(() => a.add(started.id, forOther)).toThrow(/not for this invite/);
    const done = a.add(started.id, (await d.grant(started.request)).token);
    expect(done).toMatchObject({ grants: 3, needed: 3 });
    const link = m.decodeAnyInviteLink(fromBase64url(done.link!));
    const invite = m.redeemAnyInvite(c.state.chain_id, link, c.signer('joe').publicKey) as EndorsedInvite;
    expect(codes(c.block([admit(c, 'joe', invite)], 1000).receipts)).toEqual(['ok']);
    expect(c.state.members.get(c.id('joe'))!.role).toBe('producer');
  });
});
