// Settlement of one interval (DESIGN.md §3): for each active contract, in contract order,
// delivered = min(consumer's metered import, producer's export not yet allocated to its
// earlier contracts, what remains of the contract's energy cap, what the escrow can pay
// for); paid at the interval's price when the price is within the contract's limit.
// Integer arithmetic only. Three rules (docs/PROTOCOL.md, chosen by the genesis params):
//   rule 1 (chains made before): paid = floor(energy_wh * price_per_kwh / 1000) per interval;
//   rule 2: the exact value energy_wh * price_per_kwh (thousandths of a minor unit) accrues
//   on the contract, whole minor units are paid as they accrue, the remainder carries to the
//   next interval, and at the contract's last interval it is rounded half up, once;
//   rule 3: rule 2's money, plus one energy statement per household and metered interval
//   (its energy, what went through contracts, estimated or not; readings.ts spreads gaps).
import type { Contract, LedgerState } from './state.js';
import type { NodeId } from './keys.js';
import { exactMoney, settlementRuleOf, spreadsGaps, type SettlementRule } from './params.js';
import { priceOf } from './prices.js';

export type Outcome =
  | 'settled' // energy delivered and paid
  | 'no_price' // no price published for the interval: nothing trades
  | 'price_above_limit' // the interval price exceeds the contract's max_price
  | 'no_consumption' // the consumer imported nothing (or sent no reading)
  | 'no_delivery' // the producer exported nothing left for this contract (or sent no reading)
  | 'cap_reached' // max_energy_wh already delivered
  | 'no_funds'; // escrow cannot pay for one Wh at this price

/** A contract's settlement for one interval. */
export interface ContractStatement {
  interval: number;
  contract: number;
  consumer: NodeId;
  producer: NodeId;
  price: number | null;
  consumed_wh: number; // consumer's metered import in the interval
  available_wh: number; // producer's export still unallocated when this contract's turn came
  delivered_wh: number;
  /** Exact value of the energy delivered: delivered_wh × price, in thousandths of a minor unit. */
  value_milli: number;
  /** Minor units moved from the escrow to the producer for this interval (rounding included). */
  paid: number;
  /**
   * Rule 2, the contract's last interval only: the minor unit (0 or 1) that settles the
   * carried remainder by rounding half up. Included in `paid`. Always 0 under rule 1.
   */
  rounding: number;
  grid_wh: number; // consumed but not delivered by the contract: bought from the grid
  outcome: Outcome;
  /** Where the price came from when a committed schedule gave it (absent: a price tx, or none). */
  price_source?: 'schedule' | 'override';
  /** Rule 3: the consumer's or the producer's energy here is a share of a gap (estimated). */
  estimated?: true;
}

/**
 * Rule 3: a household's energy for one interval (`intervals` = 1), or the share of a reading
 * after a gap that fell on intervals already settled (`unmatched`: it went through no
 * contract; it was bought from or sold to the grid). No tokens move for a statement of this
 * kind: the grid's own energy is the operator's to bill at the grid's price (docs/PROTOCOL.md).
 */
export interface EnergyStatement {
  kind: 'energy';
  member: NodeId;
  interval: number; // the first interval
  intervals: number; // how many intervals (more than one only when unmatched)
  import_wh: number;
  export_wh: number;
  bought_wh: number; // of import_wh, delivered through contracts
  sold_wh: number; // of export_wh, delivered through contracts
  /** The interval's price (null: none, or a span of several intervals). */
  price: number | null;
  price_source?: 'schedule' | 'override';
  estimated: boolean; // a share of a reading after a gap, spread evenly
  unmatched: boolean; // fell on settled intervals: grid energy, no contract
}

/** What settlement and the ledger report: contracts' statements and (rule 3) households' energy. */
export type Statement = ContractStatement | EnergyStatement;

export function isContractStatement(s: Statement): s is ContractStatement {
  return !('kind' in s);
}

export function isEnergyStatement(s: Statement): s is EnergyStatement {
  return 'kind' in s && s.kind === 'energy';
}

/** Milli (thousandths of a minor unit) per minor unit: prices are per kWh, energy in Wh. */
export const MILLI_PER_MINOR = 1000;

const mulDiv = (a: number, b: number, c: number): number => Number((BigInt(a) * BigInt(b)) / BigInt(c));

/** Wh the escrow can still pay for at `price` (rule 2 counts the remainder already owed). */
function affordableWh(c: Contract, price: number, rule: SettlementRule): number {
  if (price === 0) return Number.MAX_SAFE_INTEGER;
  if (rule === 1) return mulDiv(c.locked, MILLI_PER_MINOR, price);
  // delivered · price ≤ 1000 · locked − carry keeps the exact value owed within the escrow,
  // so every whole unit paid and the final rounding can always be paid from it.
  const room = BigInt(c.locked) * BigInt(MILLI_PER_MINOR) - BigInt(c.carry_milli ?? 0);
  return Number(room / BigInt(price));
}

