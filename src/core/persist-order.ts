// Which of a Ready's envelopes may leave before the Ready's write is durable (Raft's
// persistence rule, made one function). Called by the node's driver and the simulator's.
import type { HardState } from './raft/types.js';
import type { Envelope, ReplicaReady } from './replica.js';

/** The term and vote of the last hard state that is durable on this node. */
export type DurableVote = Pick<HardState, 'term' | 'vote'>;

/**
 * Splits `rd.messages` into those that may be sent at once and those that must wait until
 * `rd` is durable. Early: transaction relays (they promise nothing about this node's
 * storage), and a leader's appends and heartbeats when this Ready changes neither its term
 * nor its vote — a leader may replicate entries it has not written yet (Raft thesis §10.2.1),
 * since it counts itself in a commit quorum only for entries it has persisted. Everything
 * else, and every acknowledgement (append_resp, vote_resp), waits for the write.
 */
export function splitReady(rd: ReplicaReady, durable: DurableVote): { early: Envelope[]; after: Envelope[] } {
  const hs = rd.hard_state;
  const leaderMaySend = rd.raft.role === 'leader' && (hs === null || (hs.term === durable.term && hs.vote === durable.vote));
  const early: Envelope[] = [];
  const after: Envelope[] = [];
  for (const env of rd.messages) {
    const ok = env.kind === 'txs' || (leaderMaySend && env.kind === 'raft' && (env.msg.type === 'append' || env.msg.type === 'heartbeat'));
    (ok ? early : after).push(env);
  }
  return { early, after };
}

/**
 * Whether a Ready's write may use relaxed durability (no flush to disk before it reports
 * done): only when nothing waits on it — no envelope held for the write (`after` empty), no
 * change of term or vote — and every entry it writes is at or below `certified_height`, so a
 * quorum certificate already shows a quorum holding it durably (a synced batch). A crash may
 * then lose the write, never a promise: the node fetches those blocks again. The next strict
 * write flushes it too (IndexedDB's log is written in order), before any ack that follows.
 */
export function mayRelax(rd: ReplicaReady, after: readonly Envelope[], durable: DurableVote, certified_height: number): boolean {
  const hs = rd.hard_state;
  if (after.length > 0 || (hs !== null && (hs.term !== durable.term || hs.vote !== durable.vote))) return false;
  return rd.entries.length > 0 && rd.entries.every((e) => e.index <= certified_height);
}
