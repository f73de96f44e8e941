// M-of-N admission in the simulator (issue 15): joiners send their own join requests through a
// member's node, voters' clients endorse them (one time in ten they object), and the
// endorsement that reaches M admits the joiner as a learner, promoted once caught up — all
// under the swarm's faults. Every checker holds, the cluster converges, and every node decides
// each request the same way.
import { describe, expect, it } from 'vitest';
import { runSeed } from './cluster.js';

const SEEDS = Number(process.env.SIM_GOV_SEEDS ?? 8);

describe('simulator: M-of-N admission', () => {
  it(`${SEEDS} seeds under 3-of-N admission break nothing, and joiners are admitted by vote`, async () => {
    const failures: string[] = [];
    let admitted = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = await runSeed({ seed, admission_m: 3 });
      if (!r.ok) failures.push(`seed ${seed}: ${r.violation} (replay: npm run sim -- --seed ${seed} --admission-m 3 --trace)`);
      admitted += r.admitted_by_vote;
    }
    expect(failures).toEqual([]);
    expect(admitted).toBeGreaterThanOrEqual(SEEDS / 2);
  }, 600_000);
});
