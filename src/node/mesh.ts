// The partial mesh in the node (core/links.ts): the link view the page's PeerLinks follows, and
// the `head` hints a voter sends the non-voters linked to it (its certified height, its leader).
// Built by node.ts; the worker's API reads view(); the peer hub hands it `head` frames.
import { linkViewOf, type LinkView } from '../core/links.js';
import type { NodeId } from '../core/keys.js';
import type { NodeContext } from './context.js';
import type { PeerHub } from './peer-hub.js';
import type { PeerSession } from './peers.js';

/** How often a voter checks whether its non-voter peers need a new head, and how long a heard leader counts. */
export const MESH_TIMING = {
  head_every_ms: 200,
  /** A voter repeats an unchanged head this often, so a non-voter's leader hint never lapses while it holds a voter link. */
  head_refresh_ms: 3_000,
  heard_leader_ms: 10_000,
} as const;

/** The view as plain data, for the page (comlink cannot clone a Set). */
export interface LinkViewData {
  voters: NodeId[];
  learner_links: number;
  leader: NodeId | null;
  promotable: NodeId[];
  /**
   * Caught up with what its peers have certified: only then is the view the grid's current
   * one. A joiner syncing an old chain sees old voters; pruning by that view would drop the
   * very links it syncs over, so the page prunes only a settled view.
   */
  settled: boolean;
}

export class MeshRoom {
  /** The leader a voter peer named in its last head (for a node whose Raft hears no leader). */
  #heard: { leader: NodeId; at_ms: number } | null = null;
  /** What was last told each session, so a head goes out only when it says something new. */
  readonly #told = new WeakMap<PeerSession, { key: string; at_ms: number }>();
  #timer: ReturnType<typeof setInterval> | null = null;
  /** Heads sent and received (Grid details; the e2e test reads them). */
  readonly stats = { heads_sent: 0, heads_received: 0 };

  constructor(
    private readonly ctx: NodeContext,
    private readonly hub: PeerHub,
    /** A peer said it holds more than we do: the sync room may ask it now. */
    private readonly onAhead: (s: PeerSession) => void,
  ) {
    hub.on('head', (s, f) => {
      const r = ctx.replica;
      this.stats.heads_received++;
      if (!r) return;
      // A height is a hint the sync room checks (a peer that does not deliver it is demoted);
      // a leader counts only from a voter, and only steers which voter to link to.
      if (f.height > s.remote_height) s.remote_height = f.height;
      const voter = r.state.members.get(s.id);
      if (f.leader !== null && voter?.voter && !voter.removed && r.state.members.get(f.leader)?.voter) this.#heard = { leader: f.leader, at_ms: Date.now() };
      if (s.remote_height > r.raft.applied) onAhead(s);
    });
  }

  start(): void {
    this.#timer = setInterval(() => this.#announce(), MESH_TIMING.head_every_ms);
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  /**
   * The leader this node knows. A voter: its own Raft's. A non-voter: the one its voters told
   * it lately, else its own Raft's. A non-voter's Raft hears only a leader it is linked to,
   * and keeps naming it after an election it took no part in; a learner that then leaves the
   * new leader out of its ranking wants a link the new leader never offers (core/links.ts).
   */
  leader(): NodeId | null {
    const r = this.ctx.replica;
    if (!r) return null;
    const h = this.#heard;
    const hinted = h && Date.now() - h.at_ms <= MESH_TIMING.heard_leader_ms ? h.leader : null;
    if (r.raft.isVoter()) return r.raft.leader ?? hinted;
    return hinted ?? r.raft.leader;
  }

  /** This node's link view; null before it knows the chain (then it links to whoever is there). */
  view(): LinkView | null {
    const r = this.ctx.replica;
    return r ? linkViewOf(r.state, this.leader()) : null;
  }

  viewData(): LinkViewData | null {
    const v = this.view();
    const r = this.ctx.replica;
    if (!v || !r) return null;
    const newest = Math.max(0, ...this.hub.authenticated().map((s) => s.remote_height));
    return { voters: [...v.voters], learner_links: v.learner_links, leader: v.leader, promotable: [...v.promotable], settled: r.raft.applied >= newest };
  }

  /** A voter tells each non-voter peer its certified height and leader, when either changed, and now and then anyway. */
  #announce(): void {
    const r = this.ctx.replica;
    if (!r || this.ctx.stopped || !r.raft.isVoter()) return;
    const height = r.latestCertHeight();
    const leader = r.raft.leader;
    const key = `${height}|${leader ?? ''}`;
    const now_ms = Date.now();
    for (const s of this.hub.authenticated()) {
      const m = r.state.members.get(s.id);
      if (m?.voter && !m.removed) continue; // voters hear the leader themselves
      const told = this.#told.get(s);
      if (told?.key === key && now_ms - told.at_ms < MESH_TIMING.head_refresh_ms) continue;
      this.#told.set(s, { key, at_ms: now_ms });
      s.send({ t: 'head', height, leader });
      this.stats.heads_sent++;
    }
  }
}
