// The autopilot (after Consul's): which voter the leader demotes and which learner it promotes,
// from the Raft-level contact it observed. Pure policy; the replica drives it as leader.
//
// The rule (docs/ARCHITECTURE.md, "Voters managed automatically"), one change at a time:
// 1. Demote a voter not heard from for longer than voter_absent_ms (the one silent longest),
//    while the voters heard from recently make a commit quorum, never below LIMITS.voters_min.
// 2. Else promote a caught-up learner connected without a break for the stabilization time,
//    the longest-connected first, while fewer than max_voters vote.
// Contact is what the leader hears in its own term (answers to its appends and heartbeats);
// a new leader knows nothing yet, so it counts every member as heard at the start of its term.
import type { NodeId } from './keys.js';
import { quorumSize } from './block.js';
import { DEFAULT_MAX_VOTERS, DEFAULT_VOTER_ABSENT_MS, LIMITS, type CommitQuorum, type GridParams } from './params.js';

export interface AutopilotConfig {
  max_voters: number;
  /** A voter silent for longer than this is demoted. */
  absent_ms: number;
  /** A learner must be connected this long, without a break, before it is promoted. */
  stable_ms: number;
  /** A silence longer than this breaks a learner's connection (and restarts its stabilization). */
  gap_ms: number;
  min_voters: number;
  commit_quorum: CommitQuorum;
}

/**
 * The autopilot of a grid: its genesis' max_voters and voter_absent_ms (the defaults where
 * an older genesis has none). The stabilization time is a twentieth of the absence
 * threshold (3 s at the default minute), at least LIMITS.autopilot_stable_min_ms: long
 * enough to see a reopened tab answer some thirty heartbeats, short enough that joining
 * stays quick; a break in contact is half of it.
 */
export function autopilotConfig(params: GridParams): AutopilotConfig {
  const absent_ms = params.voter_absent_ms ?? DEFAULT_VOTER_ABSENT_MS;
  const stable_ms = Math.max(Math.ceil(absent_ms / 20), LIMITS.autopilot_stable_min_ms);
  return {
    max_voters: params.max_voters ?? DEFAULT_MAX_VOTERS,
    absent_ms,
    stable_ms,
    gap_ms: Math.ceil(stable_ms / 2),
    min_voters: LIMITS.voters_min,
    commit_quorum: params.commit_quorum,
  };
}

interface Contact {
  last_ms: number;
  /** Since when it has answered without a silence longer than gap_ms. */
  since_ms: number;
}

/**
 * What the leader heard from each member in its current term. Bounded by the membership:
 * the replica records only members and prunes the rest (forget()).
 */
export class ContactLog {
  #term = -1;
  #start_ms = 0;
  readonly #peers = new Map<NodeId, Contact>();

  /** A new term of leadership starts with a clean slate: everyone counts as heard now. */
  lead(term: number, now_ms: number): void {
    if (term === this.#term) return;
    this.#term = term;
    this.#start_ms = now_ms;
    this.#peers.clear();
  }

  /** `id` answered the leader of `term` at `now_ms`. */
  heard(term: number, id: NodeId, now_ms: number, gap_ms: number): void {
    this.lead(term, now_ms);
    const c = this.#peers.get(id);
    if (!c || now_ms - c.last_ms > gap_ms) this.#peers.set(id, { last_ms: now_ms, since_ms: now_ms });
    else c.last_ms = Math.max(c.last_ms, now_ms);
  }

  /** When `id` was last heard (the start of the term if not since). */
  lastHeard(id: NodeId): number {
    return this.#peers.get(id)?.last_ms ?? this.#start_ms;
  }

  /** Since when `id` has been connected without a break, or null if it is not connected now. */
  connectedSince(id: NodeId, now_ms: number, gap_ms: number): number | null {
    const c = this.#peers.get(id);
    return c && now_ms - c.last_ms <= gap_ms ? c.since_ms : null;
  }

  /** Forgets everyone not in `members`. */
  forget(members: ReadonlySet<NodeId>): void {
    for (const id of [...this.#peers.keys()]) if (!members.has(id)) this.#peers.delete(id);
  }

  get size(): number {
    return this.#peers.size;
  }
}

export interface AutopilotView {
  now_ms: number;
  /** The leader itself: always present, never demoted by itself. */
  self: NodeId;
  voters: readonly NodeId[];
  /** Learners that may vote (auditors never do), and whether each holds every committed block. */
  learners: readonly { id: NodeId; caught_up: boolean }[];
  contact: ContactLog;
}

export type AutopilotAction = { kind: 'demote' | 'promote'; member: NodeId; reason: string };

/** The one membership change the autopilot wants now, or null. */
export function decideAutopilot(cfg: AutopilotConfig, v: AutopilotView): AutopilotAction | null {
  const silent = (id: NodeId) => (id === v.self ? 0 : v.now_ms - v.contact.lastHeard(id));
  const n = v.voters.length;
  // 1. Demotion: an absent voter, if the rest can commit without it and enough stay.
  if (n > cfg.min_voters) {
    const present = v.voters.filter((id) => silent(id) <= cfg.stable_ms).length;
    if (present >= quorumSize(n, cfg.commit_quorum)) {
      let worst: NodeId | null = null;
      for (const id of v.voters) {
        if (id === v.self || silent(id) <= cfg.absent_ms) continue;
        if (worst === null || silent(id) > silent(worst) || (silent(id) === silent(worst) && id < worst)) worst = id;
      }
      if (worst !== null) return { kind: 'demote', member: worst, reason: `not heard from for ${silent(worst)} ms` };
    }
  }
  // 2. Promotion: the longest-connected caught-up learner, while below the target.
  if (n < cfg.max_voters) {
    let best: { id: NodeId; since: number } | null = null;
    for (const l of v.learners) {
      if (!l.caught_up) continue;
      const since = v.contact.connectedSince(l.id, v.now_ms, cfg.gap_ms);
      if (since === null || v.now_ms - since < cfg.stable_ms) continue;
      if (best === null || since < best.since || (since === best.since && l.id < best.id)) best = { id: l.id, since };
    }
    if (best !== null) return { kind: 'promote', member: best.id, reason: `caught up and connected for ${v.now_ms - best.since} ms` };
  }
  return null;
}
