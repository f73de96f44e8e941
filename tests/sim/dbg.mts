import { Cluster } from './cluster.js';
const c = new Cluster({ seed: 15 });
const r = await c.run();
console.log(r.violation?.slice(0, 100));
for (const n of c.nodes) {
  const rp = n.replica!; const raft = rp.raft;
  console.log(`n${n.index} role=${raft.role} term=${raft.term} vote=${raft.vote?.slice(0,4)} last=${raft.lastIndex()}/${raft.lastTerm()} commit=${raft.commit} applied=${raft.applied} voters=${raft.membership().voters.map(v=>v.slice(0,4))} learners=${raft.membership().learners.map(v=>v.slice(0,4))} id=${n.signer.id.slice(0,4)} stats=${JSON.stringify(raft.stats)}`);
  console.log('   terms', raft.log.slice(20).map(e=>e.term).join(','));
}
