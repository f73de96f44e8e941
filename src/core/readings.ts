// Meter readings into per-interval energy: a reading holds a household's cumulative
// registers at the end of its interval; the energy since its previous reading is what the
// registers moved. Pure; recordReading is called by the ledger (ledger.ts) only.
//
// Consecutive readings give one interval's energy. A reading after a gap (intervals with no
// reading: the tab was closed) only set a new baseline under rules 1 and 2; under rule 3 the
// energy since the last reading is spread evenly over the gap's intervals (gapShares): the
// shares of intervals not yet settled go into their energy slots, marked estimated, and
// settle against contracts as usual; the shares of intervals already settled are reported at
// once as one unmatched energy statement (grid energy, no contract), marked estimated.
import { LIMITS, settlementRuleOf, spreadsGaps } from './params.js';
import { TxError, type TxOf } from './tx.js';
import type { NodeId } from './keys.js';
import type { IntervalEnergy, LedgerState } from './state.js';
import type { Statement } from './settlement.js';

function deny(code: 'interval_future' | 'interval_closed' | 'reading_stale' | 'reading_backwards' | 'reading_too_large', message: string): never {
  throw new TxError(code, message);
}

/**
 * Energy `total` spread evenly over `n` intervals, whole Wh: the share of the interval at
 * position `k` (0 = the first after the previous reading). Every interval gets ⌊total / n⌋
 * and the first `total mod n` of them one Wh more, so the shares sum to `total` exactly.
 */
export function gapShare(total: number, n: number, k: number): number {
  return Math.floor(total / n) + (k < total % n ? 1 : 0);
}

/** The sum of the shares of the first `m` intervals of the gap (0 ≤ m ≤ n), in closed form. */
export function gapSharesBefore(total: number, n: number, m: number): number {
  return m * Math.floor(total / n) + Math.min(m, total % n);
}

function addEnergy(state: LedgerState, interval: number, member: NodeId, e: IntervalEnergy): void {
  let slot = state.energy.get(interval);
  if (!slot) state.energy.set(interval, (slot = new Map()));
  slot.set(member, e);
}

/**
 * Checks a reading and records it: its energy into the unsettled intervals it covers, and
 * (rule 3, after a gap) the share of already settled intervals as a statement into `out`.
 * Throws TxError before changing anything.
 */
export function recordReading(state: LedgerState, member: NodeId, body: TxOf<'meter'>, now: number, out: Statement[]): void {
  if (body.interval > now) deny('interval_future', `interval ${body.interval} has not begun`);
  if (body.interval <= state.settled_through) deny('interval_closed', `interval ${body.interval} is settled`);
  const last = state.meters.get(member);
  if (last && body.interval <= last.last_interval) deny('reading_stale', `interval ${body.interval} already reported`);
  if (last && (body.import_wh < last.import_wh || body.export_wh < last.export_wh)) {
    deny('reading_backwards', 'a cumulative register went backwards');
  }
  const gaps = spreadsGaps(settlementRuleOf(state.params));
  // The first reading only sets the baseline; so does one after a gap before rule 3.
  if (last && (body.interval === last.last_interval + 1 || gaps)) {
    const n = body.interval - last.last_interval; // the intervals the energy belongs to
    const imp = body.import_wh - last.import_wh;
    const exp = body.export_wh - last.export_wh;
    // Per interval at most what one meter can move: ⌈energy / n⌉ ≤ the limit.
    if (imp > n * LIMITS.interval_energy_max_wh || exp > n * LIMITS.interval_energy_max_wh) {
      deny('reading_too_large', 'more energy than one meter can move in an interval');
    }
    const first = last.last_interval + 1;
    // Intervals first .. settled_through have settled: their shares are grid energy now.
    const settled = Math.max(0, state.settled_through - first + 1);
    if (settled > 0) {
      out.push({
        kind: 'energy',
        member,
        interval: first,
        intervals: settled,
        import_wh: gapSharesBefore(imp, n, settled),
        export_wh: gapSharesBefore(exp, n, settled),
        bought_wh: 0,
        sold_wh: 0,
        price: null,
        estimated: true,
        unmatched: true,
      });
    }
    // The rest (at most settle_lag_intervals + 1 intervals: the reading's interval is not
    // settled) settles with the contracts, estimated when the gap spans more than one interval.
    for (let k = settled; k < n; k++) {
      const e: IntervalEnergy = { import_wh: gapShare(imp, n, k), export_wh: gapShare(exp, n, k) };
      if (n > 1) e.estimated = true;
      addEnergy(state, first + k, member, e);
    }
  }
  state.meters.set(member, { last_interval: body.interval, import_wh: body.import_wh, export_wh: body.export_wh });
}
