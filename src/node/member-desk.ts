// A household's own requests to the grid: presenting an invite (its own `admit`), asking to
// join without one (the operator, or the voters by its signed join request), and asking for a
// currency deposit. Called by the page through the worker's API; sends through the outbox and
// the peer hub.
import { decodeCanonical } from '../core/codec.js';
import { rekeyBindMessage, type RekeyInvite, type Role } from '../core/tx.js';
import type { InviteLink } from '../core/invite.js';
import { decodeAnyInviteLink, redeemAnyInvite, type EndorsedInviteLink } from '../core/endorsed-invite.js';
import { NobleSigner } from '../core/keys.js';
import { withName } from './names.js';
import type { NodeContext } from './context.js';
import type { PeerHub } from './peer-hub.js';
import type { Outbox } from './outbox.js';
import type { SyncRoom } from './sync.js';
import type { PeerSession } from './peers.js';
import type { Frame } from '../net/wire.js';
import type { OutsiderView } from '../core/door.js';
import { signTx } from '../core/tx.js';
import { normalizeDisplayName } from '../core/names.js';
import { fromHex } from '../core/bytes.js';
import { fromBase64url, type InviteCheck, type RekeyCheck, type SubmitFields, type SubmitOutcome } from './types.js';

/** How long a join request waits for the members' votes (the ledger allows up to three days). */
const JOIN_REQUEST_TTL_MS = 24 * 60 * 60 * 1000;

export class MemberDesk {
  constructor(
    private readonly ctx: NodeContext,
    private readonly hub: PeerHub,
    private readonly outbox: Outbox,
    private readonly sync: SyncRoom,
  ) {
    sync.onDenied = (s, view) => this.#onDenied(s, view);
  }

  /** The join request this tab made (requestJoin), while it may still be handed to members. */
  #asked: { frame: Frame; expires_ms: number } | null = null;

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
    this.sync.present({ kind: 'invite', invite: redeemAnyInvite(chain, d.invite, this.ctx.signer.publicKey) });
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
  #decode(token: string): { ok: true; invite: InviteLink | EndorsedInviteLink } | { ok: false; code: string; reason: string } {
    let invite: InviteLink | EndorsedInviteLink;
    try {
      invite = decodeAnyInviteLink(fromBase64url(token));
    } catch {
      return { ok: false, code: 'bad_invite', reason: 'This invite link is damaged, or an old kind of link that can no longer be used: ask for a new one.' };
    }
    if (invite.expires_ms < Date.now()) return { ok: false, code: 'invite_expired', reason: 'This invite has expired.' };
    return { ok: true, invite };
  }

  /** This node's admit: the link's one-time key signs this node's key, so the admit is useless to anyone else. */
  #admit(link: InviteLink | EndorsedInviteLink, name?: string): SubmitFields {
    const pub = this.ctx.signer.publicKey;
    const invite = redeemAnyInvite(this.ctx.replica!.chain_id, link, pub);
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
    // The voters' grants are checked against the voters of the chain's tip, not of a chain
    // still syncing (a grantor may not vote yet at an early height).
    if (d.invite.v === 3 && this.#behind()) return { ok: true, ...info, checked: false };
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
    if (d.invite.v === 3 && this.#behind()) return { ok: false, code: 'no_grid', reason: 'catching up with the grid before presenting the voters’ invite' };
    return this.outbox.submit(this.#admit(d.invite, name));
  }

  /** A peer has applied more than this node: it is still syncing. */
  #behind(): boolean {
    const r = this.ctx.replica;
    return !r || this.hub.authenticated().some((s) => s.remote_height > r.raft.applied);
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

  /**
   * A tab without an invite asks to join, over every open channel: the operator's desk takes
   * role and name (operator's admission); members' nodes put the signed join request on the
   * chain (M-of-N). The request is kept and handed again to a member that says the chain lacks
   * it (a peer that was not connected to the leader, a crash), until it expires. How many peers
   * it went to now, or the reason it could not be made.
   */
  async requestJoin(role: Role, name: string): Promise<{ ok: true; peers: number } | { ok: false; reason: string }> {
    const n = normalizeDisplayName(name);
    if (!n.ok) return { ok: false, reason: n.reason };
    if (this.ctx.isMember()) return { ok: false, reason: 'this tab is a member already' };
    const pub = this.ctx.signer.publicKey;
    let tx;
    try {
      tx = await signTx(this.outbox.body({ kind: 'join_request', pub, role, name: n.name, expires_ms: Date.now() + JOIN_REQUEST_TTL_MS }, 0), this.ctx.signer);
    } catch (err) {
      return { ok: false, reason: (err as Error).message };
    }
    const frame: Frame = { t: 'join_req', pub, role, name: n.name, tx: tx.bytes };
    this.#asked = { frame, expires_ms: tx.body.kind === 'join_request' ? tx.body.expires_ms : 0 };
    return { ok: true, peers: this.hub.broadcast(() => frame) };
  }

  /** A member's node refused us reading and says the chain has no request of ours: hand it again. */
  #onDenied(s: PeerSession, view: OutsiderView): void {
    const asked = this.#asked;
    if (!asked || view.admission !== 'm_of_n' || view.request !== null || asked.expires_ms <= Date.now()) return;
    s.send(asked.frame);
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
