// The autopilot (issue 12): the pure policy (who is demoted, who is promoted, when), the
// ledger's rules for `demote` and the voter cap, and real replicas doing it: voters that go
// silent are demoted one at a time down to three, and come back as learners that are promoted.
import { describe, expect, it } from 'vitest';
import { autopilotConfig, ContactLog, decideAutopilot, type AutopilotConfig } from '../../src/core/autopilot.js';
import { DEFAULT_PARAMS, RULE1_PARAMS, checkParams, gridParams, type GridParams } from '../../src/core/params.js';
import { votersOf } from '../../src/core/ledger.js';
import { TestChain } from '../helpers/chain.js';
import { ReplicaNet } from '../helpers/replica-net.js';

const CFG: AutopilotConfig = { max_voters: 5, absent_ms: 1000, stable_ms: 100, gap_ms: 50, min_voters: 3, commit_quorum: 'majority' };

/** A contact log where each member in `heard` was last heard at that time (and connected since `since`). */
function log(term: number, start_ms: number, heard: Record<string, number | [since: number, last: number]>): ContactLog {
  const c = new ContactLog();
  c.lead(term, start_ms);
  for (const [id, t] of Object.entries(heard)) {
    if (typeof t === 'number') c.heard(term, id, t, CFG.gap_ms);
    else for (let at = t[0]; at <= t[1]; at += 10) c.heard(term, id, at, CFG.gap_ms);
  }
  return c;
}

