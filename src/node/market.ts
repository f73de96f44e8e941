// The node's market duties, run every second in the worker: the operator's node commits its
// price schedule once when the chain has none (every node then derives each interval's price
// from the committed schedule, so prices go on while the operator's tab is closed) and, until
// that schedule is committed, publishes the current and the next interval's price as before;
// a member with a meter signs and submits its reading for each interval that ends
// (cumulative registers at the boundary). Also the meter's state (simulated or Web Serial)
// and the views the market UI reads. Every number shown comes from committed state; the
// meter panel's live power is the only exception, and it is labelled as such.
import { intervalOf, type Contract, type LedgerState } from '../core/ledger.js';
import type { NodeId } from '../core/keys.js';
import type { Statement } from '../core/settlement.js';
import { isHouseholdStatement } from '../market/statement-csv.js';
import { SimulatedMeter, type MeterProfile, type MeterRegisters } from '../meter/simulated.js';
import { checkDraft, defaultDraft, draftFromStored, draftOf, scheduleFields, utcOffsetNow, type ScheduleDraft } from '../market/schedule.js';
import { priceOf, scheduledPrice } from '../core/prices.js';
import { priceView, type PriceView } from './price-view.js';

import type { SubmitFields, SubmitOutcome } from './types.js';

type Submit = (fields: SubmitFields) => Promise<SubmitOutcome>;

export type MeterSource = 'none' | 'simulated' | 'serial';

/** The household's choice of meter, kept in the node's database so that a reload resumes it. */
export type MeterChoice =
  | { kind: 'simulated'; profile: MeterProfile; speed: number; sim_start_hour: number | null; at_ms: number }
  | { kind: 'serial'; profile: string; at_ms: number };

export interface MeterStatus {
  source: MeterSource;
  latest: MeterRegisters | null;
  last_reported_interval: number | null;
  last_result: string;
  errors: Record<string, number>;
  telegrams: number;
  stopped: boolean;
  /** The meter chosen last (kept across reloads); a serial one needs a click to reopen. */
  choice: MeterChoice | null;
  /** The simulated meter was started again by itself after a reload. */
  resumed: boolean;
}

/** A contract as the market view shows it: the ledger's own record. */
export type ContractView = Contract;

export interface MarketView extends PriceView {
  interval: number;
  interval_ms: number;
  interval_ends_ms: number;
  offers: { producer: NodeId; first_interval: number; last_interval: number }[];
  contracts: ContractView[]; // mine (as consumer or producer), newest first
  payouts: { id: number; member: NodeId; amount: number; height: number }[];
  settled_through: number;
  totals: { minted: number; burned: number; balances: number; locked: number };
  /** The schedule to edit: the newest committed one, else the draft the operator's node would commit. */
  schedule: ScheduleDraft;
  my_energy: { interval: number; import_wh: number; export_wh: number }[];
  /** My last reading on the chain (the registers at the end of its interval), if any. */
  my_reading: { last_interval: number; import_wh: number; export_wh: number } | null;
}

const MAX_STATEMENTS = 2000;
const MAX_ENERGY_KEPT = 240;

export class MarketDriver {
  /** The operator's schedule to commit while the chain has none (and the fallback prices until then). */
  draft: ScheduleDraft = defaultDraft(utcOffsetNow());
  readonly statements: (Statement & { height: number })[] = [];
  readonly #myEnergy: { interval: number; import_wh: number; export_wh: number }[] = [];
  #source: MeterSource = 'none';
  #sim: SimulatedMeter | null = null;
  #latest: MeterRegisters | null = null;
  #latest_at = 0;
  #boundary: { interval: number; regs: MeterRegisters } | null = null;
  #reported: number | null = null;
  #lastResult = '';
  readonly #errors: Record<string, number> = {};
  #telegrams = 0;
  readonly #pricesSent = new Map<number, number>(); // interval -> when sent
  #scheduleSent = 0; // when the first schedule was last submitted
  #busy = false;
  #choice: MeterChoice | null = null;
  #resumed = false;

  constructor(
    private readonly id: NodeId,
    private readonly submit: Submit,
    private readonly saveChoice: (c: MeterChoice) => Promise<void> = async () => {},
  ) {}

