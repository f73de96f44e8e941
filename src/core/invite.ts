// Invites that cannot be stolen from the wire. The operator signs the public half of a
// one-time key; the invite link carries its private half; the joiner's `admit` carries the
// public half, the operator's signature and a proof — the one-time key's signature over
// (chain, the joiner's own key). An admit seen on the wire is useless for any other key.
// Pure: the caller brings the randomness (48 bytes) and the operator's signer.
import { p256 } from '@noble/curves/nist.js';
import { decodeCanonical, encodeCanonical, type CanonicalValue } from './codec.js';
import { bytesEqual, concatBytes, toHex, utf8 } from './bytes.js';
import { PUBLIC_KEY_BYTES, SIGNATURE_BYTES, isValidPublicKey, type Verifier } from './keys.js';
import { ROLES, type Invite, type InviteV1, type InviteV2, type Role } from './tx.js';

/** What an invite link carries: the one-time secret key and the operator's grant of its public half. */
export interface InviteLink {
  v: 2;
  key: Uint8Array; // 32-byte P-256 secret: whoever holds the link may redeem it, once
  role: Role;
  expires_ms: number;
  sig: Uint8Array; // operator over inviteGrantMessage(chain, public half of key, role, expires_ms)
}

export class InviteError extends Error {
  override name = 'InviteError';
}

const SECRET_BYTES = 32;
const SEED_BYTES = 48;
/** An encoded link is about 150 bytes; anything much longer is not one. */
const LINK_MAX_BYTES = 512;

/** What the operator signs to grant an invite: the one-time key's public half, role and expiry. */
export function inviteGrantMessage(chain: Uint8Array, pub: Uint8Array, role: Role, expires_ms: number): Uint8Array {
  return concatBytes(utf8('gridledger/invite/v2'), encodeCanonical({ chain, pub, role, expires_ms }));
}

/** What the one-time key signs to redeem the invite for one joiner's key. */
export function inviteRedeemMessage(chain: Uint8Array, joinerPub: Uint8Array): Uint8Array {
  return concatBytes(utf8('gridledger/invite-redeem/v2'), chain, joinerPub);
}

/** A one-time key from 48 bytes of randomness (FIPS 186-5 A.2.1, as noble's randomSecretKey). */
export function inviteKeyFromSeed(seed: Uint8Array): { key: Uint8Array; pub: Uint8Array } {
  if (!(seed instanceof Uint8Array) || seed.length !== SEED_BYTES) throw new InviteError(`seed must be ${SEED_BYTES} random bytes`);
  const key = p256.utils.randomSecretKey(seed);
  return { key, pub: p256.getPublicKey(key, true) };
}

/**
 * The operator makes an invite link: a one-time key from `seed` (48 random bytes), whose
 * public half it signs with the role and expiry. Returns the link's canonical encoding.
 */
export async function createInviteLink(
  chain: Uint8Array,
  seed: Uint8Array,
  role: Role,
  expires_ms: number,
  sign: (message: Uint8Array) => Promise<Uint8Array>,
): Promise<Uint8Array> {
  const { key, pub } = inviteKeyFromSeed(seed);
  const sig = await sign(inviteGrantMessage(chain, pub, role, expires_ms));
  return encodeInviteLink({ v: 2, key, role, expires_ms, sig });
}

/** createInviteLink with a synchronous signer (tests and the simulator). */
export function createInviteLinkSync(chain: Uint8Array, seed: Uint8Array, role: Role, expires_ms: number, signSync: (message: Uint8Array) => Uint8Array): Uint8Array {
  const { key, pub } = inviteKeyFromSeed(seed);
  return encodeInviteLink({ v: 2, key, role, expires_ms, sig: signSync(inviteGrantMessage(chain, pub, role, expires_ms)) });
}

export function encodeInviteLink(link: InviteLink): Uint8Array {
  return encodeCanonical(link as unknown as CanonicalValue);
}

/** Decodes a link; throws InviteError for anything else, including the old bearer-code links. */
export function decodeInviteLink(bytes: Uint8Array): InviteLink {
  let v: CanonicalValue;
  try {
    v = decodeCanonical(bytes, LINK_MAX_BYTES);
  } catch (err) {
    throw new InviteError(`not an invite link: ${(err as Error).message}`);
  }
  const l = v as unknown as InviteLink;
  if (typeof l !== 'object' || l === null || Array.isArray(l) || l instanceof Uint8Array) throw new InviteError('not an invite link');
  if (Object.hasOwn(l, 'code')) throw new InviteError('an invite link from an older version (a bearer code): ask the operator for a new one');
  if (
    Object.keys(l).sort().join() !== 'expires_ms,key,role,sig,v' || l.v !== 2 ||
    !(l.key instanceof Uint8Array) || l.key.length !== SECRET_BYTES || !p256.utils.isValidSecretKey(l.key) ||
    !ROLES.includes(l.role) || !Number.isSafeInteger(l.expires_ms) || l.expires_ms < 0 ||
    !(l.sig instanceof Uint8Array) || l.sig.length !== SIGNATURE_BYTES
  ) {
    throw new InviteError('not an invite link');
  }
  return l;
}

/** The joiner redeems a link for its own key: the invite its `admit` carries. */
export function redeemInvite(chain: Uint8Array, link: InviteLink, joinerPub: Uint8Array): InviteV2 {
  return {
    pub: p256.getPublicKey(link.key, true),
    role: link.role,
    expires_ms: link.expires_ms,
    sig: link.sig,
    proof: p256.sign(inviteRedeemMessage(chain, joinerPub), link.key, { lowS: true }),
  };
}

export function isInviteV1(invite: Invite): invite is InviteV1 {
  return Object.hasOwn(invite, 'code');
}

/** The key under which a used invite is remembered (hex): v1 its code, v2 its one-time public key. */
export function inviteId(invite: Invite): string {
  return isInviteV1(invite) ? toHex(invite.code) : toHex(invite.pub);
}

/**
 * Checks a v2 invite presented by `joinerPub`: the operator granted its one-time key, and
 * that key signed this joiner's key. Returns the problem, or null. (Expiry and single use
 * are the ledger's: they need its state.)
 */
export function checkInviteV2(chain: Uint8Array, operatorPub: Uint8Array, invite: InviteV2, joinerPub: Uint8Array, verifier: Verifier): string | null {
  if (invite.pub.length !== PUBLIC_KEY_BYTES || !isValidPublicKey(invite.pub)) return 'the invite key is not a P-256 public key';
  if (bytesEqual(invite.pub, joinerPub)) return 'the invite key is not the joiner\'s key';
  if (!verifier.verify(operatorPub, inviteGrantMessage(chain, invite.pub, invite.role, invite.expires_ms), invite.sig)) {
    return 'invite is not signed by the operator';
  }
  if (!verifier.verify(invite.pub, inviteRedeemMessage(chain, joinerPub), invite.proof)) {
    return 'invite is not redeemed for this key (proof does not verify)';
  }
  return null;
}