describe('autopilot: the policy', () => {
  it('takes its parameters from the genesis, and the defaults where an older genesis has none', () => {
    expect(autopilotConfig(DEFAULT_PARAMS)).toMatchObject({ max_voters: 7, absent_ms: 60_000, stable_ms: 3000, gap_ms: 1500, min_voters: 3 });
    expect(autopilotConfig(RULE1_PARAMS)).toMatchObject({ max_voters: 7, absent_ms: 60_000 });
    expect(autopilotConfig(gridParams({ max_voters: 10, voter_absent_ms: 40_000 }))).toMatchObject({ max_voters: 10, absent_ms: 40_000, stable_ms: 2000, gap_ms: 1000 });
    // A short threshold keeps a stabilization time of ten browser heartbeats (at 1/20 of 8 s,
    // a break of 200 ms, two heartbeats, would restart it).
    expect(autopilotConfig(gridParams({ voter_absent_ms: 8000 }))).toMatchObject({ absent_ms: 8000, stable_ms: 1000, gap_ms: 500 });
    expect(autopilotConfig(gridParams({ voter_absent_ms: 1000 }))).toMatchObject({ absent_ms: 1000, stable_ms: 1000, gap_ms: 500 });
    const bad: [Partial<Record<keyof GridParams, unknown>>, RegExp][] = [
      [{ max_voters: 0 }, /max_voters/],
      [{ max_voters: 1.5 }, /max_voters/],
      [{ max_voters: null }, /max_voters/],
      [{ max_voters: 1001 }, /max_voters/],
      [{ voter_absent_ms: 999 }, /voter_absent_ms/],
      [{ voter_absent_ms: '60000' }, /voter_absent_ms/],
      [{ voter_absent_ms: 8 * 24 * 3600 * 1000 }, /voter_absent_ms/],
    ];
    for (const [patch, re] of bad) expect(checkParams({ ...DEFAULT_PARAMS, ...patch } as GridParams)).toMatch(re);
    expect(checkParams(gridParams({ max_voters: 1, voter_absent_ms: 1000 }))).toBeNull();
  });

  it('demotes the voter silent longest, once it is silent past the threshold, never the leader itself', () => {
    const voters = ['L', 'a', 'b', 'c', 'd'];
    const view = (now_ms: number, contact: ContactLog) => ({ now_ms, self: 'L', voters, learners: [], contact });
    // c silent since 0, d since 500: at 1400 only c is past 1000 ms; at 1600 both are, c longer.
    const c1 = log(1, 0, { a: 1390, b: 1390, d: 500 });
    expect(decideAutopilot(CFG, view(1400, c1))).toMatchObject({ kind: 'demote', member: 'c' });
    expect(decideAutopilot(CFG, view(900, log(1, 0, { a: 890, b: 890 })))).toBeNull(); // nobody past the threshold yet
    // The leader is never demoted by itself, however long since it "heard" itself.
    expect(decideAutopilot(CFG, view(5000, log(1, 0, { a: 4990, b: 4990, c: 4990, d: 4990 })))).toBeNull();
  });

  it('a new leader counts everyone as heard at the start of its term', () => {
    const c = log(1, 0, { a: 100, b: 100, d: 100 }); // c never answered in term 1
    c.lead(2, 5000); // leads again in term 2: a clean slate
    for (const id of ['a', 'b', 'd']) c.heard(2, id, 5900, CFG.gap_ms);
    const view = (now_ms: number) => ({ now_ms, self: 'L', voters: ['L', 'a', 'b', 'c', 'd'], learners: [], contact: c });
    expect(decideAutopilot(CFG, view(5900))).toBeNull();
    for (const id of ['a', 'b', 'd']) c.heard(2, id, 6010, CFG.gap_ms);
    expect(decideAutopilot(CFG, view(6010))).toMatchObject({ kind: 'demote', member: 'c' });
  });

  it('never below three voters, and only while the voters heard recently make a commit quorum', () => {
    expect(decideAutopilot(CFG, { now_ms: 5000, self: 'L', voters: ['L', 'a', 'b'], learners: [], contact: log(1, 0, { a: 4990 }) })).toBeNull();
    // 5 voters, 2 silent for long and 1 for 200 ms (past stable_ms): only 2 heard recently, no quorum.
    const noQuorum = log(1, 0, { a: 4990, b: 4800 });
    expect(decideAutopilot(CFG, { now_ms: 5000, self: 'L', voters: ['L', 'a', 'b', 'c', 'd'], learners: [], contact: noQuorum })).toBeNull();
    const quorum = log(1, 0, { a: 4990, b: 4990 });
    expect(decideAutopilot(CFG, { now_ms: 5000, self: 'L', voters: ['L', 'a', 'b', 'c', 'd'], learners: [], contact: quorum })?.kind).toBe('demote');
    // Two thirds of 5 is 4: three heard recently are not enough.
    expect(decideAutopilot({ ...CFG, commit_quorum: 'two_thirds' }, { now_ms: 5000, self: 'L', voters: ['L', 'a', 'b', 'c', 'd'], learners: [], contact: quorum })).toBeNull();
  });

  it('promotes a caught-up learner connected for the stabilization time, the longest-connected first, below the target', () => {
    const voters = ['L', 'a', 'b'];
    // x connected since 800, y since 850, z since 700 but behind; w connected long ago but silent now.
    const c = log(1, 0, { a: [0, 1000], b: [0, 1000], x: [800, 1000], y: [850, 1000], z: [700, 1000], w: [0, 900] });
    const learners = [{ id: 'y', caught_up: true }, { id: 'x', caught_up: true }, { id: 'z', caught_up: false }, { id: 'w', caught_up: true }];
    expect(decideAutopilot(CFG, { now_ms: 1000, self: 'L', voters, learners, contact: c })).toMatchObject({ kind: 'promote', member: 'x' });
    // y alone: connected for 150 ms at 1000 (stable), for 50 ms at 900 (not yet).
    expect(decideAutopilot(CFG, { now_ms: 1000, self: 'L', voters, learners: [{ id: 'y', caught_up: true }], contact: c })?.member).toBe('y');
    const early = log(1, 0, { a: [0, 900], b: [0, 900], y: [850, 900] });
    expect(decideAutopilot(CFG, { now_ms: 900, self: 'L', voters, learners: [{ id: 'y', caught_up: true }], contact: early })).toBeNull();
    // At the target: nobody is promoted.
    expect(decideAutopilot(CFG, { now_ms: 1000, self: 'L', voters: ['L', 'a', 'b', 'c', 'd'], learners, contact: c })).toBeNull();
  });

  it('a break in contact longer than the gap restarts the stabilization time', () => {
    const c = log(1, 0, { a: [0, 2000], b: [0, 2000], x: [0, 1000] });
    c.heard(1, 'x', 1100, CFG.gap_ms); // 100 ms of silence > gap: connected since 1100 now
    const at = (now_ms: number) => decideAutopilot(CFG, { now_ms, self: 'L', voters: ['L', 'a', 'b'], learners: [{ id: 'x', caught_up: true }], contact: c });
    expect(at(1150)).toBeNull();
    for (let t = 1110; t <= 1200; t += 10) c.heard(1, 'x', t, CFG.gap_ms);
    expect(at(1200)).toMatchObject({ kind: 'promote', member: 'x' });
    c.forget(new Set(['a', 'b']));
    expect(c.size).toBe(2);
    expect(at(1200)).toBeNull();
  });

  it('demotes before it promotes (a silent voter is replaced, not added to)', () => {
    const c = log(1, 0, { a: [0, 3000], b: [0, 3000], c: [0, 3000], x: [0, 3000] });
    const v = { now_ms: 3000, self: 'L', voters: ['L', 'a', 'b', 'c', 'd'], learners: [{ id: 'x', caught_up: true }], contact: c };
    expect(decideAutopilot({ ...CFG, max_voters: 7 }, v)).toMatchObject({ kind: 'demote', member: 'd' });
    expect(decideAutopilot({ ...CFG, max_voters: 7 }, { ...v, voters: ['L', 'a', 'b', 'c'] })).toMatchObject({ kind: 'promote', member: 'x' });
  });
});

