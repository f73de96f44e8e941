// Named Raft scenarios, each citing the section of the extended Raft paper (Ongaro &
// Ousterhout 2014) or Ongaro's thesis (2014) it checks. Entries carry no blocks here: the
// block checks are tested elsewhere and plugged in through RaftConfig.validate.
import { describe, expect, it } from 'vitest';
import { Net, logOf, entry } from '../../helpers/raft-net.js';

const S5 = ['s1', 's2', 's3', 's4', 's5'];
const S3 = ['s1', 's2', 's3'];

describe('Raft §5.2 leader election', () => {
  it('elects exactly one leader, and a leader appends for its term', () => {
    const net = new Net(S3);
    net.elect('s1');
    expect(net.node('s1').role).toBe('leader');
    expect(net.node('s2').leader).toBe('s1');
    expect(net.node('s3').leader).toBe('s1');
    expect(net.propose('s1', 'x')).toBe(true);
    expect(net.node('s1').commit).toBe(1);
    expect(net.terms('s3')).toEqual([1]);
  });

  it('a follower that hears nothing campaigns after its randomised timeout', () => {
    const net = new Net(S3);
    net.tick(['s2'], 25);
    expect(S3.map((id) => net.node(id).role).filter((r) => r === 'leader')).toHaveLength(1);
  });

  it('§5.4.1: a candidate with a stale log loses', () => {
    const net = new Net(S3, {
      s1: { log: logOf(1, 1), hard: { term: 2 } },
      s2: { log: logOf(1, 1, 2), hard: { term: 2 } },
      s3: { log: logOf(1, 1, 2), hard: { term: 2 } },
    });
    net.elect('s1');
    expect(net.node('s1').role).not.toBe('leader');
    net.elect('s2');
    expect(net.node('s2').role).toBe('leader');
  });

  it('§9.6 dueling candidates without pre-vote: the stale one cannot win but disrupts the leader', () => {
    const net = new Net(S3);
    net.cut.add('s1->s3').add('s3->s1');
    net.elect('s1');
    expect(net.node('s1').role).toBe('leader');
    net.propose('s1', 'a'); // committed on s1, s2
    net.elect('s3'); // s2 has a longer log: rejects
    expect(net.node('s3').role).toBe('candidate'); // lost, waits for its next timeout
    net.heal();
    net.elect('s3'); // term 2 now: s1 steps down on hearing it, s3 still loses
    expect(net.node('s3').role).not.toBe('leader');
    expect(net.node('s1').role).toBe('follower');
    expect(net.node('s1').term).toBe(2);
  });

  it('§9.6 dueling candidates with pre-vote: the stale one does not even raise its term', () => {
    const net = new Net(S3, {}, { pre_vote: true });
    net.cut.add('s1->s3').add('s3->s1');
    net.elect('s1');
    net.propose('s1', 'a');
    net.elect('s3');
    net.heal();
    net.elect('s3');
    expect(net.node('s1').role).toBe('leader');
    expect(net.node('s3').term).toBe(1);
    expect(net.node('s1').term).toBe(1);
  });
});

