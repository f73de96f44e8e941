// The bounded swarm that `npm test` runs, plus checks on the simulator itself: a seed
// replays exactly, and bugs planted on purpose are caught (a checker that cannot fail
// would pass all of this silently). The hostile outsider attacks in every run.
import { describe, expect, it } from 'vitest';
import { runSeed, type SimOptions } from './cluster.js';

const SWARM_SEEDS = Number(process.env.SIM_SEEDS ?? 24);

async function firstCatch(plant: NonNullable<SimOptions['planted_bug']>, maxSeeds: number) {
  for (let seed = 1; seed <= maxSeeds; seed++) {
    const r = await runSeed({ seed, planted_bug: plant });
    if (!r.ok) return { seed, violation: r.violation! };
  }
  return null;
}

describe('deterministic cluster simulation', () => {
  it(`${SWARM_SEEDS} seeds of faults (crashes, partitions, loss, duplication, reordering, joins, transfers) and a hostile outsider break nothing`, async () => {
    const failures: string[] = [];
    let committed = 0;
    let leaders = 0;
    let attacks = 0;
    for (let seed = 1; seed <= SWARM_SEEDS; seed++) {
      const r = await runSeed({ seed });
      if (!r.ok) failures.push(`seed ${seed}: ${r.violation} (replay: npm run sim -- --seed ${seed} --trace)`);
      committed += r.committed_txs;
      leaders += r.leaders_elected;
      attacks += r.attacks;
    }
    expect(failures).toEqual([]);
    expect(committed).toBeGreaterThan(SWARM_SEEDS * 30); // the load really ran
    expect(leaders).toBeGreaterThan(SWARM_SEEDS * 2); // and leaders really changed
    expect(attacks).toBeGreaterThan(SWARM_SEEDS * 50); // and the outsider really attacked
  }, 600_000);

  it('replays a seed exactly', async () => {
    const trace = (lines: string[]) => (l: string) => lines.push(l);
    const a: string[] = [];
    const b: string[] = [];
    const ra = await runSeed({ seed: 7, trace: trace(a) });
    const rb = await runSeed({ seed: 7, trace: trace(b) });
    expect(rb).toEqual(ra);
    expect(b).toEqual(a);
    expect(a.length).toBeGreaterThan(5);
  }, 120_000);

  it('catches a driver that sends before persisting (the persistence contract)', async () => {
    const caught = await firstCatch('send_before_persist', 40);
    expect(caught, 'no seed caught the planted bug').not.toBeNull();
  }, 600_000);

  it('catches a node that takes consensus traffic from anyone (the outsider gets a block committed)', async () => {
    const caught = await firstCatch('no_membership_check', 10);
    expect(caught?.violation).toMatch(/trust|state machine safety|log matching|election safety/);
  }, 300_000);

  it('catches a node that forgets its vote across a crash (two leaders in one term)', async () => {
    const caught = await firstCatch('forget_vote', 80);
    expect(caught?.violation).toMatch(/election safety|leader completeness|state machine safety|log matching/);
  }, 900_000);
});
