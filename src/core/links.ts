// Who keeps a peer link with whom beyond the full mesh (issue 14): voters keep the full mesh
// among themselves; every other node (learner, auditor, guest) links to a few voters. Pure;
// called by the page's PeerLinks (through the node's link view), the node and the simulator.
import type { NodeId } from './keys.js';
import type { LedgerState } from './state.js';
import { sha256 } from './hash.js';
import { toHex, utf8 } from './bytes.js';
import { DEFAULT_LEARNER_LINKS, type GridParams } from './params.js';
import { autopilotConfig } from './autopilot.js';

/**
 * What a node needs to know to decide its links: the current voter set (from its applied
 * ledger), how many voters a non-voter links to, the leader as this node knows it (or null),
 * and the non-voters waiting to be promoted (they link to the leader, who must hear them to
 * see them caught up). Everything comes from the chain except the leader, which only steers
 * one link of a promotable learner: a wrong leader costs a link, never a check.
 */
export interface LinkView {
  voters: readonly NodeId[];
  learner_links: number;
  leader: NodeId | null;
  promotable: ReadonlySet<NodeId>;
}

/** How many voters a non-voter of this grid links to (genesis `learner_links`, or the default). */
export function learnerLinksOf(params: GridParams): number {
  return params.learner_links ?? DEFAULT_LEARNER_LINKS;
}

/**
 * Members that are not voters and may become one now (households, not auditors, while fewer
 * than the autopilot's max_voters vote). They link to the leader: its autopilot promotes only
 * learners it hears from. With every seat taken no learner is promotable, so households beyond
 * max_voters keep their links off the leader until a voter is demoted.
 */
export function promotableOf(state: LedgerState): Set<NodeId> {
  const out = new Set<NodeId>();
  let voters = 0;
  for (const m of state.members.values()) if (m.voter && !m.removed) voters++;
  if (voters >= autopilotConfig(state.params).max_voters) return out;
  for (const m of state.members.values()) if (!m.voter && !m.removed && m.role !== 'auditor') out.add(m.id);
  return out;
}

/** The view a node with this applied state has (leader as its Raft knows it, or as a peer told it). */
export function linkViewOf(state: LedgerState, leader: NodeId | null): LinkView {
  const voters: NodeId[] = [];
  for (const m of state.members.values()) if (m.voter && !m.removed) voters.push(m.id);
  return { voters, learner_links: learnerLinksOf(state.params), leader, promotable: promotableOf(state) };
}

/**
 * Rendezvous (highest-random-weight) rank of voter `v` for non-voter `x`: the voters a node
 * links to change only when one of its own voters leaves or a newcomer outranks one, so a
 * membership change moves about k/|voters| of the learners' links, not all of them.
 */
function weight(x: NodeId, v: NodeId): string {
  return toHex(sha256(utf8(`gridledger-link/v1|${x}|${v}`)));
}

/**
 * The voters non-voter `x` links to, at most `learner_links`: while `x` waits for promotion,
 * the leader first (it must hear `x` to see it caught up), then by rank; otherwise by rank
 * among the voters other than the leader, so that the leader's links and messages do not grow
 * with the learners (its followers serve them), the leader filling in only when too few other
 * voters exist. A leader change moves a link of about 2k/|voters| of the learners.
 */
export function chosenVoters(x: NodeId, view: LinkView): NodeId[] {
  const k = Math.max(1, view.learner_links);
  const voters = [...new Set(view.voters)].filter((v) => v !== x);
  const leader = view.leader !== null && voters.includes(view.leader) ? view.leader : null;
  const ranked = voters
    .filter((v) => v !== leader)
    .map((v) => ({ v, w: weight(x, v) }))
    .sort((a, b) => (a.w < b.w ? 1 : a.w > b.w ? -1 : a.v < b.v ? -1 : 1))
    .map((r) => r.v);
  if (leader === null) return ranked.slice(0, k);
  if (view.promotable.has(x)) return [leader, ...ranked.slice(0, k - 1)];
  return ranked.length >= k ? ranked.slice(0, k) : [...ranked, leader];
}

/**
 * Whether `a` and `b` keep a link: two voters always; a voter and a non-voter when the voter is
 * one of the non-voter's (chosenVoters); two non-voters never. Symmetric, so both ends agree when
 * their views agree; while they do not (a membership change not yet applied on one side), a
 * link exists if either side wants it and is pruned by the non-voter side (see `prunes`).
 */
export function linked(a: NodeId, b: NodeId, view: LinkView): boolean {
  if (a === b) return false;
  const voters = new Set(view.voters);
  const av = voters.has(a);
  const bv = voters.has(b);
  if (av && bv) return true;
  if (!av && !bv) return false;
  const [x, v] = av ? [b, a] : [a, b];
  return chosenVoters(x, view).includes(v);
}

/**
 * Whether `self` closes an existing link to `peer` that its view does not want. Only a
 * non-voter prunes: a voter keeps every link a peer made to it (the peer may know of a
 * membership change the voter has not applied yet), and the non-voter end, which chose it,
 * drops it once it is surplus. So two ends with different views never fight over a link.
 */
export function prunes(self: NodeId, peer: NodeId, view: LinkView): boolean {
  return !view.voters.includes(self) && !linked(self, peer, view);
}

/** Every link of a grid whose nodes all hold `view` (the simulator's topology and the tests' check). */
export function allLinks(nodes: readonly NodeId[], view: LinkView): [NodeId, NodeId][] {
  const out: [NodeId, NodeId][] = [];
  const voters = new Set(view.voters);
  const sorted = [...nodes].sort();
  for (let i = 0; i < sorted.length; i++) {
    const a = sorted[i]!;
    if (voters.has(a)) {
      for (let j = i + 1; j < sorted.length; j++) if (voters.has(sorted[j]!)) out.push([a, sorted[j]!]);
    } else {
      for (const v of chosenVoters(a, view)) out.push(a < v ? [a, v] : [v, a]);
    }
  }
  return out;
}
