// A voter demoted while its tab was closed comes back believing it still votes (its chain ends
// before its demotion). In the partial mesh it may have no link to the leader: the voters it
// reaches drop its pre-votes (it is no voter to them) and only their `head` hints and certified
// sync batches reach it. It must still catch up by sync while it campaigns, and once its chain
// shows the demotion it stops campaigning and follows. (CI found a reopened tab stuck here:
// sync asked and took blocks only as a follower, and a pre-candidate never became one.)
import { describe, expect, it } from 'vitest';
import { ReplicaNet } from '../helpers/replica-net.js';

describe('a voter demoted while away, back with no link to the leader', () => {
  it('catches up by sync while it campaigns, learns it is a learner, and stops campaigning', async () => {
    const net = await ReplicaNet.create(5);
    net.elect(0);
    const leader = net.id(0);
    const peer = net.id(1); // a voter that is not the leader: the only node the returning one reaches
    const away = net.id(4);
    net.crash(away);
    net.submit(0, { kind: 'demote', member: away });
    net.submit(0, { kind: 'mint', to: net.id(1), amount: 500, ref: 'while away' });
    net.tick(40);
    expect(net.replica(peer).state.members.get(away)?.voter).toBe(false);

    // Back, with a link to `peer` only.
    for (const other of net.ids) {
      if (other === away || other === peer) continue;
      net.cut.add(`${away}->${other}`);
      net.cut.add(`${other}->${away}`);
    }
    net.boot(away);
    const r = net.replica(away);
    expect(r.raft.isVoter()).toBe(true); // its chain ends before the demotion
    net.tick(300, [away]); // election timeouts: it campaigns; `peer` drops its pre-votes
    expect(r.raft.stats.elections_started).toBeGreaterThan(0);
    expect(r.raft.role).toBe('precandidate');
    expect(net.replica(peer).raft.dropped.candidate_not_voter ?? 0).toBeGreaterThan(0);

    // The sync room's path: `peer` serves certified batches, the returning node checks and takes them.
    for (let round = 0; round < 10 && r.raft.applied < net.replica(leader).raft.applied; round++) {
      const batch = net.replica(peer).syncBatch(r.syncedThrough() + 1, 128);
      expect(batch.certs[0], 'the peer serves a certified batch').toBeDefined();
      expect(r.acceptSynced(batch.entries, batch.certs[0]!)).toBeNull();
      net.drive(away);
    }
    expect(r.raft.applied).toBe(net.replica(leader).raft.applied);
    expect(r.state.members.get(away)?.voter).toBe(false);
    expect(r.raft.isVoter()).toBe(false);
    // No longer a voter: no longer a candidate, and no more campaigns.
    expect(r.raft.role).toBe('follower');
    const started = r.raft.stats.elections_started;
    net.tick(300, [away]);
    expect(r.raft.stats.elections_started).toBe(started);
    expect(r.raft.role).toBe('follower');
  });
});
