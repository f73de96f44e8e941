// npm run sim -- --seeds N --start S [--nodes K]     runs seeds S..S+N-1, stops at the first violation
// npm run sim -- --seed X --trace                     replays one seed with a readable trace
// npm run sim -- … --rekeys R                          R households lose their device and are re-keyed
// npm run sim -- … --churn [outpace]                   households leave and return (paced: each voter
//                                                      after the last was demoted; outpace: faster, stalls)
// --no-outsider turns the hostile outsider off (it attacks by default); --plant BUG plants a bug
// (send_before_persist, forget_vote, commit_old_term, no_membership_check) the checkers must catch.
// The last line printed is one JSON object: {"seeds","failures","first_failing_seed","seeds_per_s"}.
import { runSeed } from './cluster.js';
import type { PlantedBug } from '../../src/core/raft/types.js';
import type { DriverBug } from './cluster.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const flag = (name: string) => process.argv.includes(`--${name}`);
const int = (name: string, fallback: number) => {
  const v = arg(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) {
    console.error(`--${name} must be a non-negative integer`);
    process.exit(2);
  }
  return n;
};

const single = arg('seed');
const start = single !== undefined ? int('seed', 0) : int('start', 1);
const seeds = single !== undefined ? 1 : int('seeds', 20);
const nodes = arg('nodes') !== undefined ? int('nodes', 5) : undefined;
const rekeys = int('rekeys', 0);
const planted = arg('plant') as PlantedBug | DriverBug | undefined;
const trace = flag('trace') ? (line: string) => console.log(line) : undefined;
const outsider = !flag('no-outsider');
const churn = flag('churn') ? (arg('churn') === 'outpace' ? 'outpace' : 'paced') : undefined;

const began = performance.now();
let failures = 0;
let firstFailing: number | null = null;
let ran = 0;
for (let seed = start; seed < start + seeds; seed++) {
  const r = await runSeed({ seed, nodes, trace, planted_bug: planted, rekeys, outsider, ...(churn ? { churn } : {}) });
  ran++;
  const line = `seed ${seed}: ${r.ok ? 'ok' : 'VIOLATION'} nodes=${r.nodes} height=${r.height} txs=${r.committed_txs} acked=${r.acked_txs} leaders=${r.leaders_elected} crashes=${r.crashes} attacks=${r.attacks} events=${r.events} demoted=${r.demotions} promoted=${r.promotions}${rekeys ? ` rekeyed=${r.rekeyed}` : ''}${churn ? ` left=${r.departures} returned=${r.returns} max_gone=${r.max_gone} no_quorum_ms=${r.no_quorum_ms}${r.stalled_because ? ` (${r.stalled_because})` : ''}` : ''}`;
  console.log(line);
  if (!r.ok) {
    failures++;
    firstFailing = seed;
    console.log(`  ${r.violation}`);
    console.log(`  replay: npm run sim -- --seed ${seed}${nodes ? ` --nodes ${nodes}` : ''}${planted ? ` --plant ${planted}` : ''}${rekeys ? ` --rekeys ${rekeys}` : ''}${churn ? ` --churn ${churn}` : ''}${outsider ? '' : ' --no-outsider'} --trace`);
    break;
  }
}
const seconds = (performance.now() - began) / 1000;
console.log(JSON.stringify({ seeds: ran, failures, first_failing_seed: firstFailing, seeds_per_s: Number((ran / seconds).toFixed(3)) }));
process.exit(failures > 0 ? 1 : 0);