function settleContract(
  c: Contract,
  rule: SettlementRule,
  interval: number,
  price: number | undefined,
  consumed: number,
  available: number,
): ContractStatement {
  const base = {
    interval,
    contract: c.id,
    consumer: c.consumer,
    producer: c.producer,
    price: price ?? null,
    consumed_wh: consumed,
    available_wh: available,
    rounding: 0,
  };
  const none = (outcome: Outcome): ContractStatement => ({ ...base, delivered_wh: 0, value_milli: 0, paid: 0, grid_wh: consumed, outcome });
  if (price === undefined) return none('no_price');
  if (price > c.max_price) return none('price_above_limit');
  if (consumed === 0) return none('no_consumption');
  if (available === 0) return none('no_delivery');
  const cap = c.max_energy_wh - c.delivered_wh;
  if (cap === 0) return none('cap_reached');
  const affordable = affordableWh(c, price, rule);
  if (affordable === 0) return none('no_funds');
  const delivered = Math.min(consumed, available, cap, affordable);
  // ≤ interval_energy_max_wh · price_max = 10^14: a safe integer.
  const value_milli = delivered * price;
  const paid = rule === 1 ? Math.floor(value_milli / MILLI_PER_MINOR) : Math.floor(((c.carry_milli ?? 0) + value_milli) / MILLI_PER_MINOR);
  return { ...base, delivered_wh: delivered, value_milli, paid, grid_wh: consumed - delivered, outcome: 'settled' };
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
  const rule = settlementRuleOf(state.params);
  const exact = exactMoney(rule);
  const statements: Statement[] = [];
  const byId = [...state.contracts.values()].sort((a, b) => a.id - b.id);
  const due = new Set([...state.energy.keys()].filter((i) => i <= target));
  // Rule 2 settles every contract's last interval, read or not, so the carried remainder is
  // rounded in a statement of its own interval (one statement per contract and interval).
  const endings = new Set<number>();
  if (exact) {
    for (const c of byId) {
      if (c.status === 'active' && c.last_interval >= c.first_interval && c.last_interval > state.settled_through && c.last_interval <= target) {
        endings.add(c.last_interval);
        due.add(c.last_interval);
      }
    }
  }
  const empty = new Map<NodeId, { import_wh: number; export_wh: number }>();
  for (const interval of [...due].sort((a, b) => a - b)) {
    const readings = state.energy.get(interval);
    // A price tx, else the schedule in force (pruned only after this block's settlement).
    const resolved = priceOf(state, interval);
    const price = resolved?.price;
    const source = resolved && resolved.source !== 'price' ? { price_source: resolved.source } : {};
    const bought = new Map<NodeId, number>();
    const sold = new Map<NodeId, number>();
    const remaining = new Map<NodeId, number>();
    for (const [id, e] of readings ?? empty) remaining.set(id, e.export_wh);
    for (const c of byId) {
      if (c.status !== 'active' || interval < c.first_interval || interval > c.last_interval) continue;
      // An interval nobody metered is settled only for the contracts it ends.
      if (!readings && !(endings.has(interval) && c.last_interval === interval)) continue;
      const consumed = readings?.get(c.consumer)?.import_wh ?? 0;
      const available = remaining.get(c.producer) ?? 0;
      const s: ContractStatement = { ...settleContract(c, rule, interval, price, consumed, available), ...source };
      if (readings?.get(c.consumer)?.estimated || readings?.get(c.producer)?.estimated) s.estimated = true;
      if (s.delivered_wh > 0) {
        remaining.set(c.producer, available - s.delivered_wh);
        bought.set(c.consumer, (bought.get(c.consumer) ?? 0) + s.delivered_wh);
        sold.set(c.producer, (sold.get(c.producer) ?? 0) + s.delivered_wh);
        c.delivered_wh += s.delivered_wh;
        if (exact) c.carry_milli = ((c.carry_milli ?? 0) + s.value_milli) % MILLI_PER_MINOR;
      }
      if (exact && interval === c.last_interval) {
        // The contract's end: the remainder is rounded half up, once. The escrow always
        // covers it (affordableWh keeps carry ≤ 1000 · locked), so it is always paid.
        s.rounding = (c.carry_milli ?? 0) * 2 >= MILLI_PER_MINOR ? 1 : 0;
        s.paid += s.rounding;
        c.carry_milli = 0;
      }
      if (s.paid > 0) {
        c.locked -= s.paid;
        c.paid += s.paid;
        state.members.get(c.producer)!.balance += s.paid;
      }
      statements.push(s);
    }
    if (readings && spreadsGaps(rule)) {
      // Every household's energy of the interval, with what went through contracts.
      for (const [member, e] of [...readings].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        statements.push({
          kind: 'energy',
          member,
          interval,
          intervals: 1,
          import_wh: e.import_wh,
          export_wh: e.export_wh,
          bought_wh: bought.get(member) ?? 0,
          sold_wh: sold.get(member) ?? 0,
          price: price ?? null,
          ...source,
          estimated: e.estimated === true,
          unmatched: false,
        });
      }
    }
    state.energy.delete(interval);
  }
  pinScheduledPrices(state, target);
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

/**
 * Once a schedule exists, the price each newly settled interval got from it is written into
 * `state.prices` (for the last retain_intervals of them, the window prices are kept for), so
 * settled prices stay readable after their schedule is pruned. Chains without a schedule:
 * nothing. Runs before settled_through moves.
 */
function pinScheduledPrices(state: LedgerState, target: number): void {
  if (!state.schedules?.length) return;
  for (let i = Math.max(state.settled_through + 1, target - state.params.retain_intervals); i <= target; i++) {
    if (state.prices.has(i)) continue;
    const p = priceOf(state, i);
    if (p) state.prices.set(i, p.price);
  }
}
