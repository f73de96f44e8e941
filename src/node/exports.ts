// The auditor's downloads, served from this node's replica: the chain file, a household's
// evidence, the saved head, and the proof that this chain extends a saved head. Reads only;
// the formats and their checks are the core's (src/core/export.ts, evidence.ts, history.ts).
import { encodeHeadFile } from '../core/evidence.js';
import type { NodeId } from '../core/keys.js';
import { blockVersionOf } from '../core/history.js';
import { exportChain, exportEvidence, exportHeight, proveExtends, votersStateAt } from '../audit/replica-export.js';
import type { NodeContext } from './context.js';

export class Exports {
  constructor(private readonly ctx: NodeContext) {}

  #replica() {
    const r = this.ctx.replica;
    if (!r) throw new Error('this tab has no chain yet');
    if (exportHeight(r) === 0) throw new Error('nothing is certified yet: try again in a few seconds');
    return r;
  }

  /** "Download chain": genesis, blocks and certificates up to the newest certified height. */
  chain(): ReadableStream<Uint8Array> {
    return exportChain(this.#replica());
  }

  /** "Download my evidence": a household's statements with the proofs they rest on. */
  evidence(household: NodeId = this.ctx.id): ReadableStream<Uint8Array> {
    const r = this.#replica();
    if (blockVersionOf(r.state.params) < 2) throw new Error('this grid was made before history roots: evidence cannot be built for it');
    return exportEvidence(r, household, this.ctx.verifier);
  }

  /** "Save head": the newest certified header with the voters that certified it. */
  savedHead(): Uint8Array {
    const r = this.#replica();
    const h = exportHeight(r);
    return encodeHeadFile(r.genesis, r.raft.log[h]!.block!, r.certs.get(h)!.acks, votersStateAt(r, h));
  }

  /** "Prove this chain extends my saved head": the page checks the answer itself. */
  proveExtends(old_height: number) {
    const r = this.#replica();
    if (!Number.isSafeInteger(old_height) || old_height < 0 || old_height > exportHeight(r)) throw new Error('the saved head is newer than this chain');
    return proveExtends(r, old_height);
  }
}
