// The node's mesh room (src/node/mesh.ts): which leader a node steers its links by, and the
// `head` frames a voter sends its non-voter peers. A learner's own Raft hears only a leader it
// is linked to and keeps naming it after an election it took no part in; its voters' hint
// must win, or it ranks the new leader in and waits for a link that is never offered.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MESH_TIMING, MeshRoom } from '../../src/node/mesh.js';
import type { NodeContext } from '../../src/node/context.js';
import type { PeerHub } from '../../src/node/peer-hub.js';
import type { PeerSession } from '../../src/node/peers.js';

type HeadHandler = (s: PeerSession, f: { t: 'head'; height: number; leader: string | null }) => void;

/** Members V1..V3 vote, L1 is a learner; `self` is one of them. */
function room(self: string, raftLeader: string | null) {
  const voters = new Set(['V1', 'V2', 'V3']);
  const members = new Map(['V1', 'V2', 'V3', 'L1'].map((id) => [id, { id, voter: voters.has(id), removed: false, role: 'prosumer' }]));
  const raft = { leader: raftLeader, applied: 10, isVoter: () => voters.has(self) };
  const replica = { raft, state: { members, params: {} }, latestCertHeight: () => 10 };
  const ctx = { id: self, replica, stopped: false } as unknown as NodeContext;
  let onHead: HeadHandler | null = null;
  const sent: { to: string; frame: unknown }[] = [];
  const sessions = ['V1', 'V2', 'V3', 'L1'].filter((id) => id !== self).map((id) => ({ id, remote_height: 0, closed: false, send: (frame: unknown) => sent.push({ to: id, frame }) }));
  const hub = {
    on: (t: string, h: HeadHandler) => {
      if (t === 'head') onHead = h;
    },
    authenticated: () => sessions,
  } as unknown as PeerHub;
  const mesh = new MeshRoom(ctx, hub, () => {});
  const head = (from: string, leader: string | null) => onHead!(sessions.find((s) => s.id === from) as unknown as PeerSession, { t: 'head', height: 10, leader });
  return { mesh, raft, head, sent };
}

describe('mesh room', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("a learner follows its voters' hint over the leader its own Raft last heard", () => {
    const { mesh, head } = room('L1', 'V1'); // V1 led when L1 last heard Raft traffic
    expect(mesh.leader()).toBe('V1');
    head('V2', 'V3'); // V3 won an election L1 took no part in
    expect(mesh.leader()).toBe('V3');
    expect(mesh.view()?.leader).toBe('V3');
    // The hint lapses after heard_leader_ms without a head; the Raft's leader is the fallback.
    vi.advanceTimersByTime(MESH_TIMING.heard_leader_ms + 1);
    expect(mesh.leader()).toBe('V1');
  });

  it('a leader named by a non-voter, or naming a non-voter, is ignored', () => {
    const { mesh, head } = room('V1', null);
    head('L1', 'V2');
    expect(mesh.leader()).toBe(null);
    const l = room('L1', 'V1');
    l.head('V2', 'L1');
    expect(l.mesh.leader()).toBe('V1');
  });

  it("a voter steers by its own Raft's leader", () => {
    const { mesh, raft } = room('V2', 'V1');
    expect(mesh.leader()).toBe('V1');
    raft.leader = 'V3';
    expect(mesh.leader()).toBe('V3');
  });

  it('a voter repeats an unchanged head to its non-voters, so the hint never lapses on an idle grid', () => {
    const { mesh, sent } = room('V2', 'V1');
    mesh.start();
    vi.advanceTimersByTime(MESH_TIMING.head_every_ms);
    expect(sent).toEqual([{ to: 'L1', frame: { t: 'head', height: 10, leader: 'V1' } }]); // voters get none
    vi.advanceTimersByTime(MESH_TIMING.head_refresh_ms - MESH_TIMING.head_every_ms - 1);
    expect(sent.length).toBe(1); // nothing new to say yet
    vi.advanceTimersByTime(MESH_TIMING.head_every_ms + 1);
    expect(sent.length).toBe(2);
    expect(MESH_TIMING.head_refresh_ms * 3).toBeLessThanOrEqual(MESH_TIMING.heard_leader_ms);
    mesh.stop();
  });
});
