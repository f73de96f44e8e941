// One form's transaction, from the click to the ledger's answer: the node's verdict before
// signing (preflight), then submit, then pending until a block holds it, then done or a
// failure in plain words. Never "submitted" for something that then fails. Forms call it.
import type { Remote } from 'comlink';
import type { NodeApi } from '../node/worker.js';
import type { SubmitFields } from '../node/types.js';
import type { TxStatus } from '../node/outbox.js';
import { failureText } from './plain.js';

export type Phase = 'idle' | 'checking' | 'refused' | 'pending' | 'done' | 'failed';

const WAIT_MS = 30_000;
const DONE_SHOWN_MS = 20_000;

export class TxAction {
  phase = $state<Phase>('idle');
  message = $state('');
  #run = 0;

  constructor(private readonly api: () => Remote<NodeApi>) {}

  get busy(): boolean {
    return this.phase === 'checking' || this.phase === 'pending';
  }

  set(phase: Phase, message: string): void {
    this.#run++;
    this.phase = phase;
    this.message = message;
  }

  clear(): void {
    this.set('idle', '');
  }

  /**
   * Asks the node what the ledger would say, signs and submits only if it would apply, then
   * waits for the receipt. `fields` must be plain data (never a $state proxy: comlink clones it).
   */
  async run(fields: SubmitFields, done: string, onDone?: () => void): Promise<boolean> {
    const run = ++this.#run;
    const api = this.api();
    this.phase = 'checking';
    this.message = 'Checking with the ledger…';
    const verdict = await api.preflight(fields);
    if (run !== this.#run) return false;
    if (!verdict.ok) {
      this.phase = 'refused';
      this.message = `Not sent: ${verdict.reason}`;
      return false;
    }
    const warn = verdict.warnings.length ? ` ${verdict.warnings.join(' ')}` : '';
    const r = await api.submit(fields);
    if (run !== this.#run) return false;
    if (!r.ok) {
      this.phase = 'failed';
      this.message = `Not sent: ${failureText(r.code, r.reason)}.`;
      return false;
    }
    this.phase = 'pending';
    this.message = `Sent; waiting for the grid to confirm it…${warn}`;
    const started = Date.now();
    const s = await receiptOf(api, r.id, () => {
      if (run !== this.#run) return false;
      if (Date.now() - started > WAIT_MS) this.message = 'Still waiting: the grid may be offline. It stays queued and is sent again.';
      return true;
    });
    if (!s) return false;
    this.phase = s.ok ? 'done' : 'failed';
    this.message = s.ok ? `${done} (confirmed in block ${s.height}).${warn}` : `Failed: ${failureText(s.code)}. Nothing moved.`;
    if (s.ok) {
      onDone?.();
      // "Done" is news for a while, then stale: it goes unless another action replaced it.
      setTimeout(() => run === this.#run && this.clear(), DONE_SHOWN_MS);
    }
    return s.ok;
  }
}

type Committed = Extract<TxStatus, { state: 'committed' }>;

/**
 * Waits until transaction `id` is in a block and returns its receipt, polling the node every
 * 300 ms; `go` runs before each poll, and returning false ends the wait (null).
 */
export async function receiptOf(api: Remote<NodeApi>, id: string, go: () => boolean = () => true): Promise<Committed | null> {
  for (;;) {
    await new Promise((res) => setTimeout(res, 300));
    if (!go()) return null;
    const s = await api.txStatus(id);
    if (s.state === 'committed') return s;
  }
}