describe('Raft §5.3 log replication and repair', () => {
  it('a new leader overwrites a follower\'s uncommitted newer entries, which go back to the mempool', () => {
    const net = new Net(S3);
    net.elect('s1');
    net.propose('s1', 'committed');
    net.isolate('s1');
    net.propose('s1', 'lost-1');
    net.propose('s1', 'lost-2');
    expect(net.terms('s1')).toEqual([1, 1, 1]);
    net.elect('s2');
    expect(net.node('s2').role).toBe('leader');
    net.propose('s2', 'new');
    net.heal();
    net.tick(['s2'], 2);
    expect(net.terms('s1')).toEqual([1, 2]);
    expect(net.node('s1').log.map((e) => e.hash)).toEqual(net.node('s2').log.map((e) => e.hash));
    expect(net.truncated.get('s1')!.map((e) => e.hash)).toEqual(['2/1lost-1', '3/1lost-2']);
  });

  it('Figure 7: every follower log shape is repaired to the leader\'s', () => {
    const leaderLog = [1, 1, 1, 4, 4, 5, 5, 6, 6, 6];
    const followers: Record<string, number[]> = {
      a: [1, 1, 1, 4, 4, 5, 5, 6, 6],
      b: [1, 1, 1, 4],
      c: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 6],
      d: [1, 1, 1, 4, 4, 5, 5, 6, 6, 6, 7, 7],
      e: [1, 1, 1, 4, 4, 4, 4],
      f: [1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3],
    };
    const ids = ['L', ...Object.keys(followers)];
    const opts = Object.fromEntries([
      ['L', { log: logOf(...leaderLog), hard: { term: 7, commit: 0 } }],
      ...Object.entries(followers).map(([id, terms]) => [id, { log: logOf(...terms), hard: { term: 7 } }]),
    ]);
    const net = new Net(ids, opts);
    net.elect('L'); // a, b, e, f (and L) make 5 of 7
    expect(net.node('L').role).toBe('leader');
    expect(net.node('L').term).toBe(8);
    net.propose('L', 'noop');
    net.tick(['L'], 3);
    const want = [...leaderLog, 8];
    for (const id of ids) expect(net.terms(id), id).toEqual(want);
    expect(net.node('L').commit).toBe(11);
  });

  it('Figure 8: a leader never commits an entry of an earlier term by counting replicas (§5.4.2)', () => {
    const net = new Net(S5, {
      s1: { log: logOf(1, 2), hard: { term: 3, commit: 1 } },
      s2: { log: logOf(1, 2), hard: { term: 3, commit: 1 } },
      s3: { log: logOf(1), hard: { term: 3, commit: 1 } },
      s4: { log: logOf(1), hard: { term: 3, commit: 1 } },
      s5: { log: logOf(1, 3), hard: { term: 3, commit: 1 } },
    });
    net.isolate('s4'); // s1's term-2 entry can reach s3 only: a majority of replicas
    net.cut.add('s1->s5');
    net.elect('s1');
    expect(net.node('s1').role).toBe('leader');
    expect(net.node('s1').term).toBe(4);
    net.tick(['s1'], 2); // replicates (2, term 2) to s3
    expect(net.terms('s3')).toEqual([1, 2]);
    expect(net.node('s1').commit).toBe(1); // three replicas of a term-2 entry: not committed
    // Why it must not: s5 (last term 3) can still win a majority and overwrite index 2.
    net.heal();
    net.isolate('s1');
    net.elect('s5'); // term 4: s2 and s3 already voted for s1 in term 4
    net.elect('s5'); // term 5: s2, s3, s4 grant, last term 3 beats their 2 and 1
    expect(net.node('s5').role).toBe('leader');
    net.propose('s5', 'five');
    expect(net.terms('s3')).toEqual([1, 3, 5]);
    expect(net.node('s5').commit).toBe(3);
    // Once its own term's entry is replicated, a leader commits it and everything before.
    const alt = new Net(S5, {
      s1: { log: logOf(1, 2), hard: { term: 3, commit: 1 } },
      s2: { log: logOf(1, 2), hard: { term: 3, commit: 1 } },
      s3: { log: logOf(1), hard: { term: 3, commit: 1 } },
      s4: { log: logOf(1), hard: { term: 3, commit: 1 } },
      s5: { log: logOf(1, 3), hard: { term: 3, commit: 1 } },
    });
    alt.isolate('s4');
    alt.cut.add('s1->s5');
    alt.elect('s1');
    alt.propose('s1', 'four');
    expect(alt.node('s1').commit).toBe(3);
  });

  it('Figure 8 with the current-term rule removed (a planted bug): a committed entry is lost', () => {
    const net = new Net(
      S5,
      {
        s1: { log: logOf(1, 2), hard: { term: 3, commit: 1 } },
        s2: { log: logOf(1, 2), hard: { term: 3, commit: 1 } },
        s3: { log: logOf(1), hard: { term: 3, commit: 1 } },
        s4: { log: logOf(1), hard: { term: 3, commit: 1 } },
        s5: { log: logOf(1, 3), hard: { term: 3, commit: 1 } },
      },
      { planted_bug: 'commit_old_term' },
    );
    net.isolate('s4');
    net.cut.add('s1->s5');
    net.elect('s1');
    net.tick(['s1'], 2);
    expect(net.node('s1').commit).toBe(2); // wrongly committed by counting replicas
    expect(net.applied.get('s1')!.map((e) => e.hash)).toContain('2/2');
    net.heal();
    net.isolate('s1');
    net.elect('s5');
    net.elect('s5'); // s2, s3, s4 grant: last term 3 beats 2
    // s5 now commits its own index 2 (term 3) the same buggy way: two different blocks
    // are committed at height 2 — exactly what the current-term rule prevents.
    expect(net.node('s5').commit).toBeGreaterThanOrEqual(2);
    expect(net.node('s5').log[2]!.hash).toBe('2/3');
    expect(net.applied.get('s1')!.find((e) => e.index === 2)!.hash).toBe('2/2');
  });

  it('a lagging node far behind catches up in batches', () => {
    const net = new Net(S3);
    net.elect('s1');
    const batches: number[] = [];
    net.drop = (m) => {
      if (m.type === 'append' && m.to === 's3' && m.entries.length > 0) batches.push(m.entries.length);
      return false;
    };
    net.isolate('s3');
    for (let i = 0; i < 300; i++) net.node('s1').propose(entry(net.node('s1').lastIndex() + 1, 1, `b${i}`));
    net.stabilize();
    expect(net.node('s1').commit).toBe(300);
    expect(net.node('s3').lastIndex()).toBe(0);
    net.heal();
    net.tick(['s1'], 3);
    expect(net.node('s3').lastIndex()).toBe(300);
    expect(net.node('s3').commit).toBe(300);
    expect(net.applied.get('s3')!.length).toBe(300);
    expect(Math.max(...batches)).toBe(64); // max_entries_per_append
  });

  it('§5.1: messages from older terms are ignored, and their sender learns the new term', () => {
    const net = new Net(S3, { s2: { hard: { term: 5 } } });
    const s2 = net.node('s2');
    s2.step({ type: 'append', from: 's1', to: 's2', term: 3, prev_index: 0, prev_term: 0, entries: [entry(1, 3)], commit: 1 });
    expect(s2.lastIndex()).toBe(0);
    expect(s2.commit).toBe(0);
    expect(s2.stats.stale_messages).toBe(1);
    // Answered even without check-quorum or pre-vote (etcd stays silent then): a node whose
    // term ran ahead while it was demoted cannot spread its term by vote requests, which the
    // voters drop, so this answer is how the stale leader learns it (raft.ts).
    expect(s2.ready().messages).toMatchObject([{ type: 'append_resp', to: 's1', term: 5, reject: true }]);
    const cq = new Net(S3, { s2: { hard: { term: 5 }, config: { check_quorum: true } } });
    cq.node('s2').step({ type: 'heartbeat', from: 's1', to: 's2', term: 3, commit: 0 });
    expect(cq.node('s2').ready().messages).toMatchObject([{ type: 'append_resp', to: 's1', term: 5, reject: true }]);
  });

  it('a crash loses only what was not persisted; the restarted node rejoins', () => {
    const net = new Net(S3);
    net.elect('s1');
    net.propose('s1', 'a');
    net.propose('s1', 'b');
    net.restart('s2');
    expect(net.node('s2').lastIndex()).toBe(2);
    expect(net.node('s2').term).toBe(1);
    net.propose('s1', 'c');
    net.tick(['s1'], 2);
    expect(net.applied.get('s2')!.map((e) => e.index)).toEqual([1, 2, 3]);
  });
});

