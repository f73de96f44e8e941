// The benchmarks' load generator, which is never the limit: extra members whose keys the
// benchmark holds (OpenSSL in Node, as the chain forger signs), admitted and funded by the
// operator. Their transfers are signed in Node before each step and handed to the tabs in
// batches every 100 ms (the test control submitMany), open loop: a batch goes out at its time
// whether or not the tab answered the last one. Each member's transactions always go through
// the same tab, in sequence order, so they reach the leader in order. Used by grid-bench.ts
// and cpu-profile.ts.
import { fromHex } from '../src/core/bytes.js';
import { signTxSync, type TxBody } from '../src/core/tx.js';
import { call, status, waitFor, type Tab } from '../scripts/tabs.js';
import { OpenSslSigner } from './forge-chain.js';

export interface Submission {
  tab: number;
  id: string;
  /** When the benchmark handed it to the tab (Node's clock; the tabs share it). */
  at: number;
}

export interface OfferResult {
  subs: Submission[];
  /** Transactions the step scheduled, and the rate. */
  offered: number;
  offered_tps: number;
  /** Handed to a tab within the step (the generator's own output), and the rate. */
  submitted: number;
  submitted_tps: number;
  /** Accepted into a node's mempool (the rest refused, by reason). */
  accepted: number;
  refused: Record<string, number>;
  /** The worst delay of a batch behind its time in Node's event loop (the generator's health). */
  late_ms: number;
  /** Time spent signing the step's transactions in Node, before the step. */
  sign_ms: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

interface Member {
  signer: OpenSslSigner;
  seq: number;
  /** The tab its transactions go through. */
  tab: number;
}

export class PresignedLoad {
  #k = 0;

  private constructor(
    private readonly tabs: Tab[],
    private readonly chain: Uint8Array,
    private readonly members: Member[],
  ) {}

  /** Admits `count` members through the operator's tab (tabs[0]) and funds them. */
  static async create(tabs: Tab[], count = 20): Promise<PresignedLoad> {
    const operator = tabs[0]!;
    const grid = (await status(operator.page)).grid!;
    const members = Array.from({ length: count }, (_, i) => ({ signer: new OpenSslSigner(), seq: 0, tab: i % tabs.length }));
    const funded = await call<number>(operator.page, 'benchAdmit', members.map((m) => b64(m.signer.publicKey)), 1_000_000_000);
    if (funded < count) throw new Error(`only ${funded} of ${count} benchmark members admitted and funded`);
    // Every tab must know them, or it refuses their transactions as strangers'.
    const ids = members.map((m) => m.signer.id);
    await waitFor('every tab to know the benchmark members', async () => {
      const lists = await Promise.all(tabs.map((t) => call<{ id: string }[]>(t.page, 'members')));
      return lists.every((l) => ids.every((id) => l.some((m) => m.id === id)));
    }, 60_000);
    return new PresignedLoad(tabs, fromHex(grid), members);
  }

  /** The next transfer, round-robin over the members (each pays the next one). */
  #next(): { tab: number; id: string; bytes: string } {
    const i = this.#k++ % this.members.length;
    const m = this.members[i]!;
    const to = this.members[(i + 1) % this.members.length]!.signer.id;
    const body = { v: 1, chain: this.chain, from: m.signer.id, seq: m.seq++, kind: 'transfer', to, amount: 1, memo: '' } as unknown as TxBody;
    const tx = signTxSync(body, m.signer);
    return { tab: m.tab, id: tx.id, bytes: b64(tx.bytes) };
  }

  /** Offers `rate` tx/s for `seconds`, in batches every `slot_ms`; the tabs may be a subset of the creation's. */
  async offer(rate: number, seconds: number, slot_ms = 100): Promise<OfferResult> {
    const total = Math.round(rate * seconds);
    const t_sign = Date.now();
    const txs = Array.from({ length: total }, () => this.#next());
    const sign_ms = Date.now() - t_sign;
    const slots = Math.max(1, Math.round((seconds * 1000) / slot_ms));
    const subs: Submission[] = [];
    const refused: Record<string, number> = {};
    let accepted = 0;
    let submitted = 0;
    let late_ms = 0;
    let last_dispatch = 0;
    const calls: Promise<void>[] = [];
    const t0 = Date.now() + 20;
    let k = 0;
    for (let s = 0; s < slots; s++) {
      const due = t0 + s * slot_ms;
      await sleep(due - Date.now());
      const now = Date.now();
      late_ms = Math.max(late_ms, now - due);
      const upto = Math.round((total * (s + 1)) / slots);
      const byTab = new Map<number, { id: string; bytes: string }[]>();
      for (; k < upto; k++) {
        const tx = txs[k]!;
        const list = byTab.get(tx.tab) ?? [];
        list.push(tx);
        byTab.set(tx.tab, list);
      }
      for (const [tab, list] of byTab) {
        const page = this.tabs[tab]?.page;
        if (!page) continue;
        submitted += list.length;
        for (const tx of list) subs.push({ tab, id: tx.id, at: now });
        // Not awaited: the next batch goes out at its time (the tab orders its calls).
        calls.push(
          call<{ ok: number; refused: Record<string, number> }>(page, 'submitMany', list.map((t) => t.bytes)).then(
            (r) => {
              accepted += r.ok;
              for (const [code, n] of Object.entries(r.refused)) refused[code] = (refused[code] ?? 0) + n;
            },
            (err: Error) => void (refused[`call failed: ${err.message.slice(0, 60)}`] = (refused[`call failed: ${err.message.slice(0, 60)}`] ?? 0) + list.length),
          ),
        );
      }
      last_dispatch = now;
    }
    await Promise.all(calls);
    const span_s = Math.max(slot_ms, last_dispatch - t0 + slot_ms) / 1000;
    return {
      subs,
      offered: total,
      offered_tps: rate,
      submitted,
      submitted_tps: Math.round(submitted / span_s),
      accepted,
      refused,
      late_ms,
      sign_ms,
    };
  }
}
