// Transactions: typed bodies, canonical encoding, signatures over chain id + body, and
// stateless decode-and-validate with typed errors. Stateful checks (sequence numbers,
// roles, balances) live in ledger.ts, which reuses TxError's codes.
import { decodeCanonical, encodeCanonical, CodecError, type CanonicalValue } from './codec.js';
import { bytesEqual, concatBytes, toHex, utf8 } from './bytes.js';
import { taggedHash } from './hash.js';
import { LIMITS } from './params.js';
import { checkDisplayName } from './names.js';
import {
  PUBLIC_KEY_BYTES,
  SIGNATURE_BYTES,
  isNodeId,
  isValidPublicKey,
  nodeIdOf,
  type NodeId,
  type Verifier,
} from './keys.js';

export const TX_VERSION = 1;
export type Role = 'consumer' | 'producer' | 'prosumer' | 'auditor';
/** `auditor`: a member that reads and verifies the chain, never votes and never trades. */
export const ROLES: readonly Role[] = ['consumer', 'producer', 'prosumer', 'auditor'];

/**
 * An operator-signed, single-use invitation presented by the joiner in its own `admit`.
 * v2 (invite.ts): the operator granted a one-time key, whose signature over the joiner's
 * key (`proof`) shows the joiner holds the link: an admit seen on the wire cannot be reused.
 */
export interface InviteV2 {
  pub: Uint8Array; // the one-time key's public half, single use
  role: Role;
  expires_ms: number;
  sig: Uint8Array; // operator's signature over inviteGrantMessage(chain, pub, role, expires_ms)
  proof: Uint8Array; // the one-time key's signature over inviteRedeemMessage(chain, joiner's pub)
}

/**
 * v1, before issue 11: a bearer code anyone who saw the admit could race with its own key.
 * Refused at the door; the ledger applies it only in grids whose genesis predates v2.
 */
export interface InviteV1 {
  code: Uint8Array; // 16 random bytes, single use
  role: Role;
  expires_ms: number;
  sig: Uint8Array; // operator's signature over inviteMessage(chain, code, role, expires_ms)
}

/** One current voter's grant of an endorsed invite's one-time key (endorsed-invite.ts). */
export interface InviteGrant {
  member: NodeId;
  sig: Uint8Array; // the member's signature over inviteGrantMessage(chain, pub, role, expires_ms)
}

/**
 * A v2 invite granted by M current voters instead of the operator, for grids that admit by
 * M of N: `sigs` sorted by member id, one per member (one encoding per set of grants).
 */
export interface EndorsedInvite {
  pub: Uint8Array; // the one-time key's public half, single use
  role: Role;
  expires_ms: number;
  sigs: InviteGrant[];
  proof: Uint8Array; // the one-time key's signature over inviteRedeemMessage(chain, joiner's pub)
}

export type Invite = InviteV1 | InviteV2 | EndorsedInvite;

/**
 * An operator-signed invitation to move member `member`'s account to a new key (a household
 * whose browser data is gone). Bound to the new key like the v2 invites: the link carries the
 * one-time private key whose public half (`key`) the operator signed, and the new node signs
 * its own public key with it (the rekey's `proof`), so a copy of the invite seen on the wire
 * is useless for any other key. See rekey.ts.
 */
export interface RekeyInvite {
  member: NodeId; // the account to move
  key: Uint8Array; // the one-time public key (33 bytes) whose private half is in the link
  expires_ms: number;
  sig: Uint8Array; // operator's signature over rekeyInviteMessage(chain, member, key, expires_ms)
}

/**
 * One fixed price in a schedule: from `first_interval` through `last_interval` (null: from
 * `first_interval` on, for as long as the schedule is in force), instead of the hourly price.
 */
export interface PriceOverride {
  first_interval: number;
  last_interval: number | null;
  price: number;
}

interface Base<K extends string> {
  v: number;
  chain: Uint8Array;
  kind: K;
  from: NodeId;
  seq: number;
}

