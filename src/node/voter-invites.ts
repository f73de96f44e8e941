// Invites under M-of-N admission, made by the voters (core/endorsed-invite.ts): a voter
// starts one (its node keeps the one-time secret, in memory only) and hands the others a grant
// request; each voter's node signs a grant; the starter adds them and, once the policy's M are
// in, gets the link the joiner opens. Called by the page through the worker's API.
import {
  decodeGrant, decodeGrantRequest, encodeEndorsedLink, encodeGrant, encodeGrantRequest, endorsedInviteKey,
  grantProblem, grantsNeeded, type GrantRequest, type InviteGrant,
} from '../core/endorsed-invite.js';
import { inviteGrantMessage } from '../core/invite.js';
import { LIMITS } from '../core/params.js';
import { bytesEqual, toHex } from '../core/bytes.js';
import type { Role } from '../core/tx.js';
import type { NodeContext } from './context.js';
import { base64url, fromBase64url } from './types.js';

/** What the starter's page shows of an invite it started. */
export interface VoterInviteView {
  id: string; // the one-time key's public half, hex
  request: string; // the grant request token other voters paste
  role: Role;
  expires_ms: number;
  grants: number;
  needed: number;
  link: string | null; // the invite link token (#invite=…), once enough grants are in
}

interface Draft {
  key: Uint8Array;
  req: GrantRequest;
  grants: Map<string, InviteGrant>;
}

/** Drafts kept at once (each is a secret in memory; a reload forgets them). */
const DRAFTS_MAX = 16;

export class VoterInvites {
  readonly #drafts = new Map<string, Draft>();

  constructor(private readonly ctx: NodeContext) {}

  #voterState() {
    const r = this.ctx.replica;
    if (!r) throw new Error('no grid yet');
    const needed = grantsNeeded(r.state);
    if (needed === null) throw new Error('this grid admits by its operator: ask the operator for an invite link');
    const me = r.state.members.get(this.ctx.id);
    if (!me || !me.voter || me.removed) throw new Error('only a voting member grants invites (a new member votes once caught up)');
    return { state: r.state, needed };
  }

  #view(id: string, d: Draft): VoterInviteView {
    const { needed } = this.#voterState();
    const sigs = [...d.grants.values()].sort((x, y) => (x.member < y.member ? -1 : 1));
    const enough = sigs.length >= needed && needed <= LIMITS.invite_grants_max;
    return {
      id, request: base64url(encodeGrantRequest(d.req)), role: d.req.role, expires_ms: d.req.expires_ms, grants: sigs.length, needed,
      link: enough ? base64url(encodeEndorsedLink({ v: 3, key: d.key, role: d.req.role, expires_ms: d.req.expires_ms, sigs: sigs.slice(0, LIMITS.invite_grants_max) })) : null,
    };
  }

  /** Starts an invite for `role`, valid `ttl_ms`, with this voter's own grant. */
  async start(role: Role, ttl_ms: number): Promise<VoterInviteView> {
    const { state, needed } = this.#voterState();
    if (needed > LIMITS.invite_grants_max) throw new Error(`this grid needs ${needed} grants, more than an invite can carry: newcomers ask to join`);
    if (this.#drafts.size >= DRAFTS_MAX) this.#drafts.delete(this.#drafts.keys().next().value!);
    const { key, pub } = endorsedInviteKey(crypto.getRandomValues(new Uint8Array(48)));
    const req: GrantRequest = { v: 1, chain: state.chain_id, pub, role, expires_ms: Date.now() + ttl_ms };
    const d: Draft = { key, req, grants: new Map() };
    const own = await this.#grant(req);
    d.grants.set(own.member, own);
    const id = toHex(pub);
    this.#drafts.set(id, d);
    return this.#view(id, d);
  }

  async #grant(req: GrantRequest): Promise<InviteGrant> {
    const sig = await this.ctx.signer.sign(inviteGrantMessage(req.chain, req.pub, req.role, req.expires_ms));
    return { member: this.ctx.id, sig };
  }

  /** Another voter's grant request, granted by this voter: the token to hand back to the starter. */
  async grant(requestToken: string): Promise<{ token: string; role: Role; expires_ms: number }> {
    const { state } = this.#voterState();
    let req: GrantRequest;
    try {
      req = decodeGrantRequest(fromBase64url(requestToken.trim()));
    } catch {
      throw new Error('This is not a grant request: paste the whole text the other member’s page shows.');
    }
    if (!bytesEqual(req.chain, state.chain_id)) throw new Error('This grant request is for another grid.');
    if (req.expires_ms < Date.now()) throw new Error('This invite has expired already.');
    return { token: base64url(encodeGrant(await this.#grant(req))), role: req.role, expires_ms: req.expires_ms };
  }

  /** Adds a voter's grant token to an invite this node started. */
  add(id: string, grantToken: string): VoterInviteView {
    const { state } = this.#voterState();
    const d = this.#drafts.get(id);
    if (!d) throw new Error('This invite is no longer here (a reload forgets invites not yet finished): start a new one.');
    let g: InviteGrant;
    try {
      g = decodeGrant(fromBase64url(grantToken.trim()));
    } catch {
      throw new Error('This is not a grant: paste the whole text the other member’s page shows.');
    }
    const problem = grantProblem(state, d.req, g, this.ctx.verifier);
    if (problem) throw new Error(`${problem[0]!.toUpperCase()}${problem.slice(1)}.`);
    d.grants.set(g.member, g);
    return this.#view(id, d);
  }
}
