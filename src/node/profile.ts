// Where a node's time goes: wall time spent in each stage of its work (decoding frames,
// pre-verifying signatures, the core, IndexedDB, signing, encoding and sending), summed
// since the worker started. Read through status() by the benchmark (docs/PERFORMANCE.md).
export type Stage =
  | 'wire_decode'
  | 'wire_encode'
  | 'preverify'
  | 'core_receive'
  | 'produce_sign'
  | 'persist'
  | 'persist_relaxed'
  | 'persist_issue'
  | 'apply'
  | 'save_applied'
  | 'sync_accept'
  | 'sync_serve'
  | 'status';

export interface StageTotals {
  [stage: string]: { ms: number; count: number };
}

export class StageProfile {
  readonly totals: StageTotals = {};
  readonly since_ms = Date.now();

  add(stage: Stage, ms: number): void {
    const t = (this.totals[stage] ??= { ms: 0, count: 0 });
    t.ms += ms;
    t.count++;
  }

  /** Times a synchronous call. */
  time<T>(stage: Stage, fn: () => T): T {
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      this.add(stage, performance.now() - t0);
    }
  }

  /** Times an asynchronous call, from start to settlement (includes waiting, e.g. on IndexedDB). */
  async timeAsync<T>(stage: Stage, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.add(stage, performance.now() - t0);
    }
  }

  snapshot(): { since_ms: number; stages: StageTotals } {
    const stages: StageTotals = {};
    for (const [k, v] of Object.entries(this.totals)) stages[k] = { ms: Math.round(v.ms), count: v.count };
    return { since_ms: this.since_ms, stages };
  }
}

/** One profile per worker: the peer sessions and the node share it. */
export const profile = new StageProfile();