export type TxBody =
  // `name` is optional so that admits signed before names existed still decode.
  | (Base<'admit'> & { member: NodeId; pub: Uint8Array; role: Role; invite: Invite | null; name?: string })
  | (Base<'rename'> & { name: string })
  // Signed by the new key (from = its id, seq 0): moves `member`'s account to `pub`.
  | (Base<'rekey'> & { member: NodeId; pub: Uint8Array; invite: RekeyInvite; proof: Uint8Array })
  | (Base<'remove'> & { member: NodeId })
  | (Base<'promote'> & { member: NodeId })
  // The leader's autopilot (autopilot.ts): a voter it has not heard from becomes a learner.
  | (Base<'demote'> & { member: NodeId })
  | (Base<'mint'> & { to: NodeId; amount: number; ref: string })
  | (Base<'withdraw'> & { amount: number })
  | (Base<'payout'> & { payout: number })
  | (Base<'transfer'> & { to: NodeId; amount: number; memo: string })
  | (Base<'price'> & { interval: number; price: number })
  // The operator's day schedule, in force from `effective_interval` (prices.ts): 24 hourly
  // prices for the hours of a day at UTC + utc_offset_min, and fixed-price overrides.
  | (Base<'schedule'> & { effective_interval: number; utc_offset_min: number; hourly: number[]; overrides: PriceOverride[] })
  | (Base<'offer'> & { first_interval: number; last_interval: number })
  | (Base<'contract'> & {
      producer: NodeId;
      first_interval: number;
      last_interval: number;
      max_energy_wh: number;
      max_price: number;
      lock: number;
    })
  | (Base<'fund'> & { contract: number; amount: number })
  | (Base<'cancel'> & { contract: number })
  | (Base<'meter'> & { interval: number; import_wh: number; export_wh: number })
  // Governance (governance.ts). A stranger's request to join (signed by its own key, seq 0).
  | (Base<'join_request'> & { pub: Uint8Array; role: Role; name: string; expires_ms: number })
  // A voter proposes to remove a member, or to appoint a new operator key (recovery).
  | (Base<'propose_removal'> & { member: NodeId; expires_ms: number })
  | (Base<'propose_operator'> & { pub: Uint8Array; expires_ms: number })
  // A voter's vote on an open request.
  | (Base<'endorse'> & { request: number })
  | (Base<'object'> & { request: number })
  // The operator hands its account and roles to a new key.
  | (Base<'rotate_operator'> & { pub: Uint8Array });

export type TxKind = TxBody['kind'];
export type TxOf<K extends TxKind> = Extract<TxBody, { kind: K }>;

export interface SignedTx {
  body: TxBody;
  pub: Uint8Array;
  sig: Uint8Array;
}

/** A decoded transaction with the bytes it came from and its id. */
export interface DecodedTx extends SignedTx {
  id: string; // hex of taggedHash('tx', encoded body)
  bytes: Uint8Array; // canonical encoding of the signed tx (the Merkle leaf)
}

export type TxErrorCode =
  // stateless
  | 'too_large'
  | 'malformed'
  | 'unknown_kind'
  | 'wrong_chain'
  | 'bad_signature'
  // stateful (ledger.ts)
  | 'unknown_account'
  | 'replayed_seq'
  | 'skipped_seq'
  | 'not_permitted'
  | 'insufficient_funds'
  | 'unknown_member'
  | 'already_member'
  | 'id_reused'
  | 'bad_invite'
  | 'invite_used'
  | 'invite_expired'
  | 'grants_short'
  | 'members_full'
  | 'not_learner'
  | 'not_voter'
  | 'voters_min'
  | 'voters_full'
  | 'unknown_payout'
  | 'price_locked'
  | 'schedules_full'
  | 'interval_closed'
  | 'interval_future'
  | 'invalid_period'
  | 'no_offer'
  | 'contract_exists'
  | 'contracts_full'
  | 'unknown_contract'
  | 'contract_ended'
  | 'reading_stale'
  | 'reading_backwards'
  | 'reading_too_large'
  // governance (governance.ts)
  | 'request_exists'
  | 'unknown_request'
  | 'request_closed'
  | 'request_expired'
  | 'already_voted'
  | 'requests_full';

