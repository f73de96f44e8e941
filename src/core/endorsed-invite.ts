// Invites under M-of-N admission: the v2 invite (a one-time key whose public half is granted,
// whose private half rides in the link, and which signs the joiner's own key) granted by M
// current voters instead of the operator. Pure. The ledger's `admit`, the replica's entry
// check and `readRight` (the `present` pass) call endorsedInviteProblem; members' nodes
// (node/voter-invites.ts) and tests make grants, tokens and links with the helpers below.
//
// The messages are the v2 invite's (invite.ts): a member's grant says what the operator's says.
import { p256 } from '@noble/curves/nist.js';
import { bytesEqual } from './bytes.js';
import { decodeCanonical, encodeCanonical, type CanonicalValue } from './codec.js';
import { decodeInviteLink, inviteGrantMessage, InviteError, inviteId, inviteKeyFromSeed, inviteRedeemMessage, redeemInvite, type InviteLink } from './invite.js';
import { isNodeId, isValidPublicKey, PUBLIC_KEY_BYTES, SIGNATURE_BYTES, type NodeId, type Verifier } from './keys.js';
import { ROLES, TxError, type EndorsedInvite, type Invite, type InviteGrant, type InviteV2, type Role } from './tx.js';
import type { LedgerState } from './state.js';
import { admissionOf, policyThreshold } from './governance.js';
import { LIMITS } from './params.js';

export type { EndorsedInvite, InviteGrant } from './tx.js';

export function isEndorsedInvite(invite: Invite): invite is EndorsedInvite {
  return Object.hasOwn(invite, 'sigs');
}

/** Endorsed invites the grid's policy needs now: M of its current voters (null under the operator's policy). */
export function grantsNeeded(state: LedgerState): number | null {
  const rule = admissionOf(state.params);
  if (!rule) return null;
  let voters = 0;
  for (const m of state.members.values()) if (m.voter && !m.removed) voters++;
  return policyThreshold(rule, voters);
}

/**
 * Checks an invite presented by `joinerPub` under M-of-N admission, cheapest first: the
 * policy; expiry and single use (against the state's time and `used_invites`, keyed by `pub`
 * as for v2); the grants' shape (sorted, distinct); that each grantor is a current voter;
 * that there are as many as the policy needs now; then the signatures — each grant, and the
 * one-time key's proof over the joiner's key. Returns the typed problem, or null.
 * Codes: not_permitted (operator's policy), invite_expired, invite_used, bad_invite (shape,
 * signatures, proof), not_voter (a grantor that does not vote now), grants_short.
 */
export function endorsedInviteProblem(state: LedgerState, invite: EndorsedInvite, joinerPub: Uint8Array, verifier: Verifier): TxError | null {
  const needed = grantsNeeded(state);
  if (needed === null) return new TxError('not_permitted', 'this grid admits by its operator: its invites carry the operator\'s signature');
  if (invite.expires_ms < state.time_ms) return new TxError('invite_expired', 'invite has expired');
  if (state.used_invites.has(inviteId(invite))) return new TxError('invite_used', 'invite was used already');
  if (!(invite.pub instanceof Uint8Array) || invite.pub.length !== PUBLIC_KEY_BYTES || !isValidPublicKey(invite.pub)) return new TxError('bad_invite', 'the invite key is not a P-256 public key');
  if (bytesEqual(invite.pub, joinerPub)) return new TxError('bad_invite', 'the invite key is not the joiner\'s key');
  if (!Array.isArray(invite.sigs) || invite.sigs.length > LIMITS.invite_grants_max) return new TxError('bad_invite', `an invite carries at most ${LIMITS.invite_grants_max} grants`);
  for (let i = 1; i < invite.sigs.length; i++) {
    if (!(invite.sigs[i - 1]!.member < invite.sigs[i]!.member)) return new TxError('bad_invite', 'grants must be sorted by member id, one per member');
  }
  const grantors = invite.sigs.map((g) => state.members.get(g.member));
  for (const [i, m] of grantors.entries()) {
    if (!m || !m.voter || m.removed) return new TxError('not_voter', `${invite.sigs[i]!.member} is not a current voter`);
  }
  if (invite.sigs.length < needed) {
    const more = needed > LIMITS.invite_grants_max ? ` (more than an invite can carry: ask to join)` : '';
    return new TxError('grants_short', `the invite carries ${invite.sigs.length} grants; ${needed} are needed now${more}`);
  }
  const grant = inviteGrantMessage(state.chain_id, invite.pub, invite.role, invite.expires_ms);
  for (const [i, g] of invite.sigs.entries()) {
    if (!verifier.verify(grantors[i]!.pub, grant, g.sig)) return new TxError('bad_invite', `the grant of ${g.member} does not verify`);
  }
  if (!verifier.verify(invite.pub, inviteRedeemMessage(state.chain_id, joinerPub), invite.proof)) return new TxError('bad_invite', 'invite is not redeemed for this key (proof does not verify)');
  return null;
}