describe('Raft §6 / thesis §6.2 and §9.6: check-quorum and pre-vote', () => {
  it('an isolated leader steps down under check-quorum', () => {
    const net = new Net(S3, {}, { check_quorum: true });
    net.elect('s1');
    net.isolate('s1');
    net.tick(['s1'], 10);
    expect(net.node('s1').role).toBe('leader'); // the first round found everyone active
    net.tick(['s1'], 10);
    expect(net.node('s1').role).toBe('follower');
    expect(net.node('s1').propose(entry(1, net.node('s1').term))).toBe(false);
  });

  it('a rejoining partitioned node cannot disrupt the leader under pre-vote', () => {
    const net = new Net(S3, {}, { pre_vote: true, check_quorum: true });
    net.elect('s1');
    net.isolate('s3');
    net.tick(['s1', 's2', 's3'], 60); // s3 keeps failing pre-votes
    net.propose('s1', 'x');
    expect(net.node('s3').term).toBe(1);
    net.heal();
    net.tick(['s1', 's2', 's3'], 30);
    expect(net.node('s1').role).toBe('leader');
    expect(net.node('s1').term).toBe(1);
    expect(net.node('s3').leader).toBe('s1');
    expect(net.node('s3').lastIndex()).toBe(1);
  });

  it('without pre-vote, the same rejoining node forces a new election', () => {
    const net = new Net(S3, {}, { pre_vote: false, check_quorum: false });
    net.elect('s1');
    net.isolate('s3');
    net.tick(['s3'], 40);
    expect(net.node('s3').term).toBeGreaterThan(1);
    net.heal();
    net.tick(['s3'], 25);
    expect(net.node('s1').term).toBeGreaterThan(1);
  });
});

