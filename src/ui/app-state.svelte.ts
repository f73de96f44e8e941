// What the page knows about its node, polled from the worker: status several times a second,
// members, market, statements, meter, history and blocks every second. Every page reads it.
import type { Remote } from 'comlink';
import type { NodeApi } from '../node/worker.js';
import type { Client, ClientState } from './client.js';
import type { BlockSummary, MemberInfo, NodeStatus, WalletEntry } from '../node/types.js';
import type { MarketView, MeterStatus } from '../node/market.js';
import type { Statement } from '../core/settlement.js';
import { makeFmt, type Fmt } from './format.js';

const STOPPED = 'The node stopped answering: ';

export type StatementRow = Statement & { height: number };

export class AppState {
  client = $state<Client | null>(null);
  net = $state<ClientState>({ signaling: 'off', signaling_detail: '', storage: 'unknown', moved: false });
  status = $state<NodeStatus | null>(null);
  members = $state<MemberInfo[]>([]);
  blocks = $state<BlockSummary[]>([]);
  market = $state<MarketView | null>(null);
  statements = $state<StatementRow[]>([]);
  meter = $state<MeterStatus | null>(null);
  history = $state<WalletEntry[]>([]);
  fatal = $state('');
  /** The grid-details page is open: only then are blocks fetched. */
  wantBlocks = false;

  readonly fmt: Fmt = $derived(makeFmt(this.status?.grid_params ?? null, this.members, this.status?.operator_id ?? null));
  readonly isMember = $derived(!!this.status && this.status.role !== 'guest' && this.status.role !== 'none');

  get api(): Remote<NodeApi> {
    if (!this.client) throw new Error('the node is not started');
    return this.client.api;
  }

  async poll(): Promise<void> {
    if (!this.client) return;
    try {
      this.status = await this.client.api.status();
      if (this.fatal.startsWith(STOPPED)) this.fatal = '';
    } catch (e) {
      this.fatal = `${STOPPED}${(e as Error).message}`;
    }
  }

  async pollSlow(): Promise<void> {
    const api = this.client?.api;
    if (!api || !this.status?.has_genesis) return;
    [this.members, this.market, this.statements, this.meter, this.history] = await Promise.all([
      api.members(),
      api.marketView(),
      api.statements(500),
      api.meterStatus(),
      api.history(300),
    ]);
    if (this.wantBlocks) this.blocks = await api.blocks(null, 12);
  }
}
