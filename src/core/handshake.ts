// The statements a node signs to prove its key: to a peer, a transcript of this very data
// channel connection; to the signaling server, its challenge. Pure; used by the peer sessions
// (src/node/peers.ts), the worker's signing API and the signaling server (signaling/server.ts).
import { encodeCanonical } from './codec.js';
import { taggedHash } from './hash.js';
import { fromHex } from './bytes.js';
import { isNodeId, isValidPublicKey, nodeIdOf, PUBLIC_KEY_BYTES, SIGNATURE_BYTES, type NodeId, type Verifier } from './keys.js';

/** Domain tags: "gridledger/peer-auth/v2" and "gridledger/signal/v1" (taggedHash adds "gridledger/"). */
export const PEER_AUTH_TAG = 'peer-auth/v2';
export const SIGNAL_TAG = 'signal/v1';

export const PEER_NONCE_BYTES = 16;
export const SIGNAL_CHALLENGE_BYTES = 32;

/**
 * One DTLS certificate fingerprint as SDP writes it (RFC 8122 §5: `hash-func SP fingerprint`),
 * normalised to a lowercase hash name and uppercase hex; several are joined by ','.
 */
const FINGERPRINT_RE = /^(sha-1|sha-224|sha-256|sha-384|sha-512) [0-9A-F]{2}(:[0-9A-F]{2}){15,63}$/;
const FINGERPRINTS_MAX = 4;

export function isFingerprintList(value: unknown): value is string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 1024) return false;
  const parts = value.split(',');
  return parts.length <= FINGERPRINTS_MAX && parts.every((p) => FINGERPRINT_RE.test(p));
}

/** The two certificate fingerprints of one connection, as this end sees them. */
export interface LinkFingerprints {
  local: string;
  remote: string;
}

/**
 * What the `signer` signs to authenticate to the `verifier` on one connection: the grid, both
 * node ids, both nonces and both DTLS fingerprints. A relay has two connections with four
 * different certificates, so an answer made for one never verifies on the other; the ids stop
 * an answer meant for one node being shown to another.
 */
export interface PeerTranscript {
  grid: string;
  signer: NodeId;
  verifier: NodeId;
  signer_nonce: Uint8Array;
  verifier_nonce: Uint8Array;
  signer_fingerprint: string;
  verifier_fingerprint: string;
}

export function peerAuthMessage(t: PeerTranscript): Uint8Array {
  if (!/^[0-9a-f]{64}$/.test(t.grid)) throw new TypeError('peerAuthMessage: grid must be 64 hex characters');
  if (!isNodeId(t.signer) || !isNodeId(t.verifier)) throw new TypeError('peerAuthMessage: signer and verifier must be node ids');
  if (t.signer_nonce.length !== PEER_NONCE_BYTES || t.verifier_nonce.length !== PEER_NONCE_BYTES) throw new TypeError('peerAuthMessage: nonces must be 16 bytes');
  if (!isFingerprintList(t.signer_fingerprint) || !isFingerprintList(t.verifier_fingerprint)) throw new TypeError('peerAuthMessage: bad DTLS fingerprint');
  // Canonical CBOR of a map with fixed keys: every field is length-delimited and named.
  return taggedHash(
    PEER_AUTH_TAG,
    encodeCanonical({
      grid: t.grid,
      signer: t.signer,
      verifier: t.verifier,
      signer_nonce: t.signer_nonce,
      verifier_nonce: t.verifier_nonce,
      signer_fingerprint: t.signer_fingerprint,
      verifier_fingerprint: t.verifier_fingerprint,
    }),
  );
}

/**
 * What a node signs to join a signaling room under its id: the server's fresh challenge, the
 * room (grid id) and the id, all fixed-length, under their own domain tag, so the signature
 * is good for this server's socket only and is never a valid signature of anything else.
 */
export function signalingProofMessage(challenge: Uint8Array, room: string, id: NodeId): Uint8Array {
  if (!(challenge instanceof Uint8Array) || challenge.length !== SIGNAL_CHALLENGE_BYTES) throw new TypeError('signalingProofMessage: challenge must be 32 bytes');
  if (typeof room !== 'string' || !/^[0-9a-f]{64}$/.test(room)) throw new TypeError('signalingProofMessage: room must be a grid id (64 hex characters)');
  if (!isNodeId(id)) throw new TypeError('signalingProofMessage: id must be a node id');
  return taggedHash(SIGNAL_TAG, challenge, fromHex(room), fromHex(id));
}

export type SignalingProofError = 'bad_key' | 'id_mismatch' | 'bad_signature';

/** Checks a join's proof, cheapest test first; null when `pub` is the key behind `id`. */
export function checkSignalingProof(
  challenge: Uint8Array,
  room: string,
  id: NodeId,
  pub: Uint8Array,
  sig: Uint8Array,
  verifier: Verifier,
): SignalingProofError | null {
  if (pub.length !== PUBLIC_KEY_BYTES || sig.length !== SIGNATURE_BYTES) return 'bad_key';
  if (nodeIdOf(pub) !== id) return 'id_mismatch';
  if (!isValidPublicKey(pub)) return 'bad_key';
  return verifier.verify(pub, signalingProofMessage(challenge, room, id), sig) ? null : 'bad_signature';
}