export class TxError extends Error {
  override name = 'TxError';
  constructor(
    readonly code: TxErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

// ---- field schemas -------------------------------------------------------------------

type FieldCheck = (value: CanonicalValue) => string | null;

const uint = (max: number): FieldCheck => (v) =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= max ? null : `must be an integer in 0..${max}`;
const positive = (max: number): FieldCheck => (v) =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= 1 && v <= max ? null : `must be an integer in 1..${max}`;
const nodeId: FieldCheck = (v) => (isNodeId(v) ? null : 'must be a node id (40 hex chars)');
const text: FieldCheck = (v) =>
  typeof v === 'string' && v.length <= LIMITS.text_max_chars ? null : `must be a string of at most ${LIMITS.text_max_chars} chars`;
const bytesOf = (n: number): FieldCheck => (v) => (v instanceof Uint8Array && v.length === n ? null : `must be ${n} bytes`);
const role: FieldCheck = (v) => (ROLES.includes(v as Role) ? null : `must be one of ${ROLES.join(', ')}`);
const displayName: FieldCheck = (v) => checkDisplayName(v);
// A key the grid's operator will sign with: a valid point, or the grid would lose its operator.
const publicKey: FieldCheck = (v) => (v instanceof Uint8Array && v.length === PUBLIC_KEY_BYTES && isValidPublicKey(v) ? null : 'must be a P-256 public key (33 bytes)');
const INTERVAL_MAX = 2 ** 40;
const SEQ_MAX = 2 ** 48;

const INVITE_V1: Record<string, FieldCheck> = {
  code: bytesOf(16),
  role,
  expires_ms: uint(Number.MAX_SAFE_INTEGER),
  sig: bytesOf(SIGNATURE_BYTES),
};
const INVITE_V2: Record<string, FieldCheck> = {
  pub: bytesOf(PUBLIC_KEY_BYTES),
  role,
  expires_ms: uint(Number.MAX_SAFE_INTEGER),
  sig: bytesOf(SIGNATURE_BYTES),
  proof: bytesOf(SIGNATURE_BYTES),
};

const inviteGrants: FieldCheck = (v) => {
  if (!Array.isArray(v) || v.length < 1 || v.length > LIMITS.invite_grants_max) return `must be a list of 1..${LIMITS.invite_grants_max} grants`;
  for (const [i, g] of v.entries()) {
    if (!isRecord(g)) return `${i} must be a grant`;
    const problem = checkFields(g, { member: nodeId, sig: bytesOf(SIGNATURE_BYTES) });
    if (problem) return `${i}: ${problem}`;
  }
  return null;
};
const INVITE_ENDORSED: Record<string, FieldCheck> = {
  pub: bytesOf(PUBLIC_KEY_BYTES),
  role,
  expires_ms: uint(Number.MAX_SAFE_INTEGER),
  sigs: inviteGrants,
  proof: bytesOf(SIGNATURE_BYTES),
};

const inviteCheck: FieldCheck = (v) => {
  if (v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) return 'must be an invite or null';
  const obj = v as Record<string, CanonicalValue>;
  return checkFields(obj, Object.hasOwn(obj, 'code') ? INVITE_V1 : Object.hasOwn(obj, 'sigs') ? INVITE_ENDORSED : INVITE_V2);
};

const utcOffset: FieldCheck = (v) =>
  typeof v === 'number' && Number.isSafeInteger(v) && v >= LIMITS.utc_offset_min_min && v <= LIMITS.utc_offset_min_max && v % 15 === 0
    ? null
    : `must be a whole number of quarter hours in ${LIMITS.utc_offset_min_min}..${LIMITS.utc_offset_min_max} minutes`;

const hourlyPrices: FieldCheck = (v) => {
  const price = uint(LIMITS.price_max);
  return Array.isArray(v) && v.length === 24 && v.every((p) => price(p) === null) ? null : `must be 24 prices, each an integer in 0..${LIMITS.price_max}`;
};

/** Overrides in order of first_interval, not overlapping; only the last may be open-ended. */
const priceOverrides: FieldCheck = (v) => {
  if (!Array.isArray(v) || v.length > LIMITS.schedule_overrides_max) return `must be a list of at most ${LIMITS.schedule_overrides_max} overrides`;
  let next = 0; // the first interval the next override may start at
  for (const [i, o] of v.entries()) {
    if (!isRecord(o)) return `${i} must be an override`;
    const problem = checkFields(o, {
      first_interval: uint(INTERVAL_MAX),
      last_interval: (x) => (x === null ? null : uint(INTERVAL_MAX)(x)),
      price: uint(LIMITS.price_max),
    });
    if (problem) return `${i}: ${problem}`;
    const ov = o as unknown as PriceOverride;
    if (ov.first_interval < next) return `${i} starts before the override before it ends`;
    if (ov.last_interval !== null && ov.last_interval < ov.first_interval) return `${i} ends before it starts`;
    if (ov.last_interval === null && i !== v.length - 1) return `${i} is open-ended but not the last`;
    next = (ov.last_interval ?? INTERVAL_MAX) + 1;
  }
  return null;
};

const rekeyInviteCheck: FieldCheck = (v) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array) return 'must be a rekey invite';
  return checkFields(v as Record<string, CanonicalValue>, {
    member: nodeId,
    key: bytesOf(PUBLIC_KEY_BYTES),
    expires_ms: uint(Number.MAX_SAFE_INTEGER),
    sig: bytesOf(SIGNATURE_BYTES),
  });
};

