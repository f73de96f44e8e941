// Test-only controls: fault injection (cut peers, delay frames, raw bytes, forged and replayed
// transactions) and the benchmark's hooks. Loaded only by the test build's worker (worker.ts,
// `vite build --mode test`); the production bundle never contains this module.
import { apply, genesisState } from '../core/ledger.js';
import { checkGenesis, chainIdOf, decodeGenesis } from '../core/genesis.js';
import { blockHash, buildBlock, decodeBlock } from '../core/block.js';
import { decodeTxUnverified, signTx } from '../core/tx.js';
import { nobleVerifier, nodeIdOf, type NodeId } from '../core/keys.js';
import { fromHex, toHex } from '../core/bytes.js';
import type { Message } from '../core/raft/types.js';
import type { Certificate } from '../core/replica.js';
import type { Entry } from '../core/raft/types.js';
import { WebCryptoVerifier } from './webcrypto-signer.js';
import type { GridNode } from './node.js';
import { fromBase64url, type SubmitFields } from './types.js';

/** A chain forged outside the browser, for the sync benchmark (bench/forge-chain.ts). */
export interface ChainBundle {
  genesis: string; // base64url of the encoded signed genesis
  blocks: string[]; // base64url of each encoded block, heights 1..n
  certs: { height: number; hash: string; acks: { voter: string; sig: string }[] }[];
}

/** Recent transactions' apply times kept for latency measurements. */
const APPLIED_AT_KEPT = 50_000;

