// A small network of real replicas (real blocks, signatures and ledger) for named attack
// scenarios: delivery is explicit and synchronous, every Ready is "persisted" at once, and
// each node reads its own clock (the shared virtual time plus its skew).
import { NobleSigner, nobleVerifier, type Verifier } from '../../src/core/keys.js';
import { DEFAULT_PARAMS, type GridParams } from '../../src/core/params.js';
import { createGenesis, type SignedGenesis } from '../../src/core/genesis.js';
import { blockHash, buildBlockSync } from '../../src/core/block.js';
import { Replica, type Certificate, type Envelope, type RaftTuning } from '../../src/core/replica.js';
import { CachingVerifier, signTxSync, type DecodedTx, type Role, type TxBody } from '../../src/core/tx.js';
import { toHex, fromHex } from '../../src/core/bytes.js';
import { frontierAppend, genesisFrontier, nextHistory } from '../../src/core/history.js';
import type { Entry, HardState } from '../../src/core/raft/types.js';
import type { MempoolLimits } from '../../src/core/mempool.js';

export const EPOCH_MS = 1_800_000_000_000;
export const TEN_YEARS_MS = 10 * 365 * 24 * 3600 * 1000;

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

export interface NetOptions {
  params?: Partial<GridParams>;
  tuning?: Partial<RaftTuning>;
  /** Roles of the founders after the operator (n0); default consumers. */
  roles?: Role[];
  /** Ticks between certificate rounds (default 5). */
  cert_every_ticks?: number;
  /** Leaders sign and submit their autopilot's promotions and demotions (as the drivers do). */
  autopilot?: boolean;
  /** Mempool bounds of every replica (the Replica's default otherwise). */
  mempool?: MempoolLimits;
}

export class ReplicaNet {
  readonly signers: NobleSigner[];
  readonly ids: string[];
  genesis!: SignedGenesis;
  readonly replicas = new Map<string, Replica>();
  readonly disks = new Map<string, { hard: HardState; log: Entry[]; certs: Certificate[] }>();
  /** Every committed entry each node applied, in order. */
  readonly applied = new Map<string, Entry[]>();
  queue: Envelope[] = [];
  readonly cut = new Set<string>();
  readonly down = new Set<string>();
  readonly skew_ms = new Map<string, number>();
  now = EPOCH_MS + 1000;
  readonly cache = new CachingVerifier(nobleVerifier);
  /** Signature checks the replicas asked for (cached or not): attack tests count them. */
  verify_calls = 0;
  readonly verifier: Verifier = {
    verify: (pub, msg, sig) => {
      this.verify_calls++;
      return this.cache.verify(pub, msg, sig);
    },
  };
  #tuning: Partial<RaftTuning>;
  #certEvery: number;
  #autopilot: boolean;
  #mempool: MempoolLimits | undefined;
  /** The autopilot's changes the leaders submitted, in order. */
  readonly autopilotLog: { leader: string; kind: 'promote' | 'demote'; member: string; at_ms: number }[] = [];

  private constructor(n: number, tuning: Partial<RaftTuning>, certEvery: number, autopilot: boolean) {
    this.signers = Array.from({ length: n }, (_, i) => NobleSigner.fromSeed(`net-node-${i}`));
    this.ids = this.signers.map((s) => s.id);
    this.#tuning = tuning;
    this.#certEvery = certEvery;
    this.#autopilot = autopilot;
  }

  static async create(n: number, opts: NetOptions = {}): Promise<ReplicaNet> {
    const net = new ReplicaNet(n, opts.tuning ?? {}, opts.cert_every_ticks ?? 5, opts.autopilot ?? false);
    net.#mempool = opts.mempool;
    const roles = opts.roles ?? ['consumer'];
    net.genesis = await createGenesis(net.signers[0]!, {
      name: 'attack grid',
      time_ms: EPOCH_MS,
      params: { ...DEFAULT_PARAMS, interval_ms: 60_000, block_max_wait_ms: 0, ...opts.params },
      members: net.signers.slice(1).map((s, i) => ({ pub: s.publicKey, role: roles[i % roles.length]! })),
    });
    for (const id of net.ids) {
      const chain = new Replica({ genesis: net.genesis, id, verifier: net.verifier, rand: () => 0 }).chain_id;
      net.disks.set(id, { hard: { term: 0, vote: null, commit: 0 }, log: [{ index: 0, term: 0, hash: toHex(chain), block: null }], certs: [] });
      net.applied.set(id, []);
      net.boot(id);
    }
    return net;
  }

  /** Adds a node that is not a founder (a joiner or a spare key): booted from the genesis. */
  addNode(seed: string): NobleSigner {
    const s = NobleSigner.fromSeed(seed);
    this.signers.push(s);
    this.ids.push(s.id);
    const chain = this.replica(0).chain_id;
    this.disks.set(s.id, { hard: { term: 0, vote: null, commit: 0 }, log: [{ index: 0, term: 0, hash: toHex(chain), block: null }], certs: [] });
    this.applied.set(s.id, []);
    this.boot(s.id);
    return s;
  }

