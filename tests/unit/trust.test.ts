// The trust boundary of the core, attacked as issue 11 describes: an outsider (its own key,
// not a member) or a buggy member sends forged consensus traffic to real replicas. Each test
// names the attack; every one of them succeeded against the code before the boundary existed.
import { describe, expect, it } from 'vitest';
import { NobleSigner } from '../../src/core/keys.js';
import { ackMessage } from '../../src/core/block.js';
import { fromHex } from '../../src/core/bytes.js';
import type { Entry, Message } from '../../src/core/raft/types.js';
import type { Envelope } from '../../src/core/replica.js';
import { forgeEntry, ReplicaNet, TEN_YEARS_MS } from '../helpers/replica-net.js';

const outsider = NobleSigner.fromSeed('outsider');

type Fields = Message extends infer M ? (M extends Message ? Omit<M, 'from' | 'to'> & { from?: string } : never) : never;

function raft(to: string, msg: Fields): Envelope {
  const from = msg.from ?? outsider.id;
  return { kind: 'raft', from, to, msg: { ...msg, from, to } as Message };
}

/** Every block any live node committed, with its proposer and time. */
function committedBlocks(net: ReplicaNet): { node: string; entry: Entry }[] {
  return [...net.applied.entries()].flatMap(([node, entries]) => entries.map((entry) => ({ node, entry })));
}

async function runningGrid(n = 3, opts: Parameters<typeof ReplicaNet.create>[1] = {}): Promise<ReplicaNet> {
  const net = await ReplicaNet.create(n, opts);
  net.elect(0);
  net.submit(0, { kind: 'mint', to: net.ids[1], amount: 100, ref: 'deposit' });
  net.tick(3);
  expect(net.leader()).toBe(net.ids[0]);
  return net;
}