describe('Raft membership (thesis §4) and commit quorum', () => {
  it('learners replicate but neither vote nor count toward commit', () => {
    const net = new Net(['s1', 's2'], { s1: { learners: ['l1'] } });
    expect(net.node('l1').isVoter()).toBe(false);
    net.tick(['l1'], 50);
    expect(net.node('l1').role).toBe('follower');
    net.elect('s1');
    net.cut.add('s1->s2');
    net.propose('s1', 'a');
    expect(net.terms('l1')).toEqual([1]);
    expect(net.node('s1').commit).toBe(0); // the learner's copy does not make a quorum
    net.heal();
    net.tick(['s1'], 2);
    expect(net.node('s1').commit).toBe(1);
  });

  it('the leader is removed: it steps down, never counts itself, and the rest elect a leader', () => {
    const net = new Net(S3, {}, { check_quorum: true });
    net.elect('s1');
    net.propose('s1', 'remove s1');
    for (const id of S3) net.node(id).setMembership({ voters: ['s2', 's3'], learners: [] });
    expect(net.node('s1').role).toBe('follower');
    net.tick(['s1', 's2', 's3'], 40);
    expect(['s2', 's3'].filter((id) => net.node(id).role === 'leader')).toHaveLength(1);
    expect(net.node('s1').role).toBe('follower');
    const leader = ['s2', 's3'].find((id) => net.node(id).role === 'leader')!;
    net.isolate(leader === 's2' ? 's3' : 's2');
    net.propose(leader, 'alone');
    expect(net.node(leader).commit).toBe(net.node(leader).lastIndex() - 1); // s1's ack does not count
  });

  it('two-thirds commit quorum: 3 of 4 voters must hold an entry, a majority of 3 is not enough', () => {
    const ids = ['s1', 's2', 's3', 's4'];
    const two = new Net(ids, {}, { commit_quorum: 'two_thirds' });
    two.elect('s1');
    two.isolate('s4');
    two.cut.add('s1->s3');
    two.propose('s1', 'a');
    expect(two.node('s1').commit).toBe(0);
    two.cut.delete('s1->s3');
    two.tick(['s1'], 2);
    expect(two.node('s1').commit).toBe(1);
    const five = new Net(S5, {}, { commit_quorum: 'two_thirds' });
    five.elect('s1');
    five.isolate('s4');
    five.isolate('s5');
    five.propose('s1', 'a'); // 3 of 5 is a majority but below floor(10/3)+1 = 4
    expect(five.node('s1').commit).toBe(0);
  });

  it('thesis §3.10: leadership is transferred to a follower that was behind', () => {
    const net = new Net(S3);
    net.elect('s1');
    net.cut.add('s1->s3');
    for (let i = 0; i < 5; i++) net.propose('s1', `e${i}`);
    expect(net.node('s3').lastIndex()).toBe(0);
    net.cut.clear();
    expect(net.node('s1').transferLeadership('s3')).toBe(true);
    expect(net.node('s1').propose(entry(6, 1))).toBe(false); // no proposals during a transfer
    net.stabilize();
    expect(net.node('s3').role).toBe('leader');
    expect(net.node('s3').term).toBe(2);
    expect(net.node('s3').lastIndex()).toBe(5);
    expect(net.node('s1').role).toBe('follower');
  });
});

