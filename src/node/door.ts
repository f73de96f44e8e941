// The door: join requests from peers that may not read the chain (`join_req` frames). Under the
// operator's admission they go to the operator's desk; under M-of-N the joiner's own signed
// `join_request` goes on the chain through this node, after the core's checks (core/door.ts).
// The peer hub hands it the frames; it submits through the driver like a relayed transaction.
import { decodeTxUnverified, TxError } from '../core/tx.js';
import { admissionOf } from '../core/governance.js';
import { strangerJoinProblem } from '../core/door.js';
import { TokenBucket } from '../core/budget.js';
import type { NodeContext } from './context.js';
import type { PeerHub } from './peer-hub.js';
import type { PeerSession } from './peers.js';
import type { Driver } from './driver.js';
import type { OperatorDesk } from './operator-desk.js';
import { short } from './types.js';

export const DOOR_LIMITS = {
  /** join_req frames per peer: an honest joiner asks once and repeats at most every 5 s per peer. */
  requests_per_s: 0.5,
  requests_burst: 3,
} as const;

export class Door {
  readonly #budgets = new WeakMap<PeerSession, TokenBucket>();

  constructor(
    private readonly ctx: NodeContext,
    hub: PeerHub,
    private readonly driver: Driver,
    operatorDesk: OperatorDesk,
  ) {
    hub.on('join_req', (s, f) => {
      const r = ctx.replica;
      if (!r || r.state.members.has(s.id)) return;
      let budget = this.#budgets.get(s);
      if (!budget) this.#budgets.set(s, (budget = new TokenBucket(DOOR_LIMITS.requests_per_s, DOOR_LIMITS.requests_burst)));
      if (!budget.take(Date.now())) return ctx.count('join_req_rate');
      if (!admissionOf(r.state.params)) return operatorDesk.takeJoinRequest(s, f.role, f.name);
      this.#putOnChain(s, f.tx);
    });
  }

  /** A stranger's own join request, checked by the core, then submitted as a relayed transaction. */
  #putOnChain(s: PeerSession, bytes: Uint8Array): void {
    const r = this.ctx.replica!;
    let problem: TxError | null;
    try {
      problem = strangerJoinProblem(r.state, s.id, decodeTxUnverified(bytes, r.chain_id));
    } catch (err) {
      problem = err instanceof TxError ? err : new TxError('malformed', String(err));
    }
    if (problem) return this.ctx.count('join_req_refused', problem.code);
    const env = { kind: 'txs' as const, from: s.id, to: this.ctx.id, txs: [bytes] };
    this.driver.enqueue(this.driver.pre.sigsOfEnvelope(env), () => {
      const got = this.ctx.replica?.submit(bytes, Date.now());
      if (!got) return;
      if (got.ok) this.ctx.event(`join request of ${short(s.id)} passed on to the chain`);
      else if (got.code === 'bad_signature') s.strike('bad_signature', `join request from ${short(s.id)}`);
      else this.ctx.count('join_req_refused', got.code);
      this.ctx.kick();
    });
  }
}