export function testControls(node: GridNode) {
  const ctx = node.ctx;
  const faults = { cut: new Set<NodeId>(), delay_ms: 0, dropped: 0, delayed: 0 };
  node.hub.faultFilter = (peer) => {
    if (faults.cut.has(peer)) {
      faults.dropped++;
      return 'drop';
    }
    if (faults.delay_ms > 0) {
      faults.delayed++;
      return faults.delay_ms;
    }
    return 'pass';
  };
  node.faultStats = () => ({ cut: [...faults.cut], delay_ms: faults.delay_ms, dropped: faults.dropped, delayed: faults.delayed });

  const appliedAt = new Map<string, number>();
  node.driver.onApplied((_r, applied) => {
    const at = Date.now();
    for (const a of applied) for (const rc of a.receipts) appliedAt.set(rc.tx, at);
    while (appliedAt.size > APPLIED_AT_KEPT) appliedAt.delete(appliedAt.keys().next().value!);
  });

  let importing: ChainBundle | null = null;
  /** The last submitMany call's turn: calls submit in the order they arrived. */
  let submitting: Promise<void> = Promise.resolve();
  /** submitMany batches handed over and not yet submitted (being checked, or waiting for their turn). */
  let batchesQueued = 0;

  return {
    /**
     * `cut` lists peers whose traffic above the session layer is dropped both ways (a
     * partition, with the links kept up so that healing is immediate); `delay_ms` delays every
     * frame this node sends and receives (a slow peer). Call with {} to heal.
     */
    setFaults(f: { cut?: NodeId[]; delay_ms?: number }): void {
      faults.cut = new Set(f.cut ?? []);
      faults.delay_ms = Math.max(0, Math.min(10_000, Math.floor(f.delay_ms ?? 0)));
      ctx.event(f.cut?.length || f.delay_ms ? `test faults: cut ${f.cut?.length ?? 0} peers, delay ${faults.delay_ms} ms` : 'test faults cleared');
    },

    /**
     * A hostile node's consensus traffic (the outsider of docs/THREAT-MODEL.md): to each
     * authenticated peer, forged Raft messages at `term` — an append carrying a block this node
     * signed (dated ten years ahead, at the height the peer advertised), a heartbeat and an
     * append claiming commits past it, `timeout_now`, vote and pre-vote requests, vote grants.
     * Returns how many messages went out.
     */
    async attackConsensus(term: number): Promise<number> {
      const chain = ctx.replica?.chain_id ?? (ctx.grid ? fromHex(ctx.grid) : null);
      if (!chain) return 0;
      let sent = 0;
      for (const s of node.hub.authenticated()) {
        const h = s.remote_height;
        const block = await buildBlock({ chain, height: h + 1, term, prev: new Uint8Array(32).fill(7), time_ms: Date.now() + 10 * 365 * 86_400_000 }, [], ctx.signer);
        const entry = { index: h + 1, term, hash: toHex(blockHash(block.header)), block };
        const base = { from: ctx.id, to: s.id, term };
        const msgs: Message[] = [
          { ...base, type: 'append', prev_index: h, prev_term: term - 1, entries: [entry], commit: h + 1 },
          { ...base, type: 'heartbeat', commit: h + 5 },
          { ...base, type: 'timeout_now' },
          { ...base, type: 'vote', last_index: h + 1000, last_term: term, transfer: true },
          { ...base, type: 'prevote', last_index: h + 1000, last_term: term, transfer: false },
          { ...base, type: 'vote_resp', reject: false },
          { ...base, type: 'append_resp', index: h + 1000, reject: false, hint_index: 0, hint_term: 0 },
        ];
        for (const msg of msgs) s.send({ t: 'env', env: { kind: 'raft', from: ctx.id, to: s.id, msg } });
        s.send({ t: 'sync_req', from: 1, max: 256 });
        s.send({ t: 'genesis_req' });
        sent += msgs.length + 2;
      }
      return sent;
    },

    /** Raw bytes straight onto the channel to `peer` (malformed-frame floods). */
    injectRaw(peer: NodeId, bytes: Uint8Array): boolean {
      const s = node.hub.sessions.get(peer);
      if (!s) return false;
      s.sendRaw(bytes);
      return true;
    },

    /** Signs a transaction of this node without submitting it (tests replay and forge with it). */
    async signOnly(fields: SubmitFields, seq?: number): Promise<Uint8Array> {
      if (!ctx.replica && !ctx.grid) throw new Error('no grid yet');
      return (await signTx(node.outbox.body(fields, seq), ctx.signer)).bytes;
    },

    /** Sends signed transaction bytes straight to one peer, skipping this node's own checks. */
    sendTxTo(peer: NodeId, bytes: Uint8Array): boolean {
      const s = node.hub.session(peer);
      if (!s) return false;
      s.send({ t: 'env', env: { kind: 'txs', from: ctx.id, to: peer, txs: [bytes] } });
      return true;
    },

    /** The encoded signed transaction `index` of committed block `height`. */
    txBytes(height: number, index: number): Uint8Array | null {
      const r = ctx.replica;
      if (!r || height > r.raft.commit) return null;
      return r.raft.log[height]?.block?.txs[index] ?? null;
    },

    /** How often each transaction appears in the committed chain (drills: exactly once). */
    txOccurrences(ids: string[]): number[] {
      const r = ctx.replica;
      if (!r) return ids.map(() => 0);
      const want = new Map(ids.map((id) => [id, 0]));
      for (let h = 1; h <= r.raft.applied; h++) {
        for (const bytes of r.raft.log[h]?.block?.txs ?? []) {
          const id = decodeTxUnverified(bytes, r.chain_id).id;
          const n = want.get(id);
          if (n !== undefined) want.set(id, n + 1);
        }
      }
      return ids.map((id) => want.get(id)!);
    },

    /** When each transaction was applied here (commit-latency measurements). */
    appliedAt(ids: string[]): (number | null)[] {
      return ids.slice(0, 10_000).map((id) => appliedAt.get(id) ?? null);
    },

    /** Signs and submits `count` transfers to `to` as fast as this worker can; their ids and submit times. */
    async loadTransfers(count: number, to: NodeId): Promise<{ id: string; at: number }[]> {
      const out: { id: string; at: number }[] = [];
      for (let i = 0; i < Math.min(count, 2000); i++) {
        const r = await node.outbox.submit({ kind: 'transfer', to, amount: 1, memo: '' });
        if (r.ok) out.push({ id: r.id, at: Date.now() });
      }
      return out;
    },

    /**
     * The benchmark's load generator (bench/presigned.ts): transactions signed outside the
     * browser by members whose keys the benchmark holds, handed over many at a time. Checked
     * and submitted like transactions a peer relays (WebCrypto first, then the core; to the
     * leader from here). When the call arrived, and how many were accepted or refused why.
     */
    async submitMany(txs: string[]): Promise<{ at: number; ok: number; oks: string; refused: Record<string, number> }> {
      const at = Date.now();
      const r = ctx.replica;
      if (!r) throw new Error('no grid yet');
      // A saturated grid refuses the whole batch before any signature is checked (ADMISSION),
      // and so does an entry whose worker has two batches still to check: the backlog of a
      // CPU-starved entry stays bounded before its transactions even count as waiting.
      const n = Math.min(txs.length, 5000);
      if (r.busy(at) || batchesQueued >= 2) return { at, ok: 0, oks: '0'.repeat(n), refused: { busy: n } };
      batchesQueued++;
      const bytes = txs.slice(0, 5000).map(fromBase64url);
      // Signatures are checked at once; submitting waits for the calls before (sequence order).
      const checked = node.driver.pre.prime(bytes.flatMap((b) => node.driver.pre.sigsOfTx(b)));
      const turn = submitting;
      let done = () => {};
      submitting = new Promise<void>((res) => (done = res));
      try {
        await Promise.all([checked, turn]);
        let ok = 0;
        let oks = '';
        const refused: Record<string, number> = {};
        const now = Date.now();
        for (const b of bytes) {
          const res = r.submit(b, now, { entry: true }); // the benchmark's clients: admission control applies
          oks += res.ok ? '1' : '0';
          if (res.ok) ok++;
          else refused[res.code] = (refused[res.code] ?? 0) + 1;
        }
        ctx.kick();
        return { at, ok, oks, refused };
      } finally {
        batchesQueued--;
        done();
      }
    },

    /** How many of these transactions are committed with a failed receipt (the load generator's check). */
    benchFailed(ids: string[]): number {
      let n = 0;
      for (const id of ids.slice(0, 50_000)) if (ctx.replica?.receipts.get(id)?.receipt.ok === false) n++;
      return n;
    },

    /** The next sequence number of each account, as this node's state and mempool see it (the load generator). */
    benchSeqs(ids: NodeId[]): number[] {
      return ids.slice(0, 10_000).map((id) => ctx.replica?.nextSeq(id) ?? 0);
    },

    /**
     * The operator admits the benchmark's members (keys held by the benchmark, never online:
     * learners that are never caught up, so never promoted); once they are members, `amount`
     * is minted to each. Returns how many of them are members with a balance.
     */
    async benchAdmit(pubs: string[], amount: number): Promise<number> {
      if (!ctx.isOperator()) throw new Error('only the operator admits');
      const ids = pubs.slice(0, 200).map((b64) => {
        const pub = fromBase64url(b64);
        return { pub, member: nodeIdOf(pub) };
      });
      const has = (id: NodeId) => !!ctx.replica?.state.members.get(id);
      for (const { pub, member } of ids) if (!has(member)) await node.outbox.submit({ kind: 'admit', member, pub, role: 'prosumer', invite: null, name: `bench ${member.slice(0, 6)}` });
      // One membership change per block: wait for all of them before minting.
      for (let i = 0; i < 1800 && !ids.every((x) => has(x.member)); i++) await new Promise((r) => setTimeout(r, 100));
      for (const { member } of ids) if (has(member) && ctx.replica!.state.members.get(member)!.balance < amount) await node.outbox.submit({ kind: 'mint', to: member, amount, ref: 'bench' });
      const funded = () => ids.filter((x) => (ctx.replica?.state.members.get(x.member)?.balance ?? 0) >= amount).length;
      // (Twenty mints commit in a block or two; on a loaded machine, allow a minute.)
      for (let i = 0; i < 1800 && funded() < ids.length; i++) await new Promise((r) => setTimeout(r, 100));
      return funded();
    },

    /** Signature verifications per second in this worker: the core's noble path and WebCrypto. */
    async benchVerify(n: number): Promise<{ noble_per_s: number; webcrypto_per_s: number }> {
      const msgs = Array.from({ length: n }, (_, i) => new TextEncoder().encode(`bench ${i} ${Math.random()}`));
      const sigs = await Promise.all(msgs.map((m) => ctx.signer.sign(m)));
      let t = performance.now();
      for (let i = 0; i < n; i++) if (!nobleVerifier.verify(ctx.signer.publicKey, msgs[i]!, sigs[i]!)) throw new Error('verify failed');
      const noble_per_s = n / ((performance.now() - t) / 1000);
      const wc = new WebCryptoVerifier();
      t = performance.now();
      await Promise.all(msgs.map((m, i) => wc.verify(ctx.signer.publicKey, m, sigs[i]!)));
      const webcrypto_per_s = n / ((performance.now() - t) / 1000);
      return { noble_per_s: Math.round(noble_per_s), webcrypto_per_s: Math.round(webcrypto_per_s) };
    },

    /**
     * Makes this fresh node (grid set from the URL, no genesis yet) hold a chain forged outside
     * the browser (bench/forge-chain.ts), so that other tabs can sync from it. Every signature
     * is checked (WebCrypto, then the core); the chain is stored like one replicated here.
     * In parts and base64, because it arrives through page.evaluate.
     */
    async benchImportChain(part: ChainBundle, last: boolean): Promise<{ height: number; txs: number; ms: number } | null> {
      if (ctx.replica) throw new Error('this node holds a chain already');
      const pending = (importing ??= { genesis: part.genesis, blocks: [], certs: [] });
      pending.blocks.push(...part.blocks);
      pending.certs.push(...part.certs);
      if (!last) return null;
      importing = null;
      const t0 = performance.now();
      const genesisBytes = fromBase64url(pending.genesis);
      const signed = decodeGenesis(genesisBytes);
      checkGenesis(signed, ctx.verifier);
      const grid = toHex(chainIdOf(signed.genesis));
      if (ctx.grid !== grid) throw new Error('the bundle is for another grid than this tab');
      const entries: Entry[] = pending.blocks.map((b64) => {
        const block = decodeBlock(fromBase64url(b64));
        return { index: block.header.height, term: block.header.term, hash: toHex(blockHash(block.header)), block };
      });
      const certs: Certificate[] = pending.certs.map((c) => ({ height: c.height, hash: c.hash, acks: c.acks.map((a) => ({ voter: a.voter, sig: fromBase64url(a.sig) })) }));
      // Check and apply in chunks (the verify cache is bounded), ending in a snapshot that the
      // replica starts from.
      let state = genesisState(signed, ctx.verifier);
      for (let i = 0; i < entries.length; i += 500) {
        const chunk = entries.slice(i, i + 500);
        await node.driver.pre.prime(node.driver.pre.sigsOfEntries(chunk));
        for (const e of chunk) state = apply(state, e.block!, ctx.verifier).state;
      }
      await node.driver.adoptCheckedChain(signed, genesisBytes, grid, entries, certs, state);
      const txs = entries.reduce((n, e) => n + (e.block?.txs.length ?? 0), 0);
      ctx.event(`imported a chain of ${entries.length} blocks, ${txs} transactions`);
      return { height: ctx.replica!.raft.applied, txs, ms: Math.round(performance.now() - t0) };
    },
  };
}

export type TestControls = ReturnType<typeof testControls>;