  /** Remembers the meter chosen (and stores it, unless it is the stored one being resumed). */
  remember(choice: MeterChoice, resumed = false): void {
    this.#choice = choice;
    this.#resumed = resumed;
    if (!resumed) void this.saveChoice(choice);
  }

  // ---- meter sources ----------------------------------------------------------------------

  /**
   * A simulated meter from `registers` on (the last reading on the chain). `since_ms`: when
   * those registers were read, for a meter resumed after the tab was closed: like a real
   * meter it counted the household's energy in the meantime, which the next reading reports.
   */
  useSimulated(profile: MeterProfile, seed: number, speed: number, sim_start_hour?: number, registers?: { import_wh: number; export_wh: number }, since_ms?: number): void {
    const now = since_ms ?? Date.now();
    const day = now - (now % 86_400_000);
    this.#source = 'simulated';
    this.#sim = new SimulatedMeter({
      seed,
      profile,
      speed,
      start_ms: now,
      ...(sim_start_hour !== undefined ? { sim_start_ms: day + sim_start_hour * 3_600_000 } : {}),
      ...(registers ? { registers } : {}),
    });
    this.#latest = this.#sim.read(Date.now());
    this.#latest_at = Date.now();
  }

  /** Stops the simulated meter's registers (a dead meter: readings keep coming, nothing moves). */
  stopMeter(): void {
    if (this.#sim) this.#sim.stopped = true;
  }

  /** A reading parsed on the page from the P1 port (Web Serial). */
  serialReading(regs: MeterRegisters): void {
    if (!Number.isSafeInteger(regs.import_wh) || !Number.isSafeInteger(regs.export_wh) || regs.import_wh < 0 || regs.export_wh < 0) {
      this.meterError('bad_reading');
      return;
    }
    if (this.#latest && (regs.import_wh < this.#latest.import_wh || regs.export_wh < this.#latest.export_wh)) {
      this.meterError('register_backwards');
      return;
    }
    this.#source = 'serial';
    this.#sim = null;
    this.#latest = regs;
    this.#latest_at = Date.now();
    this.#telegrams++;
  }

  meterError(code: string): void {
    this.#errors[code] = (this.#errors[code] ?? 0) + 1;
  }

  meterStatus(): MeterStatus {
    return {
      source: this.#source,
      latest: this.#latest,
      last_reported_interval: this.#reported,
      last_result: this.#lastResult,
      errors: { ...this.#errors },
      telegrams: this.#telegrams,
      stopped: !!this.#sim?.stopped,
      choice: this.#choice,
      resumed: this.#resumed,
    };
  }

  /** The draft kept by the operator's node (or the schedule of the app before committed schedules). */
  adoptStored(stored: unknown, from_interval: number): void {
    const d = draftFromStored(stored, utcOffsetNow(), from_interval);
    if (d) this.draft = d;
  }

  /** The operator committed a schedule itself: no first schedule of the node's own while it is in flight. */
  scheduleCommitted(): void {
    this.#scheduleSent = Date.now();
  }

  setDraft(d: ScheduleDraft): string | null {
    const problem = checkDraft(d);
    if (!problem) this.draft = { hourly: [...d.hourly], utc_offset_min: d.utc_offset_min, overrides: d.overrides.map((o) => ({ ...o })) };
    return problem;
  }

  // ---- applied blocks ---------------------------------------------------------------------

  onStatements(height: number, statements: Statement[]): void {
    for (const s of statements) this.statements.push({ ...s, height });
    if (this.statements.length > MAX_STATEMENTS) this.statements.splice(0, this.statements.length - MAX_STATEMENTS);
  }

  onState(state: LedgerState): void {
    // Record my metered energy per settled-or-open interval for the chart.
    for (const [interval, slot] of state.energy) {
      const mine = slot.get(this.id);
      if (mine && !this.#myEnergy.some((e) => e.interval === interval)) this.#myEnergy.push({ interval, ...mine });
    }
    this.#myEnergy.sort((a, b) => a.interval - b.interval);
    if (this.#myEnergy.length > MAX_ENERGY_KEPT) this.#myEnergy.splice(0, this.#myEnergy.length - MAX_ENERGY_KEPT);
  }

  // ---- the one-second duty ----------------------------------------------------------------

  async tick(state: LedgerState, isOperator: boolean, isMember: boolean): Promise<void> {
    if (this.#busy || !isMember) return;
    this.#busy = true;
    try {
      const now = Date.now();
      const p = state.params;
      const cur = intervalOf(p, now);
      if (isOperator) await this.#publishPrices(state, cur);
      if (isOperator || this.#source === 'none') return;
      if (this.#sim) {
        this.#latest = this.#sim.read(now);
        this.#latest_at = now;
      }
      if (!this.#latest || now - this.#latest_at > 3 * p.interval_ms) return; // no fresh registers
      // The first tick of interval `cur` closes interval cur-1 with the registers read now.
      if (!this.#boundary || this.#boundary.interval < cur - 1) this.#boundary = { interval: cur - 1, regs: this.#latest };
      const b = this.#boundary;
      const last = state.meters.get(this.id)?.last_interval ?? null;
      if (this.#reported !== null && b.interval <= this.#reported) return;
      if (last !== null && b.interval <= last) {
        this.#reported = last;
        return;
      }
      if (b.interval <= state.settled_through) return; // too late for that interval
      const r = await this.submit({ kind: 'meter', interval: b.interval, import_wh: b.regs.import_wh, export_wh: b.regs.export_wh });
      this.#reported = b.interval;
      this.#lastResult = r.ok ? `reading for interval ${b.interval} submitted` : `reading for interval ${b.interval} rejected: ${r.reason}`;
    } finally {
      this.#busy = false;
    }
  }

  async #publishPrices(state: LedgerState, cur: number): Promise<void> {
    // Once a schedule is committed every node prices every interval from it: nothing to send.
    if (state.schedules?.length) return;
    const now = Date.now();
    if (now - this.#scheduleSent > 10_000) {
      this.#scheduleSent = now;
      await this.submit(scheduleFields(this.draft, cur + 1));
    }
    // Until it commits, the current and next intervals' prices as one price tx each.
    for (const interval of [cur, cur + 1]) {
      if (priceOf(state, interval)) continue;
      const sent = this.#pricesSent.get(interval);
      if (sent !== undefined && now - sent < 5000) continue; // in flight
      if (interval === cur && state.settled_through >= cur) continue;
      this.#pricesSent.set(interval, now);
      await this.submit({ kind: 'price', interval, price: scheduledPrice({ effective_interval: 0, ...this.draft }, interval, state.params.interval_ms).price });
    }
    for (const k of this.#pricesSent.keys()) if (k < cur - 2) this.#pricesSent.delete(k);
  }

  // ---- views --------------------------------------------------------------------------------

  view(state: LedgerState): MarketView {
    const p = state.params;
    const cur = intervalOf(p, Date.now());
    const contracts = [...state.contracts.values()]
      .filter((c) => c.consumer === this.id || c.producer === this.id || state.operator === this.id)
      .sort((a, b) => b.id - a.id)
      .slice(0, 50)
      .map((c) => ({ ...c }));
    let balances = 0;
    let locked = 0;
    for (const m of state.members.values()) balances += m.balance;
    for (const c of state.contracts.values()) locked += c.locked;
    return {
      interval: cur,
      interval_ms: p.interval_ms,
      interval_ends_ms: (cur + 1) * p.interval_ms,
      ...priceView(state, cur),
      offers: [...state.offers.values()].map((o) => ({ ...o })),
      contracts,
      payouts: [...state.payouts.values()].map((x) => ({ ...x })),
      settled_through: state.settled_through,
      totals: { minted: state.minted, burned: state.burned, balances, locked },
      schedule: state.schedules?.length ? draftOf(state.schedules[state.schedules.length - 1]!) : { ...this.draft, hourly: [...this.draft.hourly], overrides: this.draft.overrides.map((o) => ({ ...o })) },
      my_energy: [...this.#myEnergy],
      my_reading: state.meters.has(this.id) ? { ...state.meters.get(this.id)! } : null,
    };
  }

  /** My statements (as consumer or producer; everything for the operator), newest last. */
  myStatements(isOperator: boolean, limit: number): (Statement & { height: number })[] {
    const mine = isOperator ? this.statements : this.statements.filter((s) => isHouseholdStatement(s, this.id, false));
    return mine.slice(-limit);
  }
}
