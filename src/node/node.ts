// The browser node's composition root: opens the store and the key, builds the rooms —
// peer hub, driver, sync, outbox, desks, market, wallet, views — and wires them together.
// The worker's API (worker.ts) reaches the rooms through the GridNode it returns.
import { checkGenesis, chainIdOf, createGenesis, decodeGenesis } from '../core/genesis.js';
import { gridParams, type GridParams } from '../core/params.js';
import { toHex } from '../core/bytes.js';
import { NodeContext } from './context.js';
import { NodeStore } from './store.js';
import { WebCryptoSigner } from './webcrypto-signer.js';
import { PeerHub } from './peer-hub.js';
import { Driver } from './driver.js';
import { SyncRoom } from './sync.js';
import { MeshRoom } from './mesh.js';
import { Outbox } from './outbox.js';
import { OperatorDesk } from './operator-desk.js';
import { MemberDesk } from './member-desk.js';
import { VoterInvites } from './voter-invites.js';
import { Door } from './door.js';
import { MarketDriver, type MeterChoice } from './market.js';
import { WalletHistory } from './wallet.js';
import { noFaults, Views } from './views.js';
import { Exports } from './exports.js';
import type { FaultStats } from './types.js';
import type { MeterProfile } from '../meter/simulated.js';

/** Statements reloaded from IndexedDB when a tab resumes (the market keeps at most this many). */
const MAX_STATEMENTS_RESTORED = 2000;

export class GridNode {
  readonly hub: PeerHub;
  readonly driver: Driver;
  readonly sync: SyncRoom;
  readonly mesh: MeshRoom;
  readonly outbox: Outbox;
  readonly operatorDesk: OperatorDesk;
  readonly memberDesk: MemberDesk;
  readonly voterInvites: VoterInvites;
  readonly door: Door;
  readonly market: MarketDriver;
  readonly wallet: WalletHistory;
  readonly views: Views;
  readonly exports: Exports;
  /** Test-only fault counters (test-controls.ts replaces this; production has no faults). */
  faultStats: () => FaultStats = noFaults;
  #marketTimer: ReturnType<typeof setInterval> | null = null;

  private constructor(
    readonly ctx: NodeContext,
    private readonly store: NodeStore,
    /** The key was made when this database was opened (a new node, not a resumed one). */
    readonly created: boolean,
  ) {
    this.hub = new PeerHub(ctx);
    this.driver = new Driver(ctx, store, this.hub);
    this.sync = new SyncRoom(ctx, this.hub, this.driver, () => this.mesh.leader());
    this.mesh = new MeshRoom(ctx, this.hub, (s) => this.sync.ahead(s));
    this.outbox = new Outbox(ctx, this.hub, this.driver);
    this.market = new MarketDriver(ctx.id, (fields) => this.outbox.submit(fields), (choice) => this.driver.saveMeterChoice(choice));
    this.operatorDesk = new OperatorDesk(ctx, this.hub, this.driver, this.outbox, this.market);
    this.memberDesk = new MemberDesk(ctx, this.hub, this.outbox, this.sync);
    this.voterInvites = new VoterInvites(ctx);
    this.door = new Door(ctx, this.hub, this.driver, this.operatorDesk);
    this.wallet = new WalletHistory(ctx, this.driver, () => this.market.statements);
    this.driver.onApplied((r, applied) => {
      for (const a of applied) this.market.onStatements(a.entry.index, a.statements);
      this.market.onState(r.state);
    });
    this.exports = new Exports(ctx);
    this.views = new Views(ctx, this.hub, store, {
      committedTxs: () => this.driver.committed_txs,
      sync: () => this.sync.stats,
      readDenied: () => this.sync.deniedReason,
      outsiderView: () => this.sync.outsiderView,
      faults: () => this.faultStats(),
      joinRequests: () => [...this.operatorDesk.joinRequests.values()],
      depositRequests: () => [...this.operatorDesk.depositRequests],
      leader: () => this.mesh.leader(),
    });
  }

  get id(): string {
    return this.ctx.id;
  }

  get grid(): string | null {
    return this.ctx.grid;
  }

  /** Opens (or creates) the node kept in database `db_name`. */
  static async open(db_name: string, grid_hint: string | null): Promise<GridNode> {
    const store = await NodeStore.open(db_name);
    const loaded = await store.load();
    let signer: WebCryptoSigner;
    if (loaded.identity) signer = await WebCryptoSigner.fromKeyPair(loaded.identity.keys);
    else {
      signer = await WebCryptoSigner.generate();
      await store.saveIdentity({ keys: signer.keyPair, created_ms: Date.now() });
    }
    const node = new GridNode(new NodeContext(signer, loaded.grid?.grid ?? grid_hint), store, !loaded.identity);
    if (!loaded.grid && grid_hint) await node.driver.setGrid(grid_hint);
    if (loaded.grid?.genesis) {
      node.driver.restore(decodeGenesis(loaded.grid.genesis), loaded.grid.genesis, loaded);
      // The statement table as it was: statements are stored with each block's receipts.
      // Receipts are written with relaxed durability, so the last blocks' may be missing; the
      // blocks replayed past the snapshot on restore fill them in.
      const byHeight = new Map((await store.recentStatements(MAX_STATEMENTS_RESTORED, 20_000)).map((b) => [b.height, b.statements]));
      for (const b of node.ctx.replica!.restoredStatements) byHeight.set(b.height, b.statements);
      for (const [height, statements] of [...byHeight].sort((x, y) => x[0] - y[0])) node.market.onStatements(height, statements);
    }
    // The operator's schedule draft as last saved (checked again: the database is not trusted
    // blindly), committed by its node if the chain has none yet.
    const schedule = await store.loadSchedule();
    const r = node.ctx.replica;
    if (schedule) node.market.adoptStored(schedule, r ? Math.floor(Date.now() / r.state.params.interval_ms) + 1 : 0);
    node.#resumeMeter((await store.loadMeterChoice()) as MeterChoice | null);
    node.#start();
    return node;
  }