const SCHEMAS: Record<TxKind, Record<string, FieldCheck>> = {
  admit: { member: nodeId, pub: bytesOf(PUBLIC_KEY_BYTES), role, invite: inviteCheck, name: displayName },
  rekey: { member: nodeId, pub: bytesOf(PUBLIC_KEY_BYTES), invite: rekeyInviteCheck, proof: bytesOf(SIGNATURE_BYTES) },
  rename: { name: displayName },
  remove: { member: nodeId },
  promote: { member: nodeId },
  demote: { member: nodeId },
  mint: { to: nodeId, amount: positive(LIMITS.amount_max), ref: text },
  withdraw: { amount: positive(LIMITS.amount_max) },
  payout: { payout: uint(SEQ_MAX) },
  transfer: { to: nodeId, amount: positive(LIMITS.amount_max), memo: text },
  price: { interval: uint(INTERVAL_MAX), price: uint(LIMITS.price_max) },
  schedule: { effective_interval: uint(INTERVAL_MAX), utc_offset_min: utcOffset, hourly: hourlyPrices, overrides: priceOverrides },
  offer: { first_interval: uint(INTERVAL_MAX), last_interval: uint(INTERVAL_MAX) },
  contract: {
    producer: nodeId,
    first_interval: uint(INTERVAL_MAX),
    last_interval: uint(INTERVAL_MAX),
    max_energy_wh: positive(LIMITS.register_max_wh),
    max_price: uint(LIMITS.price_max),
    lock: uint(LIMITS.amount_max),
  },
  fund: { contract: uint(SEQ_MAX), amount: positive(LIMITS.amount_max) },
  cancel: { contract: uint(SEQ_MAX) },
  meter: { interval: uint(INTERVAL_MAX), import_wh: uint(LIMITS.register_max_wh), export_wh: uint(LIMITS.register_max_wh) },
  join_request: { pub: bytesOf(PUBLIC_KEY_BYTES), role, name: displayName, expires_ms: uint(Number.MAX_SAFE_INTEGER) },
  propose_removal: { member: nodeId, expires_ms: uint(Number.MAX_SAFE_INTEGER) },
  propose_operator: { pub: publicKey, expires_ms: uint(Number.MAX_SAFE_INTEGER) },
  endorse: { request: uint(SEQ_MAX) },
  object: { request: uint(SEQ_MAX) },
  rotate_operator: { pub: publicKey },
};

/** Fields a body of the kind may leave out (added after chains were made without them). */
const OPTIONAL: Partial<Record<TxKind, readonly string[]>> = { admit: ['name'] };