describe('attack 1: an outsider cannot lead', () => {
  it('one forged append to each node commits no outsider block dated ten years ahead', async () => {
    const net = await runningGrid();
    const term = net.replica(0).raft.term;
    for (const id of net.ids) {
      const r = net.replica(id);
      const tip = r.raft.lastEntry();
      const e = forgeEntry(outsider, r.chain_id, tip, { term: term + 1, time_ms: net.now + TEN_YEARS_MS });
      net.inject(raft(id, { type: 'append', term: term + 1, prev_index: tip.index, prev_term: tip.term, entries: [e], commit: e.index }));
    }
    net.tick(30);
    expect(committedBlocks(net).filter((b) => b.entry.block!.header.proposer === outsider.id)).toEqual([]);
    expect(net.leader()).toBe(net.ids[0]);
    expect(net.replica(1).raft.term).toBe(term);
    for (const id of net.ids) expect(net.replica(id).droppedByReason()).toMatchObject({ leader_not_voter: 1 });
  });

  it('a voter\'s append naming an outsider, or with a block of its term it did not propose, is refused', async () => {
    const net = await runningGrid();
    const r1 = net.replica(1);
    const term = r1.raft.term;
    const tip = r1.raft.lastEntry();
    // The outsider names n0 as the sender: the transport says otherwise.
    net.inject({ kind: 'raft', from: outsider.id, to: net.ids[1]!, msg: { type: 'heartbeat', from: net.ids[0]!, to: net.ids[1]!, term: term + 1, commit: 0 } });
    expect(r1.droppedByReason()).toMatchObject({ spoofed_sender: 1 });
    // n2, a voter but not the leader of this term, relays the outsider's block as its own term's.
    const e = forgeEntry(outsider, r1.chain_id, tip, { term: term + 1, time_ms: net.now });
    net.inject(raft(net.ids[1]!, { from: net.ids[2], type: 'append', term: term + 1, prev_index: tip.index, prev_term: tip.term, entries: [e], commit: e.index }));
    expect(r1.raft.log[e.index]?.hash).not.toBe(e.hash);
    expect(r1.droppedByReason()).toMatchObject({ proposer_not_leader: 1 });
    // The same block sent as an older term's: its proposer is no voter.
    const old = forgeEntry(outsider, r1.chain_id, tip, { term, time_ms: net.now });
    net.inject(raft(net.ids[1]!, { from: net.ids[2], type: 'append', term: term + 2, prev_index: tip.index, prev_term: tip.term, entries: [old], commit: old.index }));
    expect(r1.raft.log[old.index]?.hash).not.toBe(old.hash);
    expect(r1.droppedByReason()).toMatchObject({ proposer_not_voter: 1 });
  });

  it('one forged append to a single follower does not win it the next election', async () => {
    const net = await runningGrid();
    const r1 = net.replica(1);
    const tip = r1.raft.lastEntry();
    const term = r1.raft.term;
    const e = forgeEntry(outsider, r1.chain_id, tip, { term: term + 1, time_ms: net.now });
    net.inject(raft(net.ids[1]!, { type: 'append', term: term + 1, prev_index: tip.index, prev_term: tip.term, entries: [e], commit: tip.index }));
    net.crash(net.ids[0]!);
    net.tick(60);
    const leader = net.leader();
    expect(leader).not.toBeNull();
    net.submit(leader!, { kind: 'transfer', to: net.ids[2] === leader ? net.ids[0] : net.ids[2], amount: 1, memo: '' });
    net.tick(5);
    expect(committedBlocks(net).filter((b) => b.entry.block!.header.proposer === outsider.id)).toEqual([]);
  });

  it('one forged heartbeat does not make a partitioned follower commit an entry no quorum held', async () => {
    const net = await runningGrid(5);
    const [n0, n1, n2, n3, n4] = net.ids as [string, string, string, string, string];
    const minority = [n0, n1];
    for (const a of minority) for (const b of [n2, n3, n4]) net.cut.add(`${a}->${b}`).add(`${b}->${a}`);
    // The old leader still reaches n1: this block is in n1's log but held by no quorum.
    net.submit(n0, { kind: 'transfer', to: n2, amount: 1, memo: '' });
    const h = net.replica(n0).raft.commit + 1;
    expect(net.replica(n1).raft.lastIndex()).toBeGreaterThanOrEqual(h);
    net.tick(60, [n2, n3, n4]);
    const majorityLeader = [n2, n3, n4].find((id) => net.replica(id).raft.role === 'leader')!;
    expect(majorityLeader).toBeDefined();
    net.submit(majorityLeader, { kind: 'transfer', to: n0, amount: 1, memo: '' });
    net.tick(3, [n2, n3, n4]);
    const r1 = net.replica(n1);
    net.inject(raft(n1, { type: 'heartbeat', term: r1.raft.term, commit: r1.raft.lastIndex() }));
    // n1 may commit only what the majority committed, and only the same blocks.
    const majority = net.committedHashes(majorityLeader);
    net.committedHashes(n1).forEach((hash, i) => expect(hash, `height ${i + 1}`).toBe(majority[i]));
    expect(r1.raft.commit).toBeLessThan(h);
  });

  it('timeout_now from an outsider starts no election', async () => {
    const net = await runningGrid();
    const term = net.replica(0).raft.term;
    net.inject(raft(net.ids[1]!, { type: 'timeout_now', term }));
    net.inject(raft(net.ids[2]!, { type: 'timeout_now', term: term + 3 }));
    expect(net.leader()).toBe(net.ids[0]);
    for (const id of net.ids) expect(net.replica(id).raft.term).toBe(term);
    expect(net.replica(1).droppedByReason()).toMatchObject({ leader_not_voter: 1 });
    // From a voter that is not the leader, neither.
    net.inject(raft(net.ids[1]!, { from: net.ids[2], type: 'timeout_now', term }));
    expect(net.replica(1).droppedByReason()).toMatchObject({ timeout_now_not_leader: 1 });
    expect(net.leader()).toBe(net.ids[0]);
  });

  it('vote requests and vote answers from an outsider move no term and depose no leader', async () => {
    // Without pre-vote and check-quorum a higher term in any message used to win.
    const net = await runningGrid(3, { tuning: { pre_vote: false, check_quorum: false } });
    const r0 = net.replica(0);
    const term = r0.raft.term;
    net.inject(raft(net.ids[1]!, { type: 'vote', term: term + 5, last_index: 1000, last_term: term + 5, transfer: false }));
    net.inject(raft(net.ids[2]!, { type: 'prevote', term: term + 5, last_index: 1000, last_term: term + 5, transfer: true }));
    net.inject(raft(net.ids[0]!, { type: 'vote_resp', term: term + 7, reject: true }));
    net.inject(raft(net.ids[0]!, { type: 'append_resp', term: term + 8, index: 0, reject: true, hint_index: 0, hint_term: 0 }));
    net.inject(raft(net.ids[0]!, { type: 'heartbeat_resp', term: term + 9 }));
    net.tick(3);
    expect(net.leader()).toBe(net.ids[0]);
    for (const id of net.ids) expect(net.replica(id).raft.term).toBe(term);
    expect(net.replica(1).droppedByReason()).toMatchObject({ candidate_not_voter: 1 });
    expect(net.replica(0).droppedByReason()).toMatchObject({ vote_not_voter: 1, answer_not_member: 2 });
  });
});

