// One tab runs a slot's node at a time: navigator.locks holds the slot for the running tab,
// and a BroadcastChannel per slot carries the take-over protocol. Page only; client.ts uses it.
//
// Take-over: the new tab posts `take` and waits for the lock; the running tab, on `take`,
// stops its node (leadership handed over, store closed, worker ended), then releases the lock
// and posts `released`. A running tab that does not answer in time (frozen, hung) can have the
// lock stolen (`steal`): its lock request then fails, and it stops its node on its own.

export type LockMode = 'if_available' | 'wait' | 'steal';

interface TakeMessage {
  t: 'take' | 'released';
  by: string;
}

export const lockName = (slot: string) => `gridledger:${slot}`;
const channelName = (slot: string) => `gridledger-tab:${slot}`;

/** Names of the slot locks some tab of this profile holds now. */
export async function heldSlots(): Promise<Set<string>> {
  if (!navigator.locks?.query) return new Set();
  const q = await navigator.locks.query();
  return new Set((q.held ?? []).map((l) => l.name ?? '').filter((n) => n.startsWith('gridledger:')).map((n) => n.slice('gridledger:'.length)));
}

export class TabLock {
  /** Set by the client: stop the node, before the lock is released to the tab that asked. */
  onAsked: (() => Promise<void>) | null = null;
  /** The lock was taken from this tab without asking (steal): the node must stop at once. */
  onLost: (() => void) | null = null;
  readonly #channel: BroadcastChannel | null;
  readonly #release: () => void;
  #released = false;

  private constructor(
    readonly slot: string,
    release: () => void,
  ) {
    this.#release = release;
    this.#channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(channelName(slot)) : null;
    if (this.#channel) this.#channel.onmessage = (e: MessageEvent<TakeMessage>) => void this.#onMessage(e.data);
  }

  /**
   * The slot's lock, held until released or the tab goes away; null when another tab holds it
   * (`if_available`), or did not let go within `timeout_ms` (`wait`).
   */
  static acquire(slot: string, mode: LockMode, timeout_ms = 8000): Promise<TabLock | null> {
    if (!navigator.locks) return Promise.resolve(new TabLock(slot, () => {}));
    return new Promise((resolve) => {
      let granted: TabLock | null = null;
      let release: () => void = () => {};
      const held = new Promise<void>((r) => (release = r));
      const signal = mode === 'wait' ? AbortSignal.timeout(timeout_ms) : undefined;
      const options: LockOptions = mode === 'if_available' ? { ifAvailable: true } : mode === 'steal' ? { steal: true } : { signal: signal! };
      navigator.locks
        .request(lockName(slot), options, (lock) => {
          if (!lock) return resolve(null);
          granted = new TabLock(slot, release);
          resolve(granted);
          return held;
        })
        .catch(() => {
          // Never granted (the wait timed out), or taken from this tab by a steal.
          if (!granted) resolve(null);
          else if (!granted.#released) {
            granted.#released = true;
            granted.onLost?.();
          }
        });
    });
  }

  /** Asks the tab that runs `slot` to hand it over, and waits for the lock. */
  static async takeOver(slot: string, timeout_ms = 8000): Promise<TabLock | null> {
    const ch = typeof BroadcastChannel === 'function' ? new BroadcastChannel(channelName(slot)) : null;
    ch?.postMessage({ t: 'take', by: crypto.randomUUID() } satisfies TakeMessage);
    try {
      return await TabLock.acquire(slot, 'wait', timeout_ms);
    } finally {
      ch?.close();
    }
  }

  async #onMessage(m: TakeMessage): Promise<void> {
    if (m?.t !== 'take' || this.#released) return;
    try {
      await this.onAsked?.();
    } finally {
      this.#channel?.postMessage({ t: 'released', by: m.by } satisfies TakeMessage);
      this.release();
    }
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#release();
    this.#channel?.close();
  }
}