const BASE_FIELDS: Record<string, FieldCheck> = {
  v: (v) => (v === TX_VERSION ? null : `must be ${TX_VERSION}`),
  chain: bytesOf(32),
  kind: () => null,
  from: nodeId,
  seq: uint(SEQ_MAX),
};

/**
 * Checks exactly these fields are present (those in `optional` may be absent), no others,
 * each valid; returns the first problem. Own properties only: a field named after
 * something on Object.prototype ("constructor", "toString") is not in any schema.
 */
function checkFields(obj: Record<string, CanonicalValue>, schema: Record<string, FieldCheck>, optional: readonly string[] = []): string | null {
  for (const key of Object.keys(obj)) if (!Object.hasOwn(schema, key)) return `unexpected field ${key}`;
  for (const [key, check] of Object.entries(schema)) {
    if (!Object.hasOwn(obj, key)) {
      if (optional.includes(key)) continue;
      return `missing field ${key}`;
    }
    const problem = check(obj[key]!);
    if (problem) return `${key} ${problem}`;
  }
  return null;
}

function isRecord(v: unknown): v is Record<string, CanonicalValue> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** Validates the shape of a body; throws TxError('malformed' | 'unknown_kind'). */
export function checkBody(body: unknown): asserts body is TxBody {
  if (!isRecord(body)) throw new TxError('malformed', 'body must be a map');
  const kind = body.kind;
  if (typeof kind !== 'string' || !Object.hasOwn(SCHEMAS, kind)) {
    throw new TxError('unknown_kind', `kind ${JSON.stringify(kind)} is not a transaction kind`);
  }
  const problem = checkFields(body, { ...BASE_FIELDS, ...SCHEMAS[kind as TxKind] }, OPTIONAL[kind as TxKind]);
  if (problem) throw new TxError('malformed', `${kind}: ${problem}`);
}

// ---- encoding, ids and signatures ----------------------------------------------------

export function encodeBody(body: TxBody): Uint8Array {
  return encodeCanonical(body as unknown as CanonicalValue);
}

// The canonical bytes of each decoded body, cut from its transaction's own bytes: a decoded
// transaction is never altered (its id is computed once, at decode), so checking its signature
// need not encode the body again. The offline verifier's profile showed each encode costing
// about a sixth of a transaction's decode.
const decodedBodyBytes = new WeakMap<object, Uint8Array>();

/** encodeBody, from the bytes it was decoded from when there are any. */
export function bodyBytesOf(body: TxBody): Uint8Array {
  return decodedBodyBytes.get(body) ?? encodeBody(body);
}

// A canonical signed tx is a map of three keys sorted length-first: pub (33 bytes), sig (64
// bytes), then body, so the body's encoding is the tail after this many bytes.
const BODY_OFFSET = 1 + (1 + 3) + (2 + PUBLIC_KEY_BYTES) + (1 + 3) + (2 + SIGNATURE_BYTES) + (1 + 4);
const BODY_KEY = [0x64, 0x62, 0x6f, 0x64, 0x79]; // text(4) "body"

function bodyBytesIn(bytes: Uint8Array, body: TxBody): Uint8Array {
  const at = BODY_OFFSET - BODY_KEY.length;
  const shaped = bytes[0] === 0xa3 && BODY_KEY.every((b, i) => bytes[at + i] === b);
  return shaped ? bytes.subarray(BODY_OFFSET) : encodeBody(body);
}

export function txIdOfBody(bodyBytes: Uint8Array): string {
  return toHex(taggedHash('tx', bodyBytes));
}

/** What a member signs: a domain tag, then the body (which carries the chain id). */
export function txSigningMessage(bodyBytes: Uint8Array): Uint8Array {
  return concatBytes(utf8('gridledger/tx/v1'), bodyBytes);
}

/** What the operator signed for a v1 invite (bearer code); v2 is invite.ts's inviteGrantMessage. */
export function inviteMessage(chain: Uint8Array, code: Uint8Array, inviteRole: Role, expires_ms: number): Uint8Array {
  return concatBytes(
    utf8('gridledger/invite/v1'),
    encodeCanonical({ chain, code, role: inviteRole, expires_ms }),
  );
}