describe('autopilot: the ledger', () => {
  it('demote: only the leader (the block proposer, a voter), of another current voter, never below three', async () => {
    const c = await TestChain.create({ a: 'consumer', b: 'producer', d: 'prosumer', e: 'consumer' });
    const codes = (r: { receipts: { ok: boolean; code?: string }[] }) => r.receipts.map((x) => (x.ok ? 'ok' : x.code));
    // Signed by a voter that did not propose the block (the operator did).
    expect(codes(c.block([c.tx('a', 'demote', { member: c.id('e') })], 1000))).toEqual(['not_permitted']);
    // The proposer itself: not of itself; not of a learner or a stranger.
    const stranger = c.signer('stranger').id;
    c.block([c.tx('operator', 'admit', { member: c.id('f'), pub: c.signer('f').publicKey, role: 'consumer', invite: null })], 1500);
    expect(codes(c.block([c.tx('a', 'demote', { member: c.id('a') }), c.tx('a', 'demote', { member: c.id('f') }), c.tx('a', 'demote', { member: stranger })], 2000, 1, 'a'))).toEqual([
      'not_permitted',
      'not_voter',
      'unknown_member',
    ]);
    expect(votersOf(c.state).size).toBe(5);
    expect(codes(c.block([c.tx('a', 'demote', { member: c.id('e') }), c.tx('a', 'demote', { member: c.id('d') }), c.tx('a', 'demote', { member: c.id('b') })], 3000, 1, 'a'))).toEqual([
      'ok',
      'ok',
      'voters_min',
    ]);
    expect(votersOf(c.state).size).toBe(3);
    expect(c.state.members.get(c.id('e'))).toMatchObject({ voter: false, removed: false });
    // A learner that is not a voter cannot demote, even in its own block (it could not propose one).
    expect(codes(c.block([c.tx('e', 'demote', { member: c.id('b') })], 4000, 1, 'e'))).toEqual(['not_permitted']);
    // Demoted, it can be promoted again.
    expect(codes(c.block([c.tx('operator', 'promote', { member: c.id('e') })], 5000))).toEqual(['ok']);
  });

  it('promote: refused at max_voters when the genesis names it; chains without it replay as made (no cap)', async () => {
    const capped = await TestChain.create({ a: 'consumer' }, { max_voters: 3 });
    const admit = (c: TestChain, name: string, t: number) => c.block([c.tx('operator', 'admit', { member: c.id(name), pub: c.signer(name).publicKey, role: 'consumer', invite: null })], t);
    admit(capped, 'x', 1000);
    admit(capped, 'y', 2000);
    expect(capped.block([capped.tx('operator', 'promote', { member: capped.id('x') })], 3000).receipts[0]).toMatchObject({ ok: true });
    expect(capped.block([capped.tx('operator', 'promote', { member: capped.id('y') })], 4000).receipts[0]).toMatchObject({ ok: false, code: 'voters_full' });
    const old = await TestChain.create({ a: 'consumer' }, {}, 0, RULE1_PARAMS);
    expect(Object.hasOwn(old.state.params, 'max_voters')).toBe(false);
    for (const [i, name] of ['x', 'y', 'z', 'u', 'v', 'w', 's'].entries()) {
      admit(old, name, 1000 + i * 20);
      expect(old.block([old.tx('operator', 'promote', { member: old.id(name) })], 1010 + i * 20).receipts[0]).toMatchObject({ ok: true });
    }
    expect(votersOf(old.state).size).toBe(9);
  });
});

