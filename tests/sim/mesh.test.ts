// Beyond the full mesh (issue 14), simulated: real replicas (real blocks, signatures, ledger,
// certificates) on a network that delivers only along the links core/links.ts chooses. Voters
// keep the full mesh; every learner links to 3 voters and catches up from them as the browser
// node does (a voter's `head`, then `sync_req`/`sync_resp` of certified batches checked by
// acceptSynced). Counts every message per committed block, against the same grid in a full mesh.
import { describe, expect, it } from 'vitest';
import { ReplicaNet } from '../helpers/replica-net.js';
import { NobleSigner } from '../../src/core/keys.js';
import { allLinks, linked, linkViewOf, type LinkView } from '../../src/core/links.js';
import { Replica, type Envelope } from '../../src/core/replica.js';

const VOTERS = 7;
/** Virtual time per tick: the browser node's tick (NODE_TIMING.tick_ms). */
const TICK_MS = 100;
/** One block per certificate round (cert_every_ticks 5 = 500 ms), as under a steady load. */
const TICKS_PER_BLOCK = 5;
const SYNC_BATCH = 128;
/** Blocks measured per grid. */
const BLOCKS = 10;

type Mode = 'partial' | 'full';

interface Figures {
  nodes: number;
  voters: number;
  learners: number;
  links: number;
  blocks: number;
  per_block: number;
  by_kind: Record<string, number>;
  /** The most messages one node sent per block (the leader in a full mesh). */
  max_sent_per_block: number;
  max_sent_node: 'leader' | 'voter' | 'learner';
  /** What the leader sent per block. */
  leader_sent_per_block: number;
  /** Keep-alive pings per second on the links (1 ping + 1 pong per link end per second). */
  pings_per_s: number;
}

class MeshSim {
  readonly counts = new Map<string, number>();
  readonly sent = new Map<string, number>();
  /** What each voter last told each learner (its certified height), as MeshRoom does. */
  readonly told = new Map<string, number>();
  counting = false;

  constructor(
    readonly net: ReplicaNet,
    public mode: Mode,
    readonly voters: string[],
  ) {}

  /** The view every node holds (the same chain everywhere): voters, 3 links, the leader. */
  view(): LinkView {
    const leader = this.net.leader();
    const r = this.net.replica(0) ?? [...this.net.replicas.values()][0]!;
    return linkViewOf(r.state, leader);
  }

  #pairs: { key: string; set: Set<string> } | null = null;

  /** linked(), computed once per view for the whole grid (the simulator asks per message). */
  isLinked(a: string, b: string, view: LinkView): boolean {
    if (this.mode === 'full') return a !== b;
    const key = `${view.leader}|${view.voters.join(',')}|${this.net.replicas.size}`;
    if (this.#pairs?.key !== key) this.#pairs = { key, set: new Set(allLinks([...this.net.ids], view).flatMap(([x, y]) => [`${x}|${y}`, `${y}|${x}`])) };
    return this.#pairs.set.has(`${a}|${b}`);
  }

  #count(kind: string, from: string): void {
    if (!this.counting) return;
    this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
    this.sent.set(from, (this.sent.get(from) ?? 0) + 1);
  }

  #kind(env: Envelope): string {
    return env.kind === 'raft' ? env.msg.type : env.kind;
  }

  /** Drives every node and delivers along links only (the hub has no session to anyone else). */
  settle(): void {
    const view = this.view();
    for (let round = 0; round < 5000; round++) {
      for (const id of this.net.replicas.keys()) this.net.drive(id);
      if (this.net.queue.length === 0) return;
      const batch = this.net.queue;
      this.net.queue = [];
      for (const env of batch) {
        if (!this.isLinked(env.from, env.to, view) || this.net.down.has(env.to)) continue;
        const r = this.net.replicas.get(env.to);
        if (!r) continue;
        this.#count(this.#kind(env), env.from);
        r.receive(env, this.net.clock(env.to));
      }
    }
    throw new Error(`the network did not settle (${this.mode}, ${this.net.queue.length} queued: ${[...new Set(this.net.queue.map((e) => this.#kind(e)))].join(',')})`);
  }

  /**
   * The sync room of each non-voter, as in the browser node: a voter linked to it tells it its
   * certified height when that changes (`head`); a node behind that height and not linked to
   * the leader asks one such voter for a batch and checks it (acceptSynced).
   */
  syncLearners(): void {
    if (this.mode === 'full') return;
    const view = this.view();
    const voters = new Set(view.voters);
    for (const [id, r] of this.net.replicas) {
      if (voters.has(id)) continue;
      const mine = view.voters.filter((v) => this.isLinked(id, v, view) && this.net.replicas.has(v));
      let best: string | null = null;
      for (const v of mine) {
        const h = this.net.replicas.get(v)!.latestCertHeight();
        const key = `${v}>${id}`;
        if (this.told.get(key) !== h) {
          this.told.set(key, h);
          this.#count('head', v);
        }
        if (h > r.raft.applied && (best === null || h > this.net.replicas.get(best)!.latestCertHeight())) best = v;
      }
      const leader = view.leader;
      if (!best || (leader !== null && mine.includes(leader) && r.raft.leader === leader)) continue;
      const source = this.net.replicas.get(best)!;
      for (let guard = 0; guard < 20 && source.latestCertHeight() > r.raft.applied; guard++) {
        const from = r.syncedThrough() + 1;
        this.#count('sync_req', id);
        const batch = source.syncBatch(from, SYNC_BATCH);
        this.#count('sync_resp', best);
        if (batch.entries.length === 0 || !batch.certs[0]) break;
        const refused = r.acceptSynced(batch.entries, batch.certs[0]);
        expect(refused).toBeNull();
        this.net.drive(id);
      }
    }
  }

  step(): void {
    this.net.now += TICK_MS;
    for (const r of this.net.replicas.values()) r.tick();
    this.settle();
    this.syncLearners();
    this.settle();
  }
}