/** What the operator signs to let `member`'s account move to whoever holds the one-time `key`. */
export function rekeyInviteMessage(chain: Uint8Array, member: NodeId, key: Uint8Array, expires_ms: number): Uint8Array {
  return concatBytes(utf8('gridledger/rekey-invite/v1'), encodeCanonical({ chain, member, key, expires_ms }));
}

/** What the one-time key signs: the new public key the account moves to (the rekey's `proof`). */
export function rekeyBindMessage(chain: Uint8Array, member: NodeId, pub: Uint8Array): Uint8Array {
  return concatBytes(utf8('gridledger/rekey-bind/v1'), encodeCanonical({ chain, member, pub }));
}

export function encodeSignedTx(tx: SignedTx): Uint8Array {
  return encodeCanonical({ body: tx.body as unknown as CanonicalValue, pub: tx.pub, sig: tx.sig });
}

export async function signTx(
  body: TxBody,
  signer: { publicKey: Uint8Array; sign(m: Uint8Array): Promise<Uint8Array> },
): Promise<DecodedTx> {
  checkBody(body);
  const bodyBytes = encodeBody(body);
  const sig = await signer.sign(txSigningMessage(bodyBytes));
  const tx: SignedTx = { body, pub: signer.publicKey, sig };
  const bytes = encodeSignedTx(tx);
  return { ...tx, id: txIdOfBody(bodyBytes), bytes };
}

/** Synchronous signing for tests and the simulator. */
export function signTxSync(body: TxBody, signer: { publicKey: Uint8Array; signSync(m: Uint8Array): Uint8Array }): DecodedTx {
  checkBody(body);
  const bodyBytes = encodeBody(body);
  const sig = signer.signSync(txSigningMessage(bodyBytes));
  const tx: SignedTx = { body, pub: signer.publicKey, sig };
  return { ...tx, id: txIdOfBody(bodyBytes), bytes: encodeSignedTx(tx) };
}

/**
 * Decodes a signed transaction and checks everything that needs no ledger state: size,
 * canonical encoding, shape, chain id, that `from` is the hash of `pub`, and the signature.
 * `verifier` may be a caching verifier: signatures are pure functions of their inputs.
 */
export function decodeTx(bytes: Uint8Array, chain: Uint8Array, verifier: Verifier): DecodedTx {
  const tx = decodeTxUnverified(bytes, chain);
  checkTxSignature(tx, verifier);
  return tx;
}

/** The signature check of decodeTx, for a transaction decoded without it. */
export function checkTxSignature(tx: SignedTx, verifier: Verifier): void {
  if (!verifier.verify(tx.pub, txSigningMessage(bodyBytesOf(tx.body)), tx.sig)) {
    throw new TxError('bad_signature', `signature does not verify for ${tx.body.from}`);
  }
}

/**
 * Transactions decoded from these very bytes (the Uint8Array object, not its contents): a
 * transaction from the wire is decoded — with its canonical-form check — once, whoever asks
 * (the node's pre-verification, the core's submit, the block check). Bytes are never written
 * after they arrive or are built, and a decoded transaction is never mutated.
 */
const decodedFrom = new WeakMap<Uint8Array, { chain: Uint8Array; tx: DecodedTx }>();

/** Everything decodeTx checks except the signature (which the caller verifies, maybe async). */
export function decodeTxUnverified(bytes: Uint8Array, chain: Uint8Array): DecodedTx {
  const seen = decodedFrom.get(bytes);
  if (seen && seen.chain === chain) return seen.tx;
  const tx = decodeFresh(bytes, chain);
  decodedFrom.set(bytes, { chain, tx });
  return tx;
}

