// What every room of the browser node shares: this node's identity, the replica once the
// grid's genesis is known, the event log and rejection counters. Created by node.ts only.
import { nobleVerifier, type NodeId } from '../core/keys.js';
import { CachingVerifier } from '../core/tx.js';
import type { Replica } from '../core/replica.js';
import type { WebCryptoSigner } from './webcrypto-signer.js';

const MAX_EVENTS_KEPT = 200;

export class NodeContext {
  readonly id: NodeId;
  /** The core's synchronous verifier, primed by WebCrypto pre-verification (preverify.ts). */
  readonly verifier = new CachingVerifier(nobleVerifier);
  /** The grid this node belongs to (chain id, hex), known before its genesis is. */
  grid: string | null;
  /** The replica: null until the genesis is known (created by the driver only). */
  replica: Replica | null = null;
  /** The encoded signed genesis, as peers are served it. */
  genesisBytes: Uint8Array | null = null;
  /** Frames and inputs refused, by reason (shown in the UI). */
  readonly rejected: Record<string, number> = {};
  readonly events: string[] = [];
  /** Runs the driver soon (set by the driver). */
  kick: () => void = () => {};
  /** The node has stopped: the tab is leaving, or a durable write failed. Timers check it. */
  stopped = false;

  constructor(
    readonly signer: WebCryptoSigner,
    grid: string | null,
  ) {
    this.id = signer.id;
    this.grid = grid;
  }

  isMember(): boolean {
    const m = this.replica?.state.members.get(this.id);
    return !!m && !m.removed;
  }

  isOperator(): boolean {
    return !!this.replica && this.replica.state.operator === this.id;
  }

  /** The operator's current key: the genesis' until a rotation or a recovery moves it (governance.ts). */
  operatorId(): NodeId | null {
    return this.replica ? this.replica.state.operator : null;
  }

  count(reason: string, _detail = ''): void {
    this.rejected[reason] = (this.rejected[reason] ?? 0) + 1;
  }

  event(text: string): void {
    this.events.push(`${new Date().toISOString().slice(11, 19)} ${text}`);
    if (this.events.length > MAX_EVENTS_KEPT) this.events.splice(0, this.events.length - MAX_EVENTS_KEPT);
  }
}