/** A member's grant of the one-time key `pub` (its node signs the v2 grant message). */
export function grantEndorsedInvite(chain: Uint8Array, member: NodeId, pub: Uint8Array, role: Role, expires_ms: number, signSync: (message: Uint8Array) => Uint8Array): InviteGrant {
  return { member, sig: signSync(inviteGrantMessage(chain, pub, role, expires_ms)) };
}

/** The one-time key of an endorsed invite from 48 random bytes (as a v2 link's). */
export function endorsedInviteKey(seed: Uint8Array): { key: Uint8Array; pub: Uint8Array } {
  return inviteKeyFromSeed(seed);
}

/**
 * The joiner redeems an endorsed invite for its own key: grants sorted by member id (a grant
 * repeated for one member is kept once), and the one-time secret `key` signs `joinerPub`.
 */
export function redeemEndorsedInvite(chain: Uint8Array, key: Uint8Array, role: Role, expires_ms: number, grants: InviteGrant[], joinerPub: Uint8Array): EndorsedInvite {
  const byMember = new Map<NodeId, InviteGrant>();
  for (const g of grants) if (!byMember.has(g.member)) byMember.set(g.member, g);
  const sigs = [...byMember.values()].sort((x, y) => (x.member < y.member ? -1 : x.member > y.member ? 1 : 0));
  return {
    pub: p256.getPublicKey(key, true),
    role,
    expires_ms,
    sigs,
    proof: p256.sign(inviteRedeemMessage(chain, joinerPub), key, { lowS: true }),
  };
}

// ---- links: how an endorsed invite travels (member to member, then to the joiner) ----------
//
// The member who starts an invite keeps its one-time secret and hands the voters a *grant
// request* (the public half, role and expiry: what they sign); each voter hands back its grant;
// once enough are in, the starter's node makes the *link* the joiner opens (#invite=…), which
// carries the secret like a v2 link. All three are canonical CBOR, base64url on the page.

/** The link a joiner opens: a v2 link whose operator `sig` is replaced by the voters' grants. */
export interface EndorsedInviteLink {
  v: 3;
  key: Uint8Array; // the one-time P-256 secret (32 B)
  role: Role;
  expires_ms: number;
  sigs: InviteGrant[]; // sorted by member, one per member
}

/** What the starter asks the voters to sign (no secret in it). */
export interface GrantRequest {
  v: 1;
  chain: Uint8Array;
  pub: Uint8Array;
  role: Role;
  expires_ms: number;
}

/** 10 grants of 120 bytes and the rest: well under 2 KiB. */
const ENDORSED_LINK_MAX_BYTES = 2048;