  boot(id: string): void {
    const disk = this.disks.get(id)!;
    const i = this.ids.indexOf(id);
    this.replicas.set(
      id,
      new Replica({
        genesis: this.genesis,
        id,
        verifier: this.verifier,
        rand: seededRand(1000 + i * 7919),
        restored: { hard: { ...disk.hard }, log: [...disk.log], certs: [...disk.certs] },
        cert_every_ticks: this.#certEvery,
        tuning: this.#tuning,
        ...(this.#mempool ? { mempool: this.#mempool } : {}),
      }),
    );
    this.down.delete(id);
  }

  crash(id: string): void {
    this.down.add(id);
    this.replicas.delete(id);
  }

  id(i: number | string): string {
    return typeof i === 'number' ? this.ids[i]! : i;
  }

  replica(i: number | string): Replica {
    return this.replicas.get(this.id(i))!;
  }

  signer(i: number | string): NobleSigner {
    return this.signers[this.ids.indexOf(this.id(i))]!;
  }

  clock(id: string): number {
    return this.now + (this.skew_ms.get(id) ?? 0);
  }

  /** Leader duties, then every Ready: persist, queue the messages, advance (apply). */
  drive(id: string): void {
    const r = this.replicas.get(id);
    if (!r) return;
    const signer = this.signer(id);
    const template = r.blockTemplate(this.clock(id));
    if (template) {
      const block = buildBlockSync(template.fields, template.txs.map((t) => t.bytes), signer);
      r.proposeBlock(block, template.txs, this.clock(id));
    }
    for (const req of r.takeSignRequests()) r.signed(req, signer.signSync(r.ackMessageFor(req)));
    const change = this.#autopilot ? r.autopilot(this.clock(id)) : null;
    if (change) {
      const tx = this.tx(id, { kind: change.kind, member: change.member });
      if (r.submit(tx.bytes, this.clock(id)).ok) this.autopilotLog.push({ leader: id, kind: change.kind, member: change.member, at_ms: this.now });
    }
    while (r.hasReady()) {
      const rd = r.ready();
      const disk = this.disks.get(id)!;
      if (rd.hard_state) disk.hard = { ...rd.hard_state };
      if (rd.entries.length > 0) {
        disk.log.length = rd.entries[0]!.index;
        disk.log.push(...rd.entries);
      }
      disk.certs.push(...rd.certs);
      this.queue.push(...rd.messages);
      for (const a of r.advance(rd, this.clock(id))) this.applied.get(id)!.push(a.entry);
    }
  }

  /** Delivers until nothing is left to send. */
  settle(max_rounds = 500): void {
    for (let round = 0; round < max_rounds; round++) {
      for (const id of this.replicas.keys()) this.drive(id);
      if (this.queue.length === 0) return;
      const batch = this.queue;
      this.queue = [];
      for (const env of batch) {
        if (this.cut.has(`${env.from}->${env.to}`) || this.down.has(env.to)) continue;
        this.replicas.get(env.to)?.receive(env, this.clock(env.to));
      }
    }
    throw new Error('the network did not settle');
  }

  tick(times = 1, ids?: string[]): void {
    for (let t = 0; t < times; t++) {
      this.now += 10;
      for (const id of ids ?? [...this.replicas.keys()]) this.replicas.get(id)?.tick();
      this.settle();
    }
  }

  elect(i: number | string): void {
    this.replica(i).raft.campaign();
    this.settle();
  }

  /** Delivers one envelope now (as the network would), then lets everyone react. */
  inject(env: Envelope): ReturnType<Replica['receive']> | undefined {
    const r = this.replicas.get(env.to);
    const out = r?.receive(env, this.clock(env.to));
    this.settle();
    return out;
  }

  isolate(i: number | string): void {
    const id = this.id(i);
    for (const other of this.ids) {
      if (other === id) continue;
      this.cut.add(`${id}->${other}`);
      this.cut.add(`${other}->${id}`);
    }
  }

  heal(): void {
    this.cut.clear();
  }

  leader(): string | null {
    const leaders = [...this.replicas.entries()].filter(([, r]) => r.raft.role === 'leader').map(([id]) => id);
    return leaders.length === 1 ? leaders[0]! : null;
  }

  /** A signed transaction from node `i` with its next sequence number. */
  tx(i: number | string, fields: Record<string, unknown>, seq?: number): DecodedTx {
    const signer = this.signer(i);
    const r = this.replica(i) ?? [...this.replicas.values()][0]!;
    const body = { v: 1, chain: r.chain_id, from: signer.id, seq: seq ?? r.nextSeq(signer.id), ...fields } as unknown as TxBody;
    return signTxSync(body, signer);
  }

  submit(i: number | string, fields: Record<string, unknown>): DecodedTx {
    const tx = this.tx(i, fields);
    const res = this.replica(i).submit(tx.bytes, this.clock(this.id(i)));
    if (!res.ok) throw new Error(`submit refused: ${res.code} ${res.reason}`);
    this.settle();
    return tx;
  }

  /** Committed heights and hashes of node `i`. */
  committedHashes(i: number | string): string[] {
    return this.applied.get(this.id(i))!.map((e) => e.hash);
  }
}

/** A block signed by `signer` on top of `prev`, as an outsider (or a buggy member) would make it. */
export function forgeEntry(
  signer: NobleSigner,
  chain: Uint8Array,
  prev: Entry,
  opts: { term: number; time_ms: number; txs?: DecodedTx[]; /** The log up to `prev`, for a history root that checks. */ log?: Entry[]; params?: GridParams },
): Entry {
  let history: Uint8Array | null = null;
  if (opts.log) {
    let frontier = genesisFrontier(chain);
    for (let i = 1; i <= prev.index; i++) frontier = frontierAppend(frontier, i, fromHex(opts.log[i]!.hash));
    history = nextHistory(opts.params ?? DEFAULT_PARAMS, frontier);
  }
  const block = buildBlockSync(
    { chain, height: prev.index + 1, term: opts.term, prev: fromHex(prev.hash), ...(history ? { history } : {}), time_ms: opts.time_ms },
    (opts.txs ?? []).map((t) => t.bytes),
    signer,
  );
  return { index: prev.index + 1, term: opts.term, hash: toHex(blockHash(block.header)), block };
}