/** Seeds of the learners' keys (they are admitted before they first start). */
const learnerSeed = (i: number) => `mesh-learner-${i}`;

async function buildGrid(learners: number, mode: Mode): Promise<MeshSim> {
  const net = await ReplicaNet.create(VOTERS, { cert_every_ticks: TICKS_PER_BLOCK });
  const sim = new MeshSim(net, mode, [...net.ids]);
  net.elect(0);
  // Admit the learners (auditors: they read and never vote) while they are offline, one
  // membership change per block, then start them all from the genesis.
  const keys = Array.from({ length: learners }, (_, i) => NobleSigner.fromSeed(learnerSeed(i)));
  let seq = net.replica(0).nextSeq(net.ids[0]!);
  for (const k of keys) {
    const tx = net.tx(0, { kind: 'admit', member: k.id, pub: k.publicKey, role: 'auditor', invite: null }, seq++);
    expect(net.replica(0).submit(tx.bytes, net.clock(net.ids[0]!)).ok).toBe(true);
  }
  const t0 = Date.now();
  for (let i = 0; i < learners * 4 && net.replica(0).state.members.size < VOTERS + learners; i++) sim.step();
  if (process.env.MESH_SIM_TIMING) console.log(`admitted ${learners} (${mode}) in ${Date.now() - t0} ms`);
  expect(net.replica(0).state.members.size).toBe(VOTERS + learners);
  // The learners start from a copy of the operator's disk and state (as after a reload of a
  // node that was online): the measurement is of the steady state, not of 193 catch-ups.
  const leader = net.replica(0);
  const disk = net.disks.get(net.ids[0]!)!;
  for (let i = 0; i < learners; i++) {
    const s = NobleSigner.fromSeed(learnerSeed(i));
    net.signers.push(s);
    net.ids.push(s.id);
    net.disks.set(s.id, { hard: { term: 0, vote: null, commit: leader.raft.applied }, log: [...disk.log.slice(0, leader.raft.applied + 1)], certs: [...disk.certs].filter((c) => c.height <= leader.raft.applied) });
    net.applied.set(s.id, []);
    net.replicas.set(s.id, new Replica({ genesis: net.genesis, id: s.id, verifier: net.verifier, rand: () => 0.5, cert_every_ticks: TICKS_PER_BLOCK, restored: { ...net.disks.get(s.id)!, snapshot: { height: leader.raft.applied, state: leader.state } } }));
  }
  const caughtUp = () => [...net.replicas.values()].every((r) => r.raft.applied === net.replica(0).raft.applied);
  const t1 = Date.now();
  for (let i = 0; i < 400 && !caughtUp(); i++) sim.step();
  expect(caughtUp()).toBe(true);
  if (process.env.MESH_SIM_TIMING) console.log(`caught up (${mode}) in ${Date.now() - t1} ms`);
  return sim;
}