describe('attack 6: smaller holes in the core', () => {
  it('followers refuse a block with two membership changes, even from the leader', async () => {
    const net = await runningGrid();
    const leader = net.replica(0);
    const a = NobleSigner.fromSeed('joiner a');
    const b = NobleSigner.fromSeed('joiner b');
    const seq = leader.nextSeq(net.ids[0]!);
    const txs = [
      net.tx(0, { kind: 'admit', member: a.id, pub: a.publicKey, role: 'consumer', invite: null }, seq),
      net.tx(0, { kind: 'admit', member: b.id, pub: b.publicKey, role: 'consumer', invite: null }, seq + 1),
    ];
    const tip = leader.raft.lastEntry();
    const e = forgeEntry(net.signer(0), leader.chain_id, tip, { term: leader.raft.term, time_ms: net.now, txs, log: leader.raft.log, params: leader.state.params });
    for (const id of net.ids.slice(1)) {
      net.inject(raft(id, { from: net.ids[0], type: 'append', term: leader.raft.term, prev_index: tip.index, prev_term: tip.term, entries: [e], commit: leader.raft.commit }));
      expect(net.replica(id).raft.log[e.index]?.hash).not.toBe(e.hash);
      expect(net.replica(id).droppedByReason()).toMatchObject({ membership_changes: 1 });
    }
  });

  it('a certificate is checked against the voters at its own height, not today\'s', async () => {
    const net = await runningGrid(3, { cert_every_ticks: 1_000_000 });
    const [n0, n1, n2] = net.ids as [string, string, string];
    const h = net.replica(n0).raft.commit; // voters here: n0, n1, n2
    const hash = net.replica(n0).raft.log[h]!.hash;
    // Change the voters: admit and promote n3, then remove n2 (today: n0, n1, n3).
    const n3 = net.addNode('net-node-3');
    net.submit(n0, { kind: 'admit', member: n3.id, pub: n3.publicKey, role: 'consumer', invite: null });
    net.tick(3);
    net.submit(n0, { kind: 'promote', member: n3.id });
    net.tick(3);
    net.submit(n0, { kind: 'remove', member: n2 });
    net.tick(5);
    const r1 = net.replica(n1);
    expect([...r1.raft.membership().voters].sort()).toEqual([n0, n1, n3.id].sort());
    expect(r1.certs.has(h)).toBe(false);
    const ack = (i: string | number) => ({ voter: net.id(i), sig: net.signer(i).signSync(ackMessage(r1.chain_id, h, fromHex(hash))) });
    // n1 and n3 make a quorum of today's voters, but n3 was no voter at h: not a certificate.
    net.inject({ kind: 'cert', from: n0, to: n1, cert: { height: h, hash, acks: [ack(n1), ack(n3.id)] } });
    expect(r1.certs.has(h)).toBe(false);
    expect(r1.droppedByReason()).toMatchObject({ cert_invalid: 1 });
    // Nor does a certificate count when an outsider pushes it.
    net.inject({ kind: 'cert', from: outsider.id, to: n1, cert: { height: h, hash, acks: [ack(n0), ack(n2)] } });
    expect(r1.certs.has(h)).toBe(false);
    expect(r1.droppedByReason()).toMatchObject({ cert_not_voter: 1 });
    // n0 and n2 were a quorum at h, though n2 is no voter today: a certificate.
    net.inject({ kind: 'cert', from: n0, to: n1, cert: { height: h, hash, acks: [ack(n0), ack(n2)] } });
    expect(r1.certs.has(h)).toBe(true);
  });
});

describe('attack 4: block time is bounded', () => {
  it('no block dated beyond the allowance commits, even from a leader whose clock runs ahead', async () => {
    const net = await runningGrid();
    const allowance_ms = 30_000;
    net.skew_ms.set(net.ids[0]!, TEN_YEARS_MS);
    net.submit(0, { kind: 'mint', to: net.ids[2], amount: 5, ref: 'fast clock' });
    net.tick(80);
    const late = committedBlocks(net).filter((b) => b.entry.block!.header.time_ms > net.now + allowance_ms);
    expect(late.map((b) => b.entry.index)).toEqual([]);
    expect(net.replica(1).droppedByReason().block_time_ahead).toBeGreaterThan(0);
    // The followers stop following the leader whose blocks they refuse, and elect another.
    const leader = net.leader();
    expect(leader).not.toBeNull();
    expect(leader).not.toBe(net.ids[0]);
    const before = net.replica(leader!).raft.commit;
    net.submit(leader!, { kind: 'transfer', to: net.ids[0], amount: 1, memo: '' });
    net.tick(5);
    expect(net.replica(leader!).raft.commit).toBeGreaterThan(before);
  });
});

