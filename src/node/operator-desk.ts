// The operator's desk: invites, join requests from tabs without one (via the door), deposit requests from
// members, and the day's price schedule. Frames reach it from the peer hub; its decisions
// leave as the operator's own signed transactions through the outbox.
import { rekeyInviteMessage, type RekeyInvite, type Role } from '../core/tx.js';
import { createInviteLink } from '../core/invite.js';
import { NobleSigner } from '../core/keys.js';
import { p256 } from '@noble/curves/nist.js';
import { encodeCanonical, type CanonicalValue } from '../core/codec.js';
import type { NodeId } from '../core/keys.js';
import { checkDraft, scheduleFields, type ScheduleDraft } from '../market/schedule.js';
import type { NodeContext } from './context.js';
import type { PeerHub } from './peer-hub.js';
import type { PeerSession } from './peers.js';
import type { Driver } from './driver.js';
import type { Outbox } from './outbox.js';
import type { MarketDriver } from './market.js';
import { base64url, short, type DepositRequest, type JoinRequest, type SubmitFields, type SubmitOutcome } from './types.js';
import { withName } from './names.js';

const MAX_JOIN_REQUESTS = 50;
const MAX_DEPOSIT_REQUESTS = 100;
/** A schedule takes effect from an interval beginning at least this far ahead: time to commit it. */
export const SCHEDULE_LEAD_MS = 3_000;

export class OperatorDesk {
  readonly joinRequests = new Map<NodeId, JoinRequest>();
  readonly depositRequests: DepositRequest[] = [];

  constructor(
    private readonly ctx: NodeContext,
    hub: PeerHub,
    private readonly driver: Driver,
    private readonly outbox: Outbox,
    private readonly market: MarketDriver,
  ) {
    hub.on('deposit_req', (s, f) => {
      if (!ctx.isOperator() || !ctx.replica?.state.members.has(s.id)) return;
      if (this.depositRequests.length >= MAX_DEPOSIT_REQUESTS) return ctx.count('deposit_requests_full');
      this.depositRequests.push({ member: s.id, amount: f.amount, ref: f.ref, at_ms: Date.now() });
      ctx.event(`deposit request from ${short(s.id)}: ${f.amount}`);
    });
    driver.onApplied((r) => {
      for (const id of this.joinRequests.keys()) if (r.state.members.has(id)) this.joinRequests.delete(id);
    });
  }

  /**
   * A join request from a peer that is no member, under the operator's admission (the door,
   * door.ts, hands it over): kept for the operator's console, on the operator's node only.
   */
  takeJoinRequest(s: PeerSession, role: Role, name: string): void {
    if (!this.ctx.isOperator() || this.ctx.replica?.state.members.has(s.id)) return;
    if (this.joinRequests.size >= MAX_JOIN_REQUESTS && !this.joinRequests.has(s.id)) return this.ctx.count('join_requests_full');
    // The session proved this key, so the request cannot be made in someone else's name.
    this.joinRequests.set(s.id, { id: s.id, pub: s.remotePub!, role, name, at_ms: Date.now() });
    this.ctx.event(`join request from ${short(s.id)} (${role})`);
  }

  /** A single-use, expiring invite link token for `role`, signed by the operator. */
  async makeInvite(role: Role, ttl_ms: number): Promise<string> {
    const r = this.ctx.replica;
    if (!r || !this.ctx.isOperator()) throw new Error('only the operator makes invites');
    // The link carries a one-time key whose public half the operator signs (core/invite.ts).
    const link = await createInviteLink(r.chain_id, crypto.getRandomValues(new Uint8Array(48)), role, Date.now() + ttl_ms, (m) => this.ctx.signer.sign(m));
    return base64url(link);
  }

  /**
   * A rekey link for `member`, whose household lost its key: a fresh one-time key pair, its
   * public half signed by the operator into the invite, its private half carried in the link
   * (`/?grid=…#rekey=<token>`). Whoever opens the link binds the invite to its own new key.
   */
  async makeRekeyInvite(member: NodeId, ttl_ms: number): Promise<string> {
    const r = this.ctx.replica;
    if (!r || !this.ctx.isOperator()) throw new Error('only the operator makes rekey links');
    const m = r.state.members.get(member);
    if (!m || m.removed) throw new Error('not a current member');
    if (m.role === 'operator') throw new Error('the operator key is not re-keyed by a link');
    const secret = p256.utils.randomSecretKey();
    const key = new NobleSigner(secret).publicKey;
    const expires_ms = Date.now() + Math.max(60_000, Math.min(ttl_ms, 7 * 86_400_000));
    const sig = await this.ctx.signer.sign(rekeyInviteMessage(r.chain_id, member, key, expires_ms));
    const invite: RekeyInvite = { member, key, expires_ms, sig };
    this.ctx.event(`rekey link made for ${short(member)}`);
    return base64url(encodeCanonical({ invite: invite as unknown as CanonicalValue, secret }));
  }

  async approveJoin(id: NodeId): Promise<SubmitOutcome> {
    const req = this.joinRequests.get(id);
    if (!req) return { ok: false, code: 'unknown_request', reason: 'no such join request' };
    const out = await this.outbox.submit(withName({ kind: 'admit', member: id, pub: req.pub, role: req.role, invite: null } as SubmitFields, req.name));
    if (out.ok) this.joinRequests.delete(id);
    return out;
  }

  /** The operator confirms a deposit: mints the tokens. */
  async confirmDeposit(index: number): Promise<SubmitOutcome> {
    const d = this.depositRequests[index];
    if (!d) return { ok: false, code: 'unknown_request', reason: 'no such deposit request' };
    const out = await this.outbox.submit({ kind: 'mint', to: d.member, amount: d.amount, ref: d.ref || 'deposit' });
    if (out.ok) this.depositRequests.splice(index, 1);
    return out;
  }

  /**
   * Commits `draft` as the grid's price schedule from `effective_interval` (default: the first
   * interval that begins at least SCHEDULE_LEAD_MS from now, so the block can commit before it
   * starts; a begun interval keeps its price and the ledger refuses it). Kept as the node's
   * draft too. The outcome names the interval used.
   */
  async commitSchedule(draft: ScheduleDraft, effective_interval?: number): Promise<SubmitOutcome & { effective_interval?: number }> {
    const r = this.ctx.replica;
    if (!r || !this.ctx.isOperator()) return { ok: false, code: 'not_permitted', reason: 'only the operator sets prices' };
    const problem = checkDraft(draft);
    if (problem) return { ok: false, code: 'malformed', reason: problem };
    const e = effective_interval ?? Math.floor((Date.now() + SCHEDULE_LEAD_MS) / r.state.params.interval_ms) + 1;
    const out = await this.outbox.submit(scheduleFields(draft, e));
    if (out.ok) {
      this.market.scheduleCommitted();
      this.market.setDraft(draft);
      await this.driver.saveSchedule(this.market.draft);
      return { ...out, effective_interval: e };
    }
    return out;
  }
}