describe('Figure 2 (AppendEntries receiver, rule 5) under attack', () => {
  it('a heartbeat commits only entries this follower matched from that leader in its term', () => {
    // s2 holds index 3 from an old leader; s1 (the new leader) never had it.
    const net = new Net(S3, {
      s1: { log: logOf(1, 1), hard: { term: 2, commit: 1 } },
      s2: { log: logOf(1, 1, 1), hard: { term: 2, commit: 1 } },
      s3: { log: logOf(1, 1), hard: { term: 2, commit: 1 } },
    });
    const s2 = net.node('s2');
    s2.step({ type: 'heartbeat', from: 's1', to: 's2', term: 3, commit: 3 });
    expect(s2.commit).toBe(1);
    // Once s1's append has matched s2's log in term 3, its commit index counts up to that match.
    s2.step({ type: 'append', from: 's1', to: 's2', term: 3, prev_index: 2, prev_term: 1, entries: [entry(3, 3)], commit: 2 });
    expect(s2.commit).toBe(2);
    s2.step({ type: 'heartbeat', from: 's1', to: 's2', term: 3, commit: 3 });
    expect(s2.commit).toBe(3);
    expect(s2.log[3]!.term).toBe(3);
  });
});

describe('liveness while a write is in flight (Raft.takeLiveness)', () => {
  it("a leader's heartbeats queued after a handed-out Ready go at once; the Ready's own messages stay for advance", () => {
    const net = new Net(S3, {}, { check_quorum: true });
    net.elect('s1');
    const s1 = net.node('s1');
    expect(s1.propose(entry(s1.lastIndex() + 1, s1.term))).toBe(true);
    const rd = s1.ready(); // its write is in flight: the appends in it are the driver's to send
    expect(rd.messages.some((m) => m.type === 'append')).toBe(true);
    s1.tick(); // heartbeat_ticks 1: one heartbeat per follower, queued behind the Ready
    const durable = { term: s1.term, vote: s1.vote };
    expect(s1.takeLiveness({ term: s1.term - 1, vote: s1.vote })).toEqual([]); // the term is not durable yet
    const live = s1.takeLiveness(durable);
    expect(live.map((m) => [m.type, m.to]).sort()).toEqual([['heartbeat', 's2'], ['heartbeat', 's3']]);
    expect(s1.takeLiveness(durable)).toEqual([]); // taken once
    s1.tick(); // two more heartbeats, left in the queue this time
    s1.advance(rd);
    // advance removed exactly the Ready's own messages: what is left is the second tick's.
    expect(s1.ready().messages.map((m) => [m.type, m.to]).sort()).toEqual([['heartbeat', 's2'], ['heartbeat', 's3']]);
  });

  it("a follower's heartbeat answer goes at once, other answers wait for the write", () => {
    const net = new Net(S3, {}, { check_quorum: true });
    net.elect('s1');
    const s2 = net.node('s2');
    const rd = s2.hasReady() ? s2.ready() : null;
    s2.step({ type: 'heartbeat', from: 's1', to: 's2', term: s2.term, commit: 0 });
    s2.step({ type: 'append', from: 's1', to: 's2', term: s2.term, prev_index: s2.lastIndex(), prev_term: s2.lastTerm(), entries: [entry(s2.lastIndex() + 1, s2.term)], commit: 0 });
    const live = s2.takeLiveness({ term: s2.term, vote: s2.vote });
    expect(live.map((m) => m.type)).toEqual(['heartbeat_resp']);
    if (rd) s2.advance(rd);
    expect(s2.ready().messages.map((m) => m.type)).toEqual(['append_resp']);
  });
});