describe('autopilot: replicas', () => {
  /** Ticks (10 ms each) until `cond` holds, at most `max` of them. */
  function tickUntil(net: ReplicaNet, cond: () => boolean, max = 1000): number {
    for (let t = 0; t < max; t++) {
      if (cond()) return t;
      net.tick();
    }
    throw new Error(`not within ${max} ticks`);
  }
  const votersOn = (net: ReplicaNet, i: number) => votersOf(net.replica(i).state);

  it('silent voters are demoted one at a time down to three; returning ones catch up as learners and are promoted again', async () => {
    const net = await ReplicaNet.create(5, { autopilot: true, params: { max_voters: 5, voter_absent_ms: 1000 } });
    net.elect(0);
    expect(net.leader()).toBe(net.ids[0]);
    net.crash(net.ids[4]!);
    net.crash(net.ids[3]!);
    // Nothing before the threshold (100 ticks of 10 ms)...
    net.tick(90);
    expect(votersOn(net, 0).size).toBe(5);
    // ...then the one silent longest (n4 and n3 went together: the smaller id first), then the other.
    tickUntil(net, () => votersOn(net, 0).size === 3, 300);
    expect(net.autopilotLog.map((x) => x.kind)).toEqual(['demote', 'demote']);
    expect(new Set(net.autopilotLog.map((x) => x.member))).toEqual(new Set([net.ids[3], net.ids[4]]));
    // Three voters: a third one going silent is not demoted, and 2 of 3 still commit.
    net.crash(net.ids[2]!);
    net.tick(300);
    expect(votersOn(net, 0).size).toBe(3);
    const before = net.replica(0).raft.commit;
    net.submit(1, { kind: 'rename', name: 'still here' });
    net.tick(5);
    expect(net.replica(0).raft.commit).toBeGreaterThan(before);
    expect(net.replica(1).state.members.get(net.ids[1]!)!.name).toBe('still here');
    // n4 returns with its old log (it thinks it votes): it catches up, learns it was demoted and is promoted again.
    net.boot(net.ids[4]!);
    tickUntil(net, () => votersOn(net, 0).has(net.ids[4]!), 300);
    expect(net.replica(4).raft.isVoter()).toBe(true);
    expect(net.replica(4).raft.commit).toBe(net.replica(0).raft.commit);
    // Now n2 (a voter silent for long) can be demoted, and n3 returns and is promoted.
    tickUntil(net, () => !votersOn(net, 0).has(net.ids[2]!), 300);
    net.boot(net.ids[3]!);
    tickUntil(net, () => votersOn(net, 0).size === 4 && votersOn(net, 0).has(net.ids[3]!), 300);
    expect(net.autopilotLog.map((x) => x.kind)).toEqual(['demote', 'demote', 'promote', 'demote', 'promote']);
    // Only the leader signed them, and every replica that is up holds the same voters.
    expect(new Set(net.autopilotLog.map((x) => x.leader))).toEqual(new Set([net.ids[0]]));
    net.tick(20);
    for (const i of [1, 3, 4]) expect([...votersOn(net, i).keys()].sort()).toEqual([...votersOn(net, 0).keys()].sort());
  });

  it('promotes learners up to max_voters only, and never an auditor', async () => {
    const net = await ReplicaNet.create(3, { autopilot: true, params: { max_voters: 4, voter_absent_ms: 1000 } });
    net.elect(0);
    const joiners = ['j1', 'j2'].map((seed) => net.addNode(seed));
    const aud = net.addNode('aud');
    net.submit(0, { kind: 'admit', member: aud.id, pub: aud.publicKey, role: 'auditor', invite: null });
    for (const j of joiners) {
      net.submit(0, { kind: 'admit', member: j.id, pub: j.publicKey, role: 'consumer', invite: null });
      net.tick(5);
    }
    tickUntil(net, () => votersOn(net, 0).size === 4, 200);
    net.tick(200);
    expect(votersOn(net, 0).size).toBe(4);
    expect(votersOn(net, 0).has(aud.id)).toBe(false);
    expect(net.autopilotLog.filter((x) => x.kind === 'promote')).toHaveLength(1);
  });
});
