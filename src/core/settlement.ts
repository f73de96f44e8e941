// Settlement of one interval (DESIGN.md §3): for each active contract, in contract order,
// delivered = min(consumer's metered import, producer's export not yet allocated to its
// earlier contracts, what remains of the contract's energy cap, what the escrow can pay
// for); paid at the interval's price when the price is within the contract's limit.
// Integer arithmetic only: cost = floor(energy_wh * price_per_kwh / 1000) in minor units.
import type { Contract, LedgerState } from './state.js';
import type { NodeId } from './keys.js';

export type Outcome =
  | 'settled' // energy delivered and paid
  | 'no_price' // no price published for the interval: nothing trades
  | 'price_above_limit' // the interval price exceeds the contract's max_price
  | 'no_consumption' // the consumer imported nothing (or sent no reading)
  | 'no_delivery' // the producer exported nothing left for this contract (or sent no reading)
  | 'cap_reached' // max_energy_wh already delivered
  | 'no_funds'; // escrow cannot pay for one Wh at this price

export interface Statement {
  interval: number;
  contract: number;
  consumer: NodeId;
  producer: NodeId;
  price: number | null;
  consumed_wh: number; // consumer's metered import in the interval
  available_wh: number; // producer's export still unallocated when this contract's turn came
  delivered_wh: number;
  paid: number;
  grid_wh: number; // consumed but not delivered by the contract: bought from the grid
  outcome: Outcome;
}

const mulDiv = (a: number, b: number, c: number): number => Number((BigInt(a) * BigInt(b)) / BigInt(c));

function settleContract(c: Contract, interval: number, price: number | undefined, consumed: number, available: number): Statement {
  const base = {
    interval,
    contract: c.id,
    consumer: c.consumer,
    producer: c.producer,
    price: price ?? null,
    consumed_wh: consumed,
    available_wh: available,
  };
  const none = (outcome: Statement['outcome']): Statement => ({ ...base, delivered_wh: 0, paid: 0, grid_wh: consumed, outcome });
  if (price === undefined) return none('no_price');
  if (price > c.max_price) return none('price_above_limit');
  if (consumed === 0) return none('no_consumption');
  if (available === 0) return none('no_delivery');
  const cap = c.max_energy_wh - c.delivered_wh;
  if (cap === 0) return none('cap_reached');
  const affordable = price === 0 ? Number.MAX_SAFE_INTEGER : mulDiv(c.locked, 1000, price);
  if (affordable === 0) return none('no_funds');
  const delivered = Math.min(consumed, available, cap, affordable);
  const paid = mulDiv(delivered, price, 1000);
  return { ...base, delivered_wh: delivered, paid, grid_wh: consumed - delivered, outcome: 'settled' };
}

/**
 * Settles every interval whose readings are final (interval <= block interval - lag),
 * then closes contracts whose last interval has settled and refunds their escrow.
 * Mutates `state` (the caller's private copy). Idempotent: settled intervals' readings
 * are dropped and settled_through only moves forward.
 */
export function settleDueIntervals(state: LedgerState): Statement[] {
  const target = Math.floor(state.time_ms / state.params.interval_ms) - state.params.settle_lag_intervals;
  if (target <= state.settled_through) return [];
  const statements: Statement[] = [];
  const due = [...state.energy.keys()].filter((i) => i <= target).sort((a, b) => a - b);
  const byId = [...state.contracts.values()].sort((a, b) => a.id - b.id);
  for (const interval of due) {
    const readings = state.energy.get(interval)!;
    const price = state.prices.get(interval);
    const remaining = new Map<NodeId, number>();
    for (const [id, e] of readings) remaining.set(id, e.export_wh);
    for (const c of byId) {
      if (c.status !== 'active' || interval < c.first_interval || interval > c.last_interval) continue;
      const consumed = readings.get(c.consumer)?.import_wh ?? 0;
      const available = remaining.get(c.producer) ?? 0;
      const s = settleContract(c, interval, price, consumed, available);
      if (s.delivered_wh > 0) {
        remaining.set(c.producer, available - s.delivered_wh);
        c.delivered_wh += s.delivered_wh;
        c.locked -= s.paid;
        c.paid += s.paid;
        state.members.get(c.producer)!.balance += s.paid;
      }
      statements.push(s);
    }
    state.energy.delete(interval);
  }
  // Intervals up to target without any reading need no work: nothing was metered.
  for (const i of [...state.energy.keys()]) if (i <= target) state.energy.delete(i);
  state.settled_through = target;
  for (const c of byId) {
    if (c.status !== 'active' || c.last_interval > target) continue;
    const consumer = state.members.get(c.consumer)!;
    consumer.balance += c.locked;
    c.refunded += c.locked;
    c.locked = 0;
    c.status = c.cancel_requested ? 'cancelled' : 'expired';
    c.closed_interval = target;
    if (state.active_contract.get(c.consumer) === c.id) state.active_contract.delete(c.consumer);
  }
  return statements;
}
