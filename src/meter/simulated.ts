// A simulated smart meter, seeded: household consumption with morning and evening peaks and
// noise, PV production following daylight with passing clouds, and cumulative import/export
// registers like a real meter's. `speed` runs simulated time faster than the wall clock, so a
// demo can live through an hour of grid time in minutes. Deterministic for a seed and the
// sequence of read times.
export type MeterProfile = 'consumer' | 'producer' | 'prosumer';

export interface SimulatedMeterOptions {
  seed: number;
  profile: MeterProfile;
  /** Simulated ms per wall-clock ms. */
  speed: number;
  /** Wall-clock and simulated time at which the meter starts. */
  start_ms: number;
  sim_start_ms?: number;
  /** Peak PV power for producers and prosumers. */
  pv_peak_w?: number;
  /** Average household base load. */
  base_w?: number;
  /** Optional home battery: stores PV surplus and covers the load before importing. */
  battery_wh?: number;
  battery_max_w?: number;
  /** Registers the meter showed last (a resumed meter never runs below them). */
  registers?: { import_wh: number; export_wh: number };
}

export interface MeterRegisters {
  import_wh: number;
  export_wh: number;
  power_import_w: number;
  power_export_w: number;
  sim_time_ms: number;
  battery_wh?: number;
}

const STEP_MS = 60_000; // integrate power in simulated one-minute steps
const HOUR = 3_600_000;

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const bump = (h: number, at: number, width: number) => Math.exp(-(((h - at) / width) ** 2));

export class SimulatedMeter {
  readonly #opts: Required<SimulatedMeterOptions>;
  readonly #rand: () => number;
  #sim_ms: number;
  #import_mwh = 0; // milli-Wh, so whole-Wh registers never lose energy to rounding
  #export_mwh = 0;
  #cloud = 1;
  #charge_mwh = 0; // battery state of charge
  #last: { import_w: number; export_w: number } = { import_w: 0, export_w: 0 };
  stopped = false;

  constructor(opts: SimulatedMeterOptions) {
    const producing = opts.profile !== 'consumer';
    this.#opts = {
      sim_start_ms: opts.start_ms,
      registers: { import_wh: 0, export_wh: 0 },
      pv_peak_w: producing ? (opts.profile === 'producer' ? 6000 : 3500) : 0,
      base_w: opts.profile === 'producer' ? 150 : 450,
      battery_wh: 0,
      battery_max_w: 3000,
      ...opts,
    };
    this.#rand = mulberry32(opts.seed);
    this.#sim_ms = this.#opts.sim_start_ms;
    // Registers of a meter that has been in service for a while.
    this.#import_mwh = Math.floor(this.#rand() * 5_000_000) * 1000;
    this.#export_mwh = producing ? Math.floor(this.#rand() * 3_000_000) * 1000 : 0;
    if (opts.registers) {
      this.#import_mwh = Math.max(this.#import_mwh, opts.registers.import_wh * 1000);
      this.#export_mwh = Math.max(this.#export_mwh, opts.registers.export_wh * 1000);
    }
  }

  /** Household load and PV output at a simulated instant (W). */
  #power(sim_ms: number): { load_w: number; pv_w: number } {
    const h = (((sim_ms % (24 * HOUR)) + 24 * HOUR) % (24 * HOUR)) / HOUR;
    const o = this.#opts;
    const shape = 0.6 + 1.6 * bump(h, 7.5, 1.2) + 2.4 * bump(h, 19, 1.8) + 0.5 * bump(h, 12.5, 1.5);
    const noise = 0.75 + 0.5 * this.#rand();
    const load_w = o.base_w * shape * noise;
    // Clouds drift as a bounded random walk.
    this.#cloud = Math.min(1, Math.max(0.25, this.#cloud + (this.#rand() - 0.5) * 0.2));
    const daylight = Math.max(0, Math.sin((Math.PI * (h - 6.5)) / 13));
    return { load_w, pv_w: o.pv_peak_w * daylight * this.#cloud };
  }

  /** Advances the meter to wall-clock `now_ms` and returns its registers. */
  read(now_ms: number): MeterRegisters {
    const target = this.#opts.sim_start_ms + Math.max(0, now_ms - this.#opts.start_ms) * this.#opts.speed;
    while (!this.stopped && this.#sim_ms < target) {
      const dt = Math.min(STEP_MS, target - this.#sim_ms);
      const { load_w, pv_w } = this.#power(this.#sim_ms);
      let net = load_w - pv_w;
      if (this.#opts.battery_wh > 0) {
        // Charge from surplus, discharge to cover the load, within power and capacity.
        const cap_mwh = this.#opts.battery_wh * 1000;
        const max_w = this.#opts.battery_max_w;
        const want_w = Math.max(-max_w, Math.min(max_w, net)); // + discharge, − charge
        const room_w = want_w > 0 ? (this.#charge_mwh * 3600) / dt : ((cap_mwh - this.#charge_mwh) * 3600) / dt;
        const used_w = Math.sign(want_w) * Math.min(Math.abs(want_w), room_w);
        this.#charge_mwh -= (used_w * dt) / 3600;
        net -= used_w;
      }
      const mwh = (Math.abs(net) * dt) / 3600; // W·ms → mWh
      if (net >= 0) this.#import_mwh += Math.round(mwh);
      else this.#export_mwh += Math.round(mwh);
      this.#last = { import_w: Math.max(0, Math.round(net)), export_w: Math.max(0, Math.round(-net)) };
      this.#sim_ms += dt;
    }
    if (this.stopped) this.#last = { import_w: 0, export_w: 0 };
    return {
      import_wh: Math.floor(this.#import_mwh / 1000),
      export_wh: Math.floor(this.#export_mwh / 1000),
      power_import_w: this.#last.import_w,
      power_export_w: this.#last.export_w,
      sim_time_ms: this.#sim_ms,
      battery_wh: Math.floor(this.#charge_mwh / 1000),
    };
  }
}