describe('attack 5: cheap checks come before signature checks', () => {
  it('an outsider\'s transactions, and replays, are refused before any signature is checked', async () => {
    const net = await runningGrid();
    let calls = 0;
    const counting = { verify: (p: Uint8Array, m: Uint8Array, s: Uint8Array) => (calls++, net.verifier.verify(p, m, s)) };
    const { Replica } = await import('../../src/core/replica.js');
    const { signTxSync, encodeSignedTx } = await import('../../src/core/tx.js');
    const r = new Replica({ genesis: net.genesis, id: net.ids[1]!, verifier: counting, rand: () => 0 });
    const badSig = (tx: { body: never; pub: Uint8Array; sig: Uint8Array }) => {
      const sig = tx.sig.slice();
      sig[5]! ^= 0x55;
      return encodeSignedTx({ body: tx.body, pub: tx.pub, sig });
    };
    const body = { v: 1, chain: r.chain_id, kind: 'transfer', from: outsider.id, seq: 0, to: net.ids[0], amount: 1, memo: '' };
    const forged = badSig(signTxSync(body as never, outsider) as never);
    calls = 0;
    for (let i = 0; i < 50; i++) expect(r.submit(forged, net.now)).toMatchObject({ ok: false, code: 'unknown_account' });
    expect(calls).toBe(0);
    // A member's transaction whose sequence number the state has used is a replay: refused
    // before its signature is checked, forged or not.
    const used = net.replica(0).state.members.get(net.ids[0]!)!.seq;
    expect(used).toBeGreaterThan(0);
    const replay = badSig(net.tx(0, { kind: 'transfer', to: net.ids[2], amount: 2, memo: '' }, 0) as never);
    net.verify_calls = 0;
    expect(net.replica(0).submit(replay, net.now)).toMatchObject({ ok: false, code: 'replayed_seq' });
    expect(net.verify_calls).toBe(0);
  });
});

describe('attack 4: a leader never proposes a block beyond the allowance', () => {
  it('a leader whose clock is behind the chain tip by more than the allowance proposes nothing', async () => {
    const net = await runningGrid();
    const r0 = net.replica(0);
    const tipTime = r0.raft.lastEntry().block!.header.time_ms;
    expect(r0.submit(net.tx(0, { kind: 'mint', to: net.ids[1], amount: 1, ref: '' }).bytes, tipTime - 40_000).ok).toBe(true);
    expect(r0.blockTemplate(tipTime - 30_001)).toBeNull();
    expect(r0.droppedByReason()).toMatchObject({ clock_behind_chain: 1 });
    // Within the allowance it proposes, dating the block at its parent's time.
    const t = r0.blockTemplate(tipTime - 1000);
    expect(t?.fields.time_ms).toBe(tipTime);
  });
});

describe('attack 5: bad signatures are reported for strikes', () => {
  it('a member\'s forwarded transaction with a bad signature counts against the peer that sent it', async () => {
    const net = await runningGrid();
    const { encodeSignedTx } = await import('../../src/core/tx.js');
    const tx = net.tx(2, { kind: 'transfer', to: net.ids[0], amount: 1, memo: '' });
    const sig = tx.sig.slice();
    sig[7]! ^= 1;
    const forged = encodeSignedTx({ body: tx.body, pub: tx.pub, sig });
    const got = net.replica(0).receive({ kind: 'txs', from: net.ids[1]!, to: net.ids[0]!, txs: [forged, tx.bytes] }, net.now);
    expect(got).toEqual({ bad_signatures: 1 });
    expect(net.replica(0).txs_rejected_by).toMatchObject({ bad_signature: 1 });
  });
});

