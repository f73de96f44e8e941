// The benchmarks' load generator, which is never the limit: extra members whose keys the
// benchmark holds (OpenSSL in Node, as the chain forger signs), admitted and funded by the
// operator. Their transfers are signed in Node and handed to the tabs in batches every 100 ms
// (the test control submitMany), open loop: a batch goes out at its time whether or not the
// tabs answered the last ones. Each batch is one member's next transactions in sequence order,
// through that member's tab, and a member has one batch out at a time: a grid that refuses
// some (`busy` under overload) leaves no gap in the member's sequence numbers — the next batch
// is signed from the first refused number, as a real client would retry — so every accepted
// transaction can apply, instead of failing as `skipped_seq` behind a refused one. Used by
// grid-bench.ts and cpu-profile.ts.
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
  /** Time spent signing the step's transactions in Node, during the step (each batch at its send). */
  sign_ms: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

interface Member {
  signer: OpenSslSigner;
  /** The next sequence number the grid expects of it (accepted ones counted). */
  seq: number;
  /** The tab its transactions go through. */
  tab: number;
  /** A batch of it is with its tab (sent, not answered). */
  out: boolean;
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
    const members: Member[] = Array.from({ length: count }, (_, i) => ({ signer: new OpenSslSigner(), seq: 0, tab: i % tabs.length, out: false }));
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

  /** `n` transfers from member `i`, from its next sequence number on (each pays the next member). */
  #sign(i: number, n: number): { id: string; bytes: string }[] {
    const m = this.members[i]!;
    const to = this.members[(i + 1) % this.members.length]!.signer.id;
    return Array.from({ length: n }, (_, j) => {
      const body = { v: 1, chain: this.chain, from: m.signer.id, seq: m.seq + j, kind: 'transfer', to, amount: 1, memo: '' } as unknown as TxBody;
      const tx = signTxSync(body, m.signer);
      return { id: tx.id, bytes: b64(tx.bytes) };
    });
  }

  /** Offers `rate` tx/s for `seconds`, in batches every `slot_ms`; the tabs may be a subset of the creation's. */
  async offer(rate: number, seconds: number, slot_ms = 100): Promise<OfferResult> {
    const total = Math.round(rate * seconds);
    const slots = Math.max(1, Math.round((seconds * 1000) / slot_ms));
    // Start from the grid's own sequence numbers: a transaction that expired unapplied left none used.
    const seqs = await call<number[]>(this.tabs[0]!.page, 'benchSeqs', this.members.map((m) => m.signer.id));
    this.members.forEach((m, i) => (m.seq = seqs[i] ?? m.seq));
    const byTab = new Map<number, number[]>();
    this.members.forEach((m, i) => {
      if (m.tab < this.tabs.length) byTab.set(m.tab, [...(byTab.get(m.tab) ?? []), i]);
    });
    const tabsUsed = [...byTab.keys()];
    /** Transactions each tab is owed by the schedule and not yet handed over (no member of it was free). */
    const owed = new Map<number, number>(tabsUsed.map((t) => [t, 0]));
    const turn = new Map<number, number>(tabsUsed.map((t) => [t, 0]));
    const subs: Submission[] = [];
    const refused: Record<string, number> = {};
    let accepted = 0;
    let submitted = 0;
    let late_ms = 0;
    let last_dispatch = 0;
    let sign_ms = 0;
    let k = 0;
    const calls: Promise<void>[] = [];
    const t0 = Date.now() + 20;
    for (let s = 0; s < slots; s++) {
      const due = t0 + s * slot_ms;
      await sleep(due - Date.now());
      const now = Date.now();
      late_ms = Math.max(late_ms, now - due);
      const upto = Math.round((total * (s + 1)) / slots);
      for (; k < upto; k++) owed.set(tabsUsed[k % tabsUsed.length]!, owed.get(tabsUsed[k % tabsUsed.length]!)! + 1);
      for (const tab of tabsUsed) {
        const n = owed.get(tab)!;
        const page = this.tabs[tab]?.page;
        if (n === 0 || !page) continue;
        // The tab's next member with no batch out; none free: the tab's share waits a slot.
        const list = byTab.get(tab)!;
        let pick = -1;
        for (let j = 0; j < list.length && pick < 0; j++) {
          const i = list[(turn.get(tab)! + j) % list.length]!;
          if (!this.members[i]!.out) pick = i;
        }
        if (pick < 0) continue;
        turn.set(tab, turn.get(tab)! + 1);
        const m = this.members[pick]!;
        const t_sign = Date.now();
        const batch = this.#sign(pick, Math.min(n, 1000));
        sign_ms += Date.now() - t_sign;
        owed.set(tab, n - batch.length);
        submitted += batch.length;
        m.out = true;
        const sent_at = Date.now();
        // Not awaited: the next batch goes out at its time (the tab orders its calls).
        calls.push(
          call<{ ok: number; oks: string; refused: Record<string, number> }>(page, 'submitMany', batch.map((t) => t.bytes)).then(
            (r) => {
              accepted += r.ok;
              for (const [code, c] of Object.entries(r.refused)) refused[code] = (refused[code] ?? 0) + c;
              batch.forEach((t, j) => r.oks[j] === '1' && subs.push({ tab, id: t.id, at: sent_at }));
              // Accepted up to the first refusal: the member's next batch starts at the refused number.
              const lead = r.oks.indexOf('0');
              m.seq += lead < 0 ? batch.length : lead;
              m.out = false;
            },
            (err: Error) => {
              refused[`call failed: ${err.message.slice(0, 60)}`] = (refused[`call failed: ${err.message.slice(0, 60)}`] ?? 0) + batch.length;
              m.out = false;
            },
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
