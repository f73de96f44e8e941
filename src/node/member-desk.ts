// A household's own requests to the grid: presenting an invite (its own `admit`), asking
// the operator to admit it without one, and asking for a currency deposit. Called by the
// page through the worker's API; sends through the outbox and the peer hub.
import { decodeCanonical } from '../core/codec.js';
import type { Invite, Role } from '../core/tx.js';
import type { NodeContext } from './context.js';
import type { PeerHub } from './peer-hub.js';
import type { Outbox } from './outbox.js';
import { fromBase64url, type SubmitOutcome } from './types.js';

export class MemberDesk {
  constructor(
    private readonly ctx: NodeContext,
    private readonly hub: PeerHub,
    private readonly outbox: Outbox,
  ) {}

  /** Presents an invite: this node's own `admit` transaction, signed by itself. */
  async acceptInvite(token: string): Promise<SubmitOutcome> {
    const r = this.ctx.replica;
    if (!r) return { ok: false, code: 'no_grid', reason: 'waiting for the grid’s genesis from a peer' };
    if (r.state.members.has(this.ctx.id)) return { ok: false, code: 'already_member', reason: 'this node is a member already' };
    let invite: Invite;
    try {
      invite = decodeCanonical(fromBase64url(token), 1024) as unknown as Invite;
    } catch (err) {
      return { ok: false, code: 'bad_invite', reason: `the invite link is damaged: ${(err as Error).message}` };
    }
    if (typeof invite !== 'object' || invite === null || typeof invite.expires_ms !== 'number') return { ok: false, code: 'bad_invite', reason: 'not an invite' };
    if (invite.expires_ms < Date.now()) return { ok: false, code: 'invite_expired', reason: 'this invite has expired; ask the operator for a new one' };
    return this.outbox.submit({ kind: 'admit', member: this.ctx.id, pub: this.ctx.signer.publicKey, role: invite.role, invite });
  }

  /** A tab without an invite asks the operator (over any open channel) to admit it. */
  requestJoin(role: Role, name: string): number {
    return this.hub.broadcast(() => ({ t: 'join_req', pub: this.ctx.signer.publicKey, role, name: name.slice(0, 64) }));
  }

  /** A member asks the operator (over the channel to it) to confirm a currency deposit. */
  requestDeposit(amount: number, ref: string): boolean {
    const op = this.ctx.operatorId();
    const s = op ? this.hub.session(op) : null;
    if (!s || !Number.isSafeInteger(amount) || amount <= 0) return false;
    s.send({ t: 'deposit_req', amount, ref: ref.slice(0, 64) });
    return true;
  }
}