  #start(): void {
    this.driver.start();
    this.sync.start();
    this.mesh.start();
    this.outbox.start();
    this.#marketTimer = setInterval(() => {
      const r = this.ctx.replica;
      if (r && !this.ctx.stopped) void this.market.tick(r.state, this.ctx.isOperator(), this.ctx.isMember());
    }, 1000);
  }

  async createGrid(name: string, params: Partial<GridParams> = {}): Promise<string> {
    if (this.ctx.replica) throw new Error('this node already belongs to a grid');
    const signed = await createGenesis(this.ctx.signer, { name, time_ms: Date.now(), params: gridParams(params) });
    checkGenesis(signed, this.ctx.verifier);
    const grid = toHex(chainIdOf(signed.genesis));
    await this.driver.adoptGenesis(signed, grid);
    this.ctx.event(`created grid "${name}" as its operator`);
    return grid;
  }

  /** Joins `grid` (from an invite link or a grid URL); the genesis comes from peers. */
  async setGrid(grid: string): Promise<void> {
    if (!/^[0-9a-f]{64}$/.test(grid)) throw new Error('not a grid id');
    if (this.ctx.grid && this.ctx.grid !== grid) throw new Error('this tab already belongs to another grid');
    if (this.ctx.grid === grid) return;
    await this.driver.setGrid(grid);
  }

  /** A simulated meter for this household; `sim_start_hour` sets its clock (UTC hour of day). */
  useSimulatedMeter(profile?: MeterProfile, speed = 1, sim_start_hour?: number): void {
    const p = this.#startSimulated(profile, speed, sim_start_hour);
    this.market.remember({ kind: 'simulated', profile: p, speed, sim_start_hour: sim_start_hour ?? null, at_ms: Date.now() });
  }

  /** The page opened a serial meter: remembered, so that after a reload the page offers to reopen it. */
  rememberSerialMeter(profile: string): void {
    this.market.remember({ kind: 'serial', profile: profile.slice(0, 20), at_ms: Date.now() });
  }

  #startSimulated(profile: MeterProfile | undefined, speed: number, sim_start_hour?: number, since_ms?: number): MeterProfile {
    const state = this.ctx.replica?.state;
    const role = state?.members.get(this.ctx.id)?.role;
    const p: MeterProfile = profile ?? (role === 'producer' || role === 'prosumer' || role === 'consumer' ? role : 'consumer');
    // Registers continue from the last reading on the chain, so a resumed meter never runs backwards.
    const last = state?.meters.get(this.ctx.id);
    this.market.useSimulated(p, parseInt(this.ctx.id.slice(0, 8), 16), speed, sim_start_hour, last ? { import_wh: last.import_wh, export_wh: last.export_wh } : undefined, last ? since_ms : undefined);
    return p;
  }

  /**
   * When the chain's last reading of this household was taken (the end of its interval), for a
   * resumed simulated meter to count the time the tab was closed; at most two simulated days
   * back, so that a long absence costs a bounded catch-up.
   */
  #lastReadingMs(speed: number): number | undefined {
    const state = this.ctx.replica?.state;
    const last = state?.meters.get(this.ctx.id);
    if (!state || !last) return undefined;
    const end = (last.last_interval + 1) * state.params.interval_ms;
    return Math.min(Date.now(), Math.max(end, Date.now() - (2 * 86_400_000) / speed));
  }

  /** After a reload: the simulated meter starts again by itself, its clock where it would be. */
  #resumeMeter(choice: MeterChoice | null): void {
    if (!choice || typeof choice !== 'object') return;
    if (choice.kind === 'simulated' && ['consumer', 'producer', 'prosumer'].includes(choice.profile) && choice.speed >= 1 && choice.speed <= 10_000) {
      const since = this.#lastReadingMs(choice.speed);
      const at = since ?? Date.now();
      const hour = choice.sim_start_hour === null ? undefined : ((choice.sim_start_hour * 3_600_000 + (at - choice.at_ms) * choice.speed) % 86_400_000) / 3_600_000;
      this.#startSimulated(choice.profile, choice.speed, hour, since);
      this.market.remember(choice, true);
    } else if (choice.kind === 'serial' && typeof choice.profile === 'string') this.market.remember(choice, true);
  }

  /** The tab is closing: hand leadership to the most caught-up voter, then close channels. */
  leave(): void {
    this.driver.leave();
    this.sync.stop();
    this.mesh.stop();
    this.outbox.stop();
    if (this.#marketTimer) clearInterval(this.#marketTimer);
    this.hub.closeAll('leaving');
  }

  /**
   * The household moves to another tab: leave as when closing, let the loop finish its pass
   * (so no write is cut short), and close the database; the page then ends the worker.
   */
  async stop(): Promise<void> {
    this.leave();
    await this.driver.idle();
    this.store.close();
  }
}
