// Households come and go in the simulator (issue 12): members leave (the node stops, its disk
// stays) and return as the same node, up to 70 % gone at once, while the autopilot demotes the
// absent voters and promotes the present learners. Paced, every checker holds, a commit quorum
// that is up always commits, and the voters return to their target; outpaced, the grid stalls,
// the simulator says why, and it commits again once enough households are back.
import { describe, expect, it } from 'vitest';
import { runSeed } from './cluster.js';

const SEEDS = Number(process.env.SIM_CHURN_SEEDS ?? 3);

describe('simulator: households leave and return', () => {
  it(`${SEEDS} paced seeds: the grid commits whenever a commit quorum of its voters is up, and the voters return to their target`, async () => {
    const failures: string[] = [];
    let demotions = 0;
    let promotions = 0;
    let returns = 0;
    let peak = 0;
    for (let seed = 1; seed <= SEEDS; seed++) {
      const r = await runSeed({ seed, churn: 'paced' });
      // The liveness checker is in r.ok: whenever a commit quorum of the voters was up for 2.5 s, a block committed.
      if (!r.ok) failures.push(`seed ${seed}: ${r.violation} (replay: npm run sim -- --seed ${seed} --churn --trace)`);
      demotions += r.demotions;
      promotions += r.promotions;
      returns += r.returns;
      peak = Math.max(peak, r.max_gone / r.nodes);
    }
    expect(failures).toEqual([]);
    // The churn really ran: voters were demoted and learners promoted, and most members were gone at once.
    expect(demotions).toBeGreaterThanOrEqual(SEEDS * 3);
    expect(promotions).toBeGreaterThanOrEqual(SEEDS * 3);
    expect(returns).toBeGreaterThanOrEqual(SEEDS * 5);
    expect(peak).toBeGreaterThanOrEqual(0.5);
  }, 600_000);

  it('outpaced: voters leave faster than they are demoted, the grid stalls and says why, then commits again once enough return', async () => {
    let stalled = null as Awaited<ReturnType<typeof runSeed>> | null;
    for (let seed = 1; seed <= 6 && !stalled; seed++) {
      const r = await runSeed({ seed, churn: 'outpace' });
      expect(r.ok, `seed ${seed}: ${r.violation} (replay: npm run sim -- --seed ${seed} --churn outpace --trace)`).toBe(true);
      if (r.stalled_because !== null) stalled = r;
    }
    expect(stalled, 'no outpaced seed lost its quorum').not.toBeNull();
    expect(stalled!.stalled_because).toMatch(/^no quorum: \d+ of \d+ voters up, \d+ needed$/);
    expect(stalled!.no_quorum_ms).toBeGreaterThan(0);
    expect(stalled!.committed_after_stall).toBeGreaterThan(0);
  }, 600_000);
});