function decodeFresh(bytes: Uint8Array, chain: Uint8Array): DecodedTx {
  if (bytes.length > LIMITS.tx_max_bytes) {
    throw new TxError('too_large', `${bytes.length} bytes exceeds ${LIMITS.tx_max_bytes}`);
  }
  let value: CanonicalValue;
  try {
    value = decodeCanonical(bytes, LIMITS.tx_max_bytes);
  } catch (err) {
    throw new TxError('malformed', (err as CodecError).message);
  }
  if (!isRecord(value)) throw new TxError('malformed', 'signed tx must be a map');
  const problem = checkFields(value, { body: () => null, pub: bytesOf(PUBLIC_KEY_BYTES), sig: bytesOf(SIGNATURE_BYTES) });
  if (problem) throw new TxError('malformed', problem);
  const body = value.body;
  checkBody(body);
  const pub = value.pub as Uint8Array;
  if (!bytesEqual(body.chain, chain)) throw new TxError('wrong_chain', 'transaction is for another chain');
  if (!isValidPublicKey(pub)) throw new TxError('malformed', 'pub is not a valid P-256 public key');
  if (nodeIdOf(pub) !== body.from) throw new TxError('bad_signature', 'from is not the id of pub');
  // decodeCanonical checked that `bytes` is the canonical encoding of {body, pub, sig}.
  const bodyBytes = bodyBytesIn(bytes, body);
  decodedBodyBytes.set(body, bodyBytes);
  return { body, pub, sig: value.sig as Uint8Array, id: txIdOfBody(bodyBytes), bytes };
}

function entryBytes(e: { pub: Uint8Array; msg: Uint8Array }): number {
  return e.pub.length + e.msg.length + 200; // the key string and the map's own overhead
}

/**
 * Memoises verifications (bounded), e.g. so a block's txs already checked in the mempool are
 * not checked again. Keyed by the signature and checked by comparing the key and message
 * bytes exactly: cheaper than hashing them (a profile showed the hash costing as much as the
 * rest of a follower's block checks), and a signature presented with another key or message
 * simply misses and is verified.
 */
export class CachingVerifier implements Verifier {
  readonly #inner: Verifier;
  readonly #seen = new Map<string, { pub: Uint8Array; msg: Uint8Array; ok: boolean }>();
  readonly #max_bytes: number;
  #bytes = 0;
  hits = 0;
  misses = 0;

  /** `max_bytes`: the keys and messages held (16 MiB ≈ 45,000 transactions). */
  constructor(inner: Verifier, max_bytes = 16 * 1024 * 1024) {
    this.#inner = inner;
    this.#max_bytes = max_bytes;
  }

  #lookup(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean | undefined {
    const e = this.#seen.get(toHex(signature));
    return e && bytesEqual(e.pub, publicKey) && bytesEqual(e.msg, message) ? e.ok : undefined;
  }

  #record(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array, ok: boolean): void {
    const key = toHex(signature);
    const old = this.#seen.get(key);
    if (old) {
      this.#seen.delete(key);
      this.#bytes -= entryBytes(old);
    }
    // Copies: the caller's buffers may be views of a large frame, reused or altered later.
    const entry = { pub: publicKey.slice(), msg: message.slice(), ok };
    this.#seen.set(key, entry);
    this.#bytes += entryBytes(entry);
    while (this.#bytes > this.#max_bytes && this.#seen.size > 1) {
      const [k, v] = this.#seen.entries().next().value!;
      this.#seen.delete(k);
      this.#bytes -= entryBytes(v);
    }
  }

  /**
   * Records a signature already found valid elsewhere (say by WebCrypto, asynchronously),
   * so the synchronous check finds it. Only successes are recorded: a failure is left for
   * the inner verifier to decide, so both verifiers can never disagree on a verdict.
   */
  primeValid(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): void {
    this.#record(publicKey, message, signature, true);
  }

  has(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    return this.#lookup(publicKey, message, signature) !== undefined;
  }

  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
    const cached = this.#lookup(publicKey, message, signature);
    if (cached !== undefined) {
      this.hits++;
      return cached;
    }
    this.misses++;
    const ok = this.#inner.verify(publicKey, message, signature);
    this.#record(publicKey, message, signature, ok);
    return ok;
  }
}
