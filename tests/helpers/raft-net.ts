// An in-memory network of Raft cores for the named scenarios: entries carry no blocks,
// delivery is explicit, and each node's "disk" holds only what a Ready told it to persist.
import { Raft } from '../../src/core/raft/raft.js';
import type { Entry, HardState, Message, RaftConfig } from '../../src/core/raft/types.js';

export const SENTINEL: Entry = { index: 0, term: 0, hash: 'chain', block: null };

export function entry(index: number, term: number, tag = ''): Entry {
  return { index, term, hash: `${index}/${term}${tag}`, block: null };
}

/** Builds a log from terms: logOf(1, 1, 2) has entries 1..3 of terms 1, 1, 2. */
export function logOf(...terms: number[]): Entry[] {
  return [SENTINEL, ...terms.map((t, i) => entry(i + 1, t))];
}

function seededRand(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

export interface NodeOptions {
  log?: Entry[];
  hard?: Partial<HardState>;
  learners?: string[];
  config?: Partial<RaftConfig>;
}

export class Net {
  readonly nodes = new Map<string, Raft>();
  readonly disks = new Map<string, { hard: HardState; log: Entry[] }>();
  readonly applied = new Map<string, Entry[]>();
  readonly truncated = new Map<string, Entry[]>();
  queue: Message[] = [];
  /** Dropped links, "a->b". */
  readonly cut = new Set<string>();
  /** Drops messages matching this predicate (in addition to cut links). */
  drop: (m: Message) => boolean = () => false;
  readonly voters: string[];
  readonly #configs = new Map<string, Partial<RaftConfig>>();

  constructor(voters: string[], opts: Record<string, NodeOptions> = {}, shared: Partial<RaftConfig> = {}) {
    this.voters = voters;
    const learners = Object.values(opts).flatMap((o) => o.learners ?? []);
    const everyone = [...voters, ...new Set(learners)];
    everyone.forEach((id, i) => {
      const o = opts[id] ?? {};
      const log = o.log ?? [SENTINEL];
      const hard: HardState = { term: 0, vote: null, commit: 0, ...o.hard };
      this.disks.set(id, { hard: { ...hard }, log: [...log] });
      this.applied.set(id, []);
      this.truncated.set(id, []);
      this.#configs.set(id, { ...shared, ...o.config });
      this.nodes.set(id, this.#make(id, i, this.#configs.get(id)!, { voters, learners: [...new Set(learners)] }));
    });
  }

  #make(id: string, i: number, config: Partial<RaftConfig>, membership: { voters: string[]; learners: string[] }): Raft {
    const disk = this.disks.get(id)!;
    return new Raft(
      {
        id,
        election_ticks: 10,
        heartbeat_ticks: 1,
        pre_vote: false,
        check_quorum: false,
        commit_quorum: 'majority',
        max_entries_per_append: 64,
        max_bytes_per_append: 1 << 20,
        max_inflight_appends: 4,
        max_uncommitted_entries: 1000,
        rand: seededRand(1000 + i * 7919),
        validate: () => null,
        entry_bytes: () => 100,
        ...config,
      },
      { hard: { ...disk.hard }, log: [...disk.log], membership, applied: 0 },
    );
  }

  node(id: string): Raft {
    return this.nodes.get(id)!;
  }

  /** Runs every node's Ready (persist, queue messages, apply, advance). */
  flush(): void {
    for (const [id, raft] of this.nodes) {
      while (raft.hasReady()) {
        const rd = raft.ready();
        const disk = this.disks.get(id)!;
        if (rd.hard_state) disk.hard = { ...rd.hard_state };
        if (rd.entries.length > 0) {
          disk.log.length = rd.entries[0]!.index;
          disk.log.push(...rd.entries);
        }
        this.queue.push(...rd.messages);
        this.applied.get(id)!.push(...rd.committed);
        this.truncated.get(id)!.push(...rd.truncated);
        raft.advance(rd);
      }
    }
  }

  /** Delivers messages until none are left (or `max_rounds` passes). */
  stabilize(max_rounds = 1000): void {
    for (let round = 0; round < max_rounds; round++) {
      this.flush();
      if (this.queue.length === 0) return;
      const batch = this.queue;
      this.queue = [];
      for (const m of batch) {
        if (this.cut.has(`${m.from}->${m.to}`) || this.drop(m)) continue;
        this.nodes.get(m.to)?.step(m);
      }
    }
    throw new Error('network did not stabilise');
  }

  /** Ticks `id` until its election timeout fires, then delivers everything. */
  elect(id: string): void {
    this.node(id).campaign();
    this.stabilize();
  }

  tick(ids: string[], times = 1): void {
    for (let t = 0; t < times; t++) {
      for (const id of ids) this.node(id).tick();
      this.stabilize();
    }
  }

  isolate(id: string): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}->${other}`);
      this.cut.add(`${other}->${id}`);
    }
  }

  heal(): void {
    this.cut.clear();
  }

  /** The leader proposes an entry at its next index, in its term. */
  propose(id: string, tag = ''): boolean {
    const r = this.node(id);
    const ok = r.propose(entry(r.lastIndex() + 1, r.term, tag));
    this.stabilize();
    return ok;
  }

  /** Crash: forget everything not persisted, restart from the disk. */
  restart(id: string): void {
    const i = [...this.nodes.keys()].indexOf(id);
    const m = this.node(id).membership();
    this.applied.set(id, []);
    this.nodes.set(id, this.#make(id, i, this.#configs.get(id)!, m));
  }

  terms(id: string): number[] {
    return this.node(id).log.slice(1).map((e) => e.term);
  }
}
