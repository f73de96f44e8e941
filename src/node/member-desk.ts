// A household's own requests to the grid: presenting an invite (its own `admit`), asking
// the operator to admit it without one, and asking for a currency deposit. Called by the
// page through the worker's API; sends through the outbox and the peer hub.
import { decodeCanonical } from '../core/codec.js';
import { rekeyBindMessage, type RekeyInvite, type Role } from '../core/tx.js';
import { decodeInviteLink, redeemInvite, type InviteLink } from '../core/invite.js';
import { NobleSigner } from '../core/keys.js';
import { withName } from './names.js';
import type { NodeContext } from './context.js';
import type { PeerHub } from './peer-hub.js';
import type { Outbox } from './outbox.js';
import type { SyncRoom } from './sync.js';
import { fromHex } from '../core/bytes.js';
import { fromBase64url, type InviteCheck, type RekeyCheck, type SubmitFields, type SubmitOutcome } from './types.js';

export class MemberDesk {
  constructor(
    private readonly ctx: NodeContext,
    private readonly hub: PeerHub,
    private readonly outbox: Outbox,
    private readonly sync: SyncRoom,
  ) {}

  /** The chain id: the replica's, or the grid id from the link before the genesis is here. */
  #chain(): Uint8Array | null {
    return this.ctx.replica?.chain_id ?? (this.ctx.grid ? fromHex(this.ctx.grid) : null);
  }

  /**
   * Holds the invite of the link this tab was opened with, redeemed for this node's key, and
   * shows it to peers so that they let this node read the chain before it is a member.
   * Returns why the link cannot be used, or null.
   */
  holdInvite(token: string): string | null {
    const d = this.#decode(token);
    const chain = this.#chain();
    if (!d.ok || !chain) return d.ok ? 'no grid yet' : d.reason;
    this.sync.present({ kind: 'invite', invite: redeemInvite(chain, d.invite, this.ctx.signer.publicKey) });
    return null;
  }

  /** The same for a rekey link: the pass binds the rekey invite to this node's new key. */
  holdRekey(token: string): string | null {
    const d = this.#decodeRekey(token);
    const chain = this.#chain();
    if (!d.ok || !chain) return d.ok ? 'no grid yet' : d.reason;
    const pub = this.ctx.signer.publicKey;
    this.sync.present({ kind: 'rekey', member: d.invite.member, invite: d.invite, proof: d.oneTime.signSync(rekeyBindMessage(chain, d.invite.member, pub)) });
    return null;
  }

  /** The invite in a link (v2: a one-time key the operator signed), or why it is no invite at all. */
  #decode(token: string): { ok: true; invite: InviteLink } | { ok: false; code: string; reason: string } {
    let invite: InviteLink;
    try {
      invite = decodeInviteLink(fromBase64url(token));
    } catch {
      return { ok: false, code: 'bad_invite', reason: 'This invite link is damaged, or an old kind of link that can no longer be used: ask for a new one.' };
    }
    if (invite.expires_ms < Date.now()) return { ok: false, code: 'invite_expired', reason: 'This invite has expired.' };
    return { ok: true, invite };
  }

  /** This node's admit: the link's one-time key signs this node's key, so the admit is useless to anyone else. */
  #admit(link: InviteLink, name?: string): SubmitFields {
    const pub = this.ctx.signer.publicKey;
    const invite = redeemInvite(this.ctx.replica!.chain_id, link, pub);
    return withName({ kind: 'admit', member: this.ctx.id, pub, role: link.role, invite } as SubmitFields, name);
  }

  /**
   * What would happen to this invite if presented now: damaged, expired, used, not the
   * grid's, or fine (with its role and expiry). `checked` is false until the genesis is
   * known: then only the link itself could be read.
   */
  checkInvite(token: string): InviteCheck {
    const d = this.#decode(token);
    if (!d.ok) return d;
    const r = this.ctx.replica;
    const info = { role: d.invite.role, expires_ms: d.invite.expires_ms };
    if (!r) return { ok: true, ...info, checked: false };
    if (r.state.members.has(this.ctx.id)) return { ok: false, code: 'already_member', reason: 'This tab is a member of the grid already.' };
    const v = this.outbox.preflight(this.#admit(d.invite));
    return v.ok ? { ok: true, ...info, checked: true } : { ok: false, code: v.code, reason: v.reason };
  }

  /** Presents an invite: this node's own `admit` transaction, signed by itself. */
  async acceptInvite(token: string, name?: string): Promise<SubmitOutcome> {
    const r = this.ctx.replica;
    if (!r) return { ok: false, code: 'no_grid', reason: 'waiting for the grid’s genesis from a peer' };
    if (r.state.members.has(this.ctx.id)) return { ok: false, code: 'already_member', reason: 'this node is a member already' };
    const d = this.#decode(token);
    if (!d.ok) return d;
    return this.outbox.submit(this.#admit(d.invite, name));
  }

  /** A rekey link, decoded: the operator's invite and the one-time key that binds it to this node's key. */
  #decodeRekey(token: string): { ok: true; invite: RekeyInvite; oneTime: NobleSigner } | { ok: false; code: string; reason: string } {
    let v: { invite?: RekeyInvite; secret?: unknown };
    let oneTime: NobleSigner;
    try {
      v = decodeCanonical(fromBase64url(token), 1024) as typeof v;
      oneTime = new NobleSigner(v.secret as Uint8Array);
    } catch {
      return { ok: false, code: 'bad_invite', reason: 'This re-key link is damaged: part of it is missing or changed.' };
    }
    const inv = v.invite;
    if (typeof inv !== 'object' || inv === null || typeof inv.member !== 'string' || typeof inv.expires_ms !== 'number') {
      return { ok: false, code: 'bad_invite', reason: 'This link holds no re-key invite.' };
    }
    if (inv.expires_ms < Date.now()) return { ok: false, code: 'invite_expired', reason: 'This re-key link has expired. Ask the operator for a new one.' };
    return { ok: true, invite: inv, oneTime };
  }

  /** This node's rekey: the invite, and this node's own key signed with the link's one-time key. */
  #rekey(invite: RekeyInvite, oneTime: NobleSigner): SubmitFields {
    const pub = this.ctx.signer.publicKey;
    const proof = oneTime.signSync(rekeyBindMessage(this.ctx.replica!.chain_id, invite.member, pub));
    return { kind: 'rekey', member: invite.member, pub, invite, proof };
  }

  /** What would happen to this rekey link if presented now (as checkInvite does for invites). */
  checkRekey(token: string): RekeyCheck {
    const d = this.#decodeRekey(token);
    if (!d.ok) return d;
    const r = this.ctx.replica;
    const info = { member: d.invite.member, name: r?.state.members.get(d.invite.member)?.name ?? null, expires_ms: d.invite.expires_ms };
    if (!r) return { ok: true, ...info, checked: false };
    if (r.state.members.has(this.ctx.id)) return { ok: false, code: 'already_member', reason: 'This tab is a member of the grid already.' };
    const v = this.outbox.preflight(this.#rekey(d.invite, d.oneTime));
    return v.ok ? { ok: true, ...info, checked: true } : { ok: false, code: v.code, reason: v.reason };
  }

  /** Presents a rekey link: this node's own `rekey`, signed by its new key. */
  async acceptRekey(token: string): Promise<SubmitOutcome> {
    const r = this.ctx.replica;
    if (!r) return { ok: false, code: 'no_grid', reason: 'waiting for the grid’s genesis from a peer' };
    if (r.state.members.has(this.ctx.id)) return { ok: false, code: 'already_member', reason: 'this node is a member already' };
    const d = this.#decodeRekey(token);
    if (!d.ok) return d;
    return this.outbox.submit(this.#rekey(d.invite, d.oneTime));
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
