// Lost devices in the simulator (issue 12): during the faults, households' disks are wiped and
// they come back with new keys, re-keyed by the operator's invite. Every checker holds (Raft's
// and the ledger's, orphaned references included), the cluster converges, and on every member
// the old id is retired to the new one, which holds the account and catches up from nothing.
import { describe, expect, it } from 'vitest';
import { runSeed } from './cluster.js';

const SEEDS = Number(process.env.SIM_REKEY_SEEDS ?? 10);

describe('simulator: lost devices re-keyed', () => {
  it(`${SEEDS} seeds (5 founding voters) with two devices lost and re-keyed each break nothing`, async () => {
    const failures: string[] = [];
    let rekeyed = 0;
    let fewest = Infinity;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = await runSeed({ seed, nodes: 5, rekeys: 2 });
      if (!r.ok) failures.push(`seed ${seed}: ${r.violation} (replay: npm run sim -- --seed ${seed} --nodes 5 --rekeys 2 --trace)`);
      rekeyed += r.rekeyed;
      fewest = Math.min(fewest, r.rekeyed);
    }
    expect(failures).toEqual([]);
    // A loss waits while the operator's node is down or busy, or while the other voters could
    // not commit without the lost one; a few seeds' faults leave room for one loss only.
    expect(fewest).toBeGreaterThanOrEqual(1);
    expect(rekeyed).toBeGreaterThanOrEqual(Math.ceil(SEEDS * 1.5));
  }, 600_000);
});
