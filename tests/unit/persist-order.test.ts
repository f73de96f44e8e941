// splitReady (src/core/persist-order.ts): what may leave before a Ready's write.
import { describe, expect, it } from 'vitest';
import { mayRelax, splitReady } from '../../src/core/persist-order.js';
import type { Envelope, ReplicaReady } from '../../src/core/replica.js';
import type { HardState, Message, Ready, Role } from '../../src/core/raft/types.js';

const raft = (msg: Message): Envelope => ({ kind: 'raft', from: msg.from, to: msg.to, msg });
const append = raft({ type: 'append', from: 'L', to: 'F', term: 3, prev_index: 1, prev_term: 3, entries: [], commit: 1 });
const heartbeat = raft({ type: 'heartbeat', from: 'L', to: 'F', term: 3, commit: 1 });
const ack = raft({ type: 'append_resp', from: 'L', to: 'F', term: 3, index: 2, reject: false, hint_index: 0, hint_term: 0 });
const vote = raft({ type: 'vote_resp', from: 'L', to: 'C', term: 3, reject: false });
const relay: Envelope = { kind: 'txs', from: 'L', to: 'F', txs: [] };
const certReq: Envelope = { kind: 'cert_req', from: 'L', to: 'F', term: 3, height: 1, hash: '00' };
const all = [append, heartbeat, ack, vote, relay, certReq];

function ready(role: Role, hard_state: HardState | null): ReplicaReady {
  const r = { role, hard_state, entries: [], messages: [], committed: [], truncated: [], leader: null, term: 3, needs_noop: false } as Ready;
  return { hard_state, entries: [], certs: [], messages: all, raft: r, outbox_count: 0 };
}

describe('splitReady', () => {
  it("a leader keeping its term and vote sends appends, heartbeats and relays first; acks, votes and the rest after", () => {
    for (const hs of [null, { term: 3, vote: 'L', commit: 7 }]) {
      const { early, after } = splitReady(ready('leader', hs), { term: 3, vote: 'L' });
      expect(early).toEqual([append, heartbeat, relay]);
      expect(after).toEqual([ack, vote, certReq]);
    }
  });

  it('a Ready that changes the term or the vote holds every Raft message until it is written', () => {
    for (const hs of [{ term: 4, vote: 'L', commit: 1 }, { term: 3, vote: null, commit: 1 }]) {
      const { early } = splitReady(ready('leader', hs), { term: 3, vote: 'L' });
      expect(early).toEqual([relay]);
    }
  });

  it('a follower or candidate sends only relays first', () => {
    for (const role of ['follower', 'candidate', 'precandidate'] as const) {
      expect(splitReady(ready(role, null), { term: 3, vote: 'L' }).early).toEqual([relay]);
    }
  });
});

describe('mayRelax', () => {
  const entry = (index: number) => ({ index, term: 3, hash: `h${index}`, block: null });
  const synced = (hard_state: HardState | null, indexes: number[]): ReplicaReady => ({ ...ready('follower', hard_state), messages: [], entries: indexes.map(entry) });

  it('a synced batch below the certified height, with nothing waiting on it, is written relaxed', () => {
    expect(mayRelax(synced(null, [5, 6, 7]), [], { term: 3, vote: 'L' }, 7)).toBe(true);
    expect(mayRelax(synced({ term: 3, vote: 'L', commit: 7 }, [5, 6, 7]), [], { term: 3, vote: 'L' }, 9)).toBe(true);
  });

  it('strict when an entry is above the certified height, an envelope waits, or the term or vote changes', () => {
    expect(mayRelax(synced(null, [7, 8]), [], { term: 3, vote: 'L' }, 7)).toBe(false);
    expect(mayRelax(synced(null, [5]), [ack], { term: 3, vote: 'L' }, 7)).toBe(false);
    expect(mayRelax(synced({ term: 4, vote: null, commit: 5 }, [5]), [], { term: 3, vote: 'L' }, 7)).toBe(false);
    expect(mayRelax(synced({ term: 3, vote: 'C', commit: 5 }, [5]), [], { term: 3, vote: 'L' }, 7)).toBe(false);
    expect(mayRelax(synced({ term: 3, vote: 'L', commit: 5 }, []), [], { term: 3, vote: 'L' }, 7)).toBe(false); // no entries: nothing to gain
  });
});