function record(bytes: Uint8Array, max: number, what: string): Record<string, CanonicalValue> {
  let v: CanonicalValue;
  try {
    v = decodeCanonical(bytes, max);
  } catch (err) {
    throw new InviteError(`not ${what}: ${(err as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) throw new InviteError(`not ${what}`);
  return v as Record<string, CanonicalValue>;
}

const keysAre = (o: object, keys: string) => Object.keys(o).sort().join() === keys;
const isGrant = (g: unknown): g is InviteGrant =>
  typeof g === 'object' && g !== null && !Array.isArray(g) && !(g instanceof Uint8Array) && keysAre(g, 'member,sig') &&
  isNodeId((g as InviteGrant).member) && (g as InviteGrant).sig instanceof Uint8Array && (g as InviteGrant).sig.length === SIGNATURE_BYTES;

export function encodeEndorsedLink(link: EndorsedInviteLink): Uint8Array {
  return encodeCanonical(link as unknown as CanonicalValue);
}

export function decodeEndorsedLink(bytes: Uint8Array): EndorsedInviteLink {
  const l = record(bytes, ENDORSED_LINK_MAX_BYTES, 'an invite link') as unknown as EndorsedInviteLink;
  if (
    !keysAre(l, 'expires_ms,key,role,sigs,v') || l.v !== 3 ||
    !(l.key instanceof Uint8Array) || l.key.length !== 32 || !p256.utils.isValidSecretKey(l.key) ||
    !ROLES.includes(l.role) || !Number.isSafeInteger(l.expires_ms) || l.expires_ms < 0 ||
    !Array.isArray(l.sigs) || l.sigs.length < 1 || l.sigs.length > LIMITS.invite_grants_max || !l.sigs.every(isGrant)
  ) {
    throw new InviteError('not an invite link');
  }
  return l;
}

/** Either kind of join link: the operator's (v2) or the voters' (v3). */
export function decodeAnyInviteLink(bytes: Uint8Array): InviteLink | EndorsedInviteLink {
  try {
    return decodeInviteLink(bytes);
  } catch (err) {
    try {
      return decodeEndorsedLink(bytes);
    } catch {
      throw err;
    }
  }
}

/** Redeems either kind of link for the joiner's key: the invite its `admit` carries. */
export function redeemAnyInvite(chain: Uint8Array, link: InviteLink | EndorsedInviteLink, joinerPub: Uint8Array): InviteV2 | EndorsedInvite {
  return link.v === 3 ? redeemEndorsedInvite(chain, link.key, link.role, link.expires_ms, link.sigs, joinerPub) : redeemInvite(chain, link, joinerPub);
}

export function encodeGrantRequest(req: GrantRequest): Uint8Array {
  return encodeCanonical(req as unknown as CanonicalValue);
}

export function decodeGrantRequest(bytes: Uint8Array): GrantRequest {
  const r = record(bytes, 256, 'a grant request') as unknown as GrantRequest;
  if (
    !keysAre(r, 'chain,expires_ms,pub,role,v') || r.v !== 1 || !(r.chain instanceof Uint8Array) || r.chain.length !== 32 ||
    !(r.pub instanceof Uint8Array) || r.pub.length !== PUBLIC_KEY_BYTES || !isValidPublicKey(r.pub) ||
    !ROLES.includes(r.role) || !Number.isSafeInteger(r.expires_ms) || r.expires_ms < 0
  ) {
    throw new InviteError('not a grant request');
  }
  return r;
}

export function encodeGrant(g: InviteGrant): Uint8Array {
  return encodeCanonical(g as unknown as CanonicalValue);
}

export function decodeGrant(bytes: Uint8Array): InviteGrant {
  const g = record(bytes, 256, 'a grant');
  if (!isGrant(g)) throw new InviteError('not a grant');
  return g;
}

/** Whether `grant` is `member`'s valid grant of the request (checked by the starter before it adds it). */
export function grantProblem(state: LedgerState, req: GrantRequest, grant: InviteGrant, verifier: Verifier): string | null {
  if (!bytesEqual(req.chain, state.chain_id)) return 'the grant request is for another grid';
  const m = state.members.get(grant.member);
  if (!m || !m.voter || m.removed) return 'that grant is not from a current voter';
  if (!verifier.verify(m.pub, inviteGrantMessage(state.chain_id, req.pub, req.role, req.expires_ms), grant.sig)) return 'that grant is not for this invite';
  return null;
}
