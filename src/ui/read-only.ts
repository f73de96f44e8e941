// A read-only tab: a second tab of the profile reads the running tab's node over a
// BroadcastChannel instead of running one itself. Page only; client.ts serves and uses it.
//
// The running tab answers only the methods in READ_ONLY — views that change nothing — with
// their counts clamped, at most READ_LIMITS.answer_bytes per answer and a request and byte
// budget per reader. The reader's api has every other method refuse at once: it holds no
// worker and no key, so nothing can be signed there. (Any script of the site could reach
// the key's database anyway: this is about an honest second window, not a security wall.)
import { TokenBucket } from '../core/budget.js';

/** The views a read-only tab may ask for, with how each one's arguments are clamped. */
export const READ_ONLY: Record<string, (args: unknown[]) => unknown[]> = {
  status: () => [],
  members: () => [],
  balances: () => [],
  governance: () => [],
  marketView: () => [],
  meterStatus: () => [],
  blocks: ([before, count]) => [typeof before === 'number' ? before : null, clamp(count, 50)],
  block: ([height]) => [clamp(height, Number.MAX_SAFE_INTEGER)],
  proveTx: ([height, index]) => [clamp(height, Number.MAX_SAFE_INTEGER), clamp(index, 10_000)],
  headerHash: ([height]) => [clamp(height, Number.MAX_SAFE_INTEGER)],
  history: ([limit]) => [clamp(limit, 300)],
  statements: ([limit]) => [clamp(limit, 500)],
  txStatus: ([id]) => [typeof id === 'string' ? id.slice(0, 64) : ''],
  /** The running tab's connection state (signaling), for the status bar. */
  clientState: () => [],
};

export const READ_LIMITS = {
  answer_bytes: 512 * 1024,
  requests_per_s: 40,
  requests_burst: 80,
  bytes_per_s: 2 * 1024 * 1024,
  bytes_burst: 4 * 1024 * 1024,
  readers_max: 8,
  timeout_ms: 3000,
};

function clamp(v: unknown, max: number): number {
  return typeof v === 'number' && Number.isFinite(v) ? Math.max(0, Math.min(Math.floor(v), max)) : 0;
}

type Request = { t: 'req'; id: number; from: string; method: string; args: unknown[] };
type Answer = { t: 'res'; id: number; to: string; ok: true; value: unknown } | { t: 'res'; id: number; to: string; ok: false; error: string };

const channelName = (slot: string) => `gridledger-view:${slot}`;

class ReaderApi {}

/** About how many bytes a value takes (typed arrays by their length). */
export function sizeOf(value: unknown): number {
  return JSON.stringify(value, (_k, v: unknown) => (v instanceof Uint8Array ? v.length : v))?.length ?? 0;
}

/** The running tab's side: answers readers' requests from `call` (the node's API). Returns a stop function. */
export function serveReaders(slot: string, call: (method: string, args: unknown[]) => Promise<unknown>): () => void {
  if (typeof BroadcastChannel !== 'function') return () => {};
  const ch = new BroadcastChannel(channelName(slot));
  const budgets = new Map<string, { requests: TokenBucket; bytes: TokenBucket }>();
  const answer = (a: Answer) => ch.postMessage(a);
  ch.onmessage = async (e: MessageEvent<Request>) => {
    const m = e.data;
    if (m?.t !== 'req' || typeof m.from !== 'string' || typeof m.id !== 'number' || typeof m.method !== 'string') return;
    const refuse = (error: string) => answer({ t: 'res', id: m.id, to: m.from, ok: false, error });
    if (!Object.hasOwn(READ_ONLY, m.method)) return refuse(`read-only: ${m.method} is not a view`);
    let b = budgets.get(m.from);
    if (!b) {
      if (budgets.size >= READ_LIMITS.readers_max) budgets.delete(budgets.keys().next().value!);
      budgets.set(m.from, (b = { requests: new TokenBucket(READ_LIMITS.requests_per_s, READ_LIMITS.requests_burst), bytes: new TokenBucket(READ_LIMITS.bytes_per_s, READ_LIMITS.bytes_burst) }));
    }
    const now = performance.now();
    if (!b.requests.take(now) || b.bytes.available(now) <= 0) return refuse('read-only: too many requests; slow down');
    try {
      const value = await call(m.method, READ_ONLY[m.method]!(Array.isArray(m.args) ? m.args : []));
      const bytes = sizeOf(value);
      b.bytes.charge(performance.now(), bytes);
      if (bytes > READ_LIMITS.answer_bytes) return refuse(`read-only: the answer (${bytes} bytes) is above ${READ_LIMITS.answer_bytes}`);
      answer({ t: 'res', id: m.id, to: m.from, ok: true, value });
    } catch (err) {
      refuse((err as Error).message);
    }
  };
  return () => ch.close();
}

/**
 * The reader's side: an object with the node API's shape whose views are asked of the running
 * tab, and whose every other method refuses ("read-only"). `close` ends it.
 */
export function readerApi<T extends object>(slot: string): { api: T; close: () => void } {
  const ch = new BroadcastChannel(channelName(slot));
  const me = crypto.randomUUID();
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: ReturnType<typeof setTimeout> }>();
  let next = 1;
  ch.onmessage = (e: MessageEvent<Answer>) => {
    const a = e.data;
    if (a?.t !== 'res' || a.to !== me) return;
    const w = waiting.get(a.id);
    if (!w) return;
    waiting.delete(a.id);
    clearTimeout(w.timer);
    if (a.ok) w.resolve(a.value);
    else w.reject(new Error(a.error));
  };
  const ask = (method: string, args: unknown[]) =>
    new Promise<unknown>((resolve, reject) => {
      const id = next++;
      const timer = setTimeout(() => {
        waiting.delete(id);
        reject(new Error('the tab running this household does not answer'));
      }, READ_LIMITS.timeout_ms);
      waiting.set(id, { resolve, reject, timer });
      ch.postMessage({ t: 'req', id, from: me, method, args } satisfies Request);
    });
  // Not a plain object, so that Svelte's $state leaves it as it is (it deep-proxies plain ones).
  const api = new Proxy(new ReaderApi() as T, {
    get: (_t, prop) => {
      if (typeof prop !== 'string' || prop === 'then') return undefined;
      if (Object.hasOwn(READ_ONLY, prop)) return (...args: unknown[]) => ask(prop, args);
      return () => Promise.reject(new Error(`read-only: this tab only reads the household running in another tab (${prop} is not available here)`));
    },
  });
  return { api, close: () => ch.close() };
}