describe('the trust boundary keeps the grid live', () => {
  it('a joiner (and a founder that slept through it) follow a leader promoted after genesis', async () => {
    const net = await ReplicaNet.create(3);
    const [n0, n1, n2] = net.ids as [string, string, string];
    net.elect(n0);
    net.crash(n2); // n2 sleeps through the promotion
    const n3 = net.addNode('net-node-3');
    net.submit(n0, { kind: 'admit', member: n3.id, pub: n3.publicKey, role: 'consumer', invite: null });
    net.tick(3);
    net.submit(n0, { kind: 'promote', member: n3.id });
    net.tick(3);
    expect(net.replica(n0).raft.membership().voters).toContain(n3.id);
    expect(net.replica(n0).raft.transferLeadership(n3.id)).toBe(true);
    net.settle();
    net.tick(3);
    expect(net.leader()).toBe(n3.id);
    // A new joiner's log is empty: the leader is no voter in its genesis configuration.
    const n4 = net.addNode('net-node-4');
    net.boot(n2);
    // The operator's admit, submitted at the leader.
    const admit = net.tx(n0, { kind: 'admit', member: n4.id, pub: n4.publicKey, role: 'consumer', invite: null });
    expect(net.replica(n3.id).submit(admit.bytes, net.now).ok).toBe(true);
    net.tick(10);
    expect(net.replica(n3.id).state.members.get(n4.id)).toMatchObject({ voter: false });
    net.submit(n3.id, { kind: 'transfer', to: n1, amount: 1, memo: '' }); // fails (no funds) but commits
    net.tick(10);
    const tip = net.replica(n3.id).raft.commit;
    for (const id of [n0, n1, n2, n4.id]) {
      const rr = net.replica(id); expect(rr.raft.commit, `${net.ids.indexOf(id)} ${rr.raft.role} t${rr.raft.term} l${rr.raft.lastIndex()} ${JSON.stringify(rr.droppedByReason())} ${rr.raft.stats.invalid_entries}`).toBe(tip);
      expect(net.replica(id).raft.leader, id.slice(0, 6)).toBe(n3.id);
    }
    expect(net.replica(n4.id).droppedByReason().leader_not_voter).toBeGreaterThan(0); // it caught up first
  });
});

describe('the trust boundary keeps the grid live (conflicting logs)', () => {
  it('a founder holding an uncommitted block follows, and repairs its log to, a leader promoted after genesis', async () => {
    const net = await ReplicaNet.create(5);
    const [n0, n1, n2, n3, n4] = net.ids as [string, string, string, string, string];
    net.elect(n0);
    net.submit(n0, { kind: 'mint', to: n1, amount: 5, ref: '' });
    net.tick(3);
    // n0 and n2 are cut off; n0's next block reaches n2 only: in its log, never committed.
    for (const a of [n0, n2]) for (const b of [n1, n3, n4]) net.cut.add(`${a}->${b}`).add(`${b}->${a}`);
    net.submit(n0, { kind: 'mint', to: n2, amount: 7, ref: 'lost' });
    const lost = net.replica(n2).raft.lastEntry();
    expect(lost.index).toBeGreaterThan(net.replica(n2).raft.commit);
    // The majority elects n1, which admits and promotes n5 and hands it the lead.
    const n5 = net.addNode('net-node-5');
    for (const a of [n0, n2]) net.cut.add(`${a}->${n5.id}`).add(`${n5.id}->${a}`);
    net.tick(40, [n1, n3, n4, n5.id]);
    const first = [n1, n3, n4].find((id) => net.replica(id).raft.role === 'leader')!;
    expect(first).toBeDefined();
    // Signed by the operator (cut off, so numbered from the majority's view), submitted there.
    const seq = net.replica(first).nextSeq(n0);
    const op = net.tx(n0, { kind: 'admit', member: n5.id, pub: n5.publicKey, role: 'consumer', invite: null }, seq);
    expect(net.replica(first).submit(op.bytes, net.now).ok).toBe(true);
    net.tick(5, [n1, n3, n4, n5.id]);
    const promote = net.tx(n0, { kind: 'promote', member: n5.id }, seq + 1);
    expect(net.replica(first).submit(promote.bytes, net.now).ok).toBe(true);
    net.tick(5, [n1, n3, n4, n5.id]);
    expect(net.replica(first).raft.transferLeadership(n5.id)).toBe(true);
    net.settle();
    net.tick(5, [n1, n3, n4, n5.id]);
    expect(net.replica(n5.id).raft.role).toBe('leader');
    net.submit(n5.id, { kind: 'transfer', to: n1, amount: 1, memo: '' });
    net.tick(3, [n1, n3, n4, n5.id]);
    // Healed: n2 still holds the lost block, and n5 is no voter in n2's log.
    net.heal();
    net.tick(30);
    const tip = net.replica(n5.id).raft.commit;
    for (const id of [n0, n1, n2, n3, n4]) {
      const r = net.replica(id);
      expect(r.raft.commit, `n${net.ids.indexOf(id)}`).toBe(tip);
      expect(r.raft.log[lost.index]!.hash).toBe(net.replica(n5.id).raft.log[lost.index]!.hash);
    }
    expect(net.replica(n2).raft.log[lost.index]!.hash).not.toBe(lost.hash);
  });
});