/** Commits `blocks` blocks (one mint each, one per TICKS_PER_BLOCK ticks) and counts every message. */
function measure(sim: MeshSim, blocks: number): Figures {
  const net = sim.net;
  const leader = net.leader()!;
  const start = net.replica(leader).raft.applied;
  sim.counting = true;
  sim.counts.clear();
  sim.sent.clear();
  let seq = net.replica(leader).nextSeq(net.ids[0]!);
  for (let b = 0; b < blocks; b++) {
    const tx = net.tx(0, { kind: 'mint', to: net.ids[1]!, amount: 1, ref: `b${b}` }, seq++);
    expect(net.replica(0).submit(tx.bytes, net.clock(net.ids[0]!)).ok).toBe(true);
    for (let t = 0; t < TICKS_PER_BLOCK; t++) sim.step();
  }
  // Let the last certificate reach everyone; those ticks count too.
  for (let t = 0; t < 2 * TICKS_PER_BLOCK; t++) sim.step();
  sim.counting = false;
  const made = net.replica(leader).raft.applied - start;
  const tip = net.replica(leader).raft.applied;
  const lagging = [...net.replicas.entries()].filter(([, r]) => r.raft.applied < tip).map(([id]) => id);
  expect(lagging).toEqual([]);
  const total = [...sim.counts.values()].reduce((a, b) => a + b, 0);
  const view = sim.view();
  const nodes = [...net.replicas.keys()];
  const links = sim.mode === 'full' ? (nodes.length * (nodes.length - 1)) / 2 : allLinks(nodes, view).length;
  let maxNode = leader;
  for (const [id, n] of sim.sent) if (n > (sim.sent.get(maxNode) ?? 0)) maxNode = id;
  const voters = new Set(view.voters);
  return {
    nodes: nodes.length,
    voters: view.voters.length,
    learners: nodes.length - view.voters.length,
    links,
    blocks: made,
    per_block: Math.round(total / made),
    by_kind: Object.fromEntries([...sim.counts].sort().map(([k, n]) => [k, Math.round((n / made) * 10) / 10])),
    max_sent_per_block: Math.round((sim.sent.get(maxNode) ?? 0) / made),
    max_sent_node: maxNode === leader ? 'leader' : voters.has(maxNode) ? 'voter' : 'learner',
    leader_sent_per_block: Math.round((sim.sent.get(leader) ?? 0) / made),
    pings_per_s: links * 4,
  };
}

describe('a 200-node grid beyond the full mesh (7 voters, 193 learners)', () => {
  it('messages per block grow linearly with voters + learners; the leader sends a constant number', { timeout: 600_000 }, async () => {
    const figures: Figures[] = [];
    figures.push(measure(await buildGrid(43, 'partial'), BLOCKS));
    // The same 200-node grid, measured in the partial mesh, then with every pair linked (after
    // a few blocks in which the leader's Raft finds the learners it could not reach before).
    const sim = await buildGrid(193, 'partial');
    figures.push(measure(sim, BLOCKS));
    sim.mode = 'full';
    measure(sim, 3);
    figures.push(measure(sim, BLOCKS));
    const [p50, p200, f200] = figures as [Figures, Figures, Figures];
    console.log(JSON.stringify({ mesh_sim: figures }));
    // Linear: from 50 to 200 nodes (4x) the messages per block grow by about 4x, not 16x.
    const growth = p200.per_block / p50.per_block;
    expect(growth).toBeGreaterThan(2);
    expect(growth).toBeLessThan(5);
    // Per node and per block a learner costs a bounded number of messages (heads, sync).
    expect(p200.per_block).toBeLessThan(p200.nodes * 12);
    // Links: 21 among the voters + 3 per learner, against n(n-1)/2 in the full mesh.
    expect(p200.links).toBe(21 + 3 * 193);
    expect(f200.links).toBe((200 * 199) / 2);
    // The leader's own fan-out does not grow with the learners (its followers serve them);
    // in the full mesh it sends to every node.
    expect(Math.abs(p200.leader_sent_per_block - p50.leader_sent_per_block)).toBeLessThanOrEqual(5);
    expect(f200.leader_sent_per_block).toBeGreaterThan(5 * p200.leader_sent_per_block);
    // The busiest node of the partial mesh (a follower serving ~83 learners) sends a tenth of
    // what the full mesh's leader sends.
    expect(p200.max_sent_per_block * 5).toBeLessThan(f200.max_sent_per_block);
  });

  it('learners keep up through a leader change and a voter that stops', { timeout: 300_000 }, async () => {
    const sim = await buildGrid(60, 'partial');
    const net = sim.net;
    const before = net.leader()!;
    const target = net.ids.find((id) => id !== before && net.ids.indexOf(id) < VOTERS)!;
    net.replica(before).raft.transferLeadership(target);
    for (let t = 0; t < 30 && net.leader() !== target; t++) sim.step();
    expect(net.leader()).toBe(target);
    // A voter other than the leader and the operator stops: the learners that linked to it
    // still have two voters.
    const gone = net.ids.slice(1, VOTERS).find((id) => id !== target)!;
    net.crash(gone);
    const f = measure(sim, 6);
    expect(f.blocks).toBe(6);
  });
});
