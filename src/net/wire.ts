// The peer protocol on a data channel: frame types, their encoding (canonical CBOR), a
// strict shape check of everything a peer sends, and chunking of frames larger than one
// channel message. Pure: the worker's peer sessions do the I/O.
//
// Channel message = 1 byte kind + body:
//   0x00 whole frame: body is the encoded frame
//   0x01 chunk: u32 frame id, u16 chunk index, u16 chunk count (big-endian), then data
import { encodeCanonical, decodeCanonical, type CanonicalValue } from '../core/codec.js';
import { decodeBlock, encodeBlock } from '../core/block.js';
import { isNodeId, PUBLIC_KEY_BYTES, SIGNATURE_BYTES, type NodeId } from '../core/keys.js';
import type { Entry, Message } from '../core/raft/types.js';
import type { Certificate, Envelope } from '../core/replica.js';
import { ROLES, type Role } from '../core/tx.js';
import { LIMITS } from '../core/params.js';
import type { ReadPass } from '../core/reading.js';
import type { OutsiderView } from '../core/door.js';

export const WIRE_LIMITS = {
  /** One channel message (Chromium throws above 256 KiB; stay well under it). */
  chunk_bytes: 64 * 1024,
  /** A whole reassembled frame. */
  frame_bytes: 4 * 1024 * 1024,
  /** Frames being reassembled at once from one peer. */
  partial_frames: 4,
  /** A frame whose chunks have not all arrived by then is dropped (its memory freed). */
  partial_frame_ms: 10_000,
  entries_per_frame: 256,
  txs_per_frame: 256,
  acks_per_cert: 256,
  sync_batch_max: 256,
  /** The join request a `join_req` carries: about 250 bytes (a key, a name of at most 64 characters, a signature). */
  join_tx_bytes: 1024,
} as const;

export class WireError extends Error {
  override name = 'WireError';
  constructor(
    readonly code: 'too_large' | 'malformed' | 'bad_chunk' | 'unknown_type',
    message: string,
  ) {
    super(message);
  }
}

export interface WireEntry {
  index: number;
  term: number;
  hash: string;
  block: Entry['block'];
}

export type Frame =
  | { t: 'hello'; v: 2; pub: Uint8Array; grid: string; nonce: Uint8Array; height: number; member: boolean }
  | { t: 'auth'; pub: Uint8Array; nonce: Uint8Array; height: number; sig: Uint8Array }
  | { t: 'ping'; n: number }
  | { t: 'pong'; n: number }
  | { t: 'env'; env: Envelope }
  | { t: 'genesis_req' }
  | { t: 'genesis'; bytes: Uint8Array }
  | { t: 'sync_req'; from: number; max: number }
  | { t: 'sync_resp'; entries: Entry[]; certs: Certificate[]; tip: number }
  /**
   * A peer that may not read asks to join: `pub`, `role`, `name` for the operator's desk, and
   * `tx`, its own `join_request` signed by that key, which members' nodes put on the chain when
   * the grid admits by vote (core/door.ts).
   */
  | { t: 'join_req'; pub: Uint8Array; role: Role; name: string; tx: Uint8Array }
  | { t: 'deposit_req'; amount: number; ref: string }
  /** A joiner shows the invite it will present, so that members let it read the chain. */
  | { t: 'present'; pass: ReadPass }
  /** A member's node will not serve this peer the chain, why, and what it may know (core/door.ts). */
  | { t: 'denied'; reason: string; view: OutsiderView }
  /**
   * A voter tells the non-voters linked to it its certified height and the leader it follows
   * (partial mesh, core/links.ts): they sync from it, and a learner waiting for promotion links
   * to that leader. A hint only: blocks are checked as ever, and the leader is only a link choice.
   */
  | { t: 'head'; height: number; leader: string | null };

// ---- encoding ---------------------------------------------------------------------------

function wireEntry(e: Entry): CanonicalValue {
  return { index: e.index, term: e.term, hash: e.hash, block: e.block ? encodeBlock(e.block) : null };
}

function wireMessage(m: Message): CanonicalValue {
  if (m.type === 'append') return { ...m, entries: m.entries.map(wireEntry) } as unknown as CanonicalValue;
  return m as unknown as CanonicalValue;
}

function wireEnvelope(env: Envelope): CanonicalValue {
  if (env.kind === 'raft') return { ...env, msg: wireMessage(env.msg) } as unknown as CanonicalValue;
  return env as unknown as CanonicalValue;
}

export function encodeFrame(frame: Frame): Uint8Array {
  let value: CanonicalValue;
  if (frame.t === 'env') value = { t: 'env', env: wireEnvelope(frame.env) };
  else if (frame.t === 'sync_resp') value = { ...frame, entries: frame.entries.map(wireEntry) } as unknown as CanonicalValue;
  else value = frame as unknown as CanonicalValue;
  return encodeCanonical(value);
}

// ---- decoding with shape checks ----------------------------------------------------------

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
const isUint = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isBytes = (v: unknown, n?: number): v is Uint8Array => v instanceof Uint8Array && (n === undefined || v.length === n);
const isHash = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v);

function fail(what: string): never {
  throw new WireError('malformed', what);
}

function need(cond: boolean, what: string): asserts cond {
  if (!cond) fail(what);
}

function keysAre(o: Obj, keys: string[], what: string): void {
  const have = Object.keys(o).sort().join();
  need(have === [...keys].sort().join(), `${what}: unexpected fields ${have}`);
}

function parseOutsiderView(v: unknown): OutsiderView {
  need(isObj(v), 'view is not a map');
  keysAre(v, ['admission', 'join_needed', 'request'], 'view');
  need((v.admission === 'operator' && v.join_needed === null) || (v.admission === 'm_of_n' && isUint(v.join_needed)), 'view admission');
  const r = v.request;
  if (r !== null) {
    need(isObj(r), 'view request is not a map');
    keysAre(r, ['id', 'status', 'endorsed', 'objected', 'needed', 'expires_ms'], 'view request');
    need(isUint(r.id) && ['open', 'admitted', 'rejected'].includes(r.status as string) && isUint(r.endorsed) && isUint(r.objected) && isUint(r.needed) && isUint(r.expires_ms), 'view request fields');
  }
  return v as unknown as OutsiderView;
}

function parsePass(v: unknown): ReadPass {
  need(isObj(v), 'pass is not a map');
  if (v.kind === 'invite') {
    keysAre(v, ['kind', 'invite'], 'invite pass');
    const i = v.invite;
    need(isObj(i), 'invite is not a map');
    if (Object.hasOwn(i, 'sigs')) {
      // An endorsed invite (M-of-N): grants from voters instead of the operator's sig.
      keysAre(i, ['pub', 'role', 'expires_ms', 'sigs', 'proof'], 'invite');
      need(isBytes(i.pub, PUBLIC_KEY_BYTES) && ROLES.includes(i.role as Role) && isUint(i.expires_ms) && isBytes(i.proof, SIGNATURE_BYTES), 'invite fields');
      need(Array.isArray(i.sigs) && i.sigs.length >= 1 && i.sigs.length <= LIMITS.invite_grants_max, 'invite grants');
      for (const g of i.sigs as unknown[]) {
        need(isObj(g), 'grant is not a map');
        keysAre(g, ['member', 'sig'], 'grant');
        need(isNodeId(g.member) && isBytes(g.sig, SIGNATURE_BYTES), 'grant fields');
      }
      return v as unknown as ReadPass;
    }
    keysAre(i, ['pub', 'role', 'expires_ms', 'sig', 'proof'], 'invite');
    need(isBytes(i.pub, PUBLIC_KEY_BYTES) && ROLES.includes(i.role as Role) && isUint(i.expires_ms) && isBytes(i.sig, SIGNATURE_BYTES) && isBytes(i.proof, SIGNATURE_BYTES), 'invite fields');
    return v as unknown as ReadPass;
  }
  need(v.kind === 'rekey', 'pass kind');
  keysAre(v, ['kind', 'member', 'invite', 'proof'], 'rekey pass');
  const i = v.invite;
  need(isObj(i) && isNodeId(v.member) && isBytes(v.proof, SIGNATURE_BYTES), 'rekey pass fields');
  keysAre(i, ['member', 'key', 'expires_ms', 'sig'], 'rekey invite');
  need(isNodeId(i.member) && isBytes(i.key, PUBLIC_KEY_BYTES) && isUint(i.expires_ms) && isBytes(i.sig, SIGNATURE_BYTES), 'rekey invite fields');
  return v as unknown as ReadPass;
}

function parseEntry(v: unknown): Entry {
  need(isObj(v), 'entry is not a map');
  keysAre(v, ['index', 'term', 'hash', 'block'], 'entry');
  need(isUint(v.index) && v.index > 0 && isUint(v.term) && isHash(v.hash) && isBytes(v.block), 'entry fields');
  return { index: v.index, term: v.term, hash: v.hash, block: decodeBlock(v.block) };
}

const RAFT_FIELDS: Record<Message['type'], string[]> = {
  vote: ['last_index', 'last_term', 'transfer'],
  prevote: ['last_index', 'last_term', 'transfer'],
  vote_resp: ['reject'],
  prevote_resp: ['reject'],
  append: ['prev_index', 'prev_term', 'entries', 'commit'],
  append_resp: ['index', 'reject', 'hint_index', 'hint_term'],
  heartbeat: ['commit'],
  heartbeat_resp: [],
  timeout_now: [],
};

function parseMessage(v: unknown): Message {
  need(isObj(v) && typeof v.type === 'string' && Object.hasOwn(RAFT_FIELDS, v.type), 'unknown raft message');
  const fields = RAFT_FIELDS[v.type as Message['type']];
  keysAre(v, ['type', 'from', 'to', 'term', ...fields], `raft ${v.type}`);
  need(isNodeId(v.from) && isNodeId(v.to) && isUint(v.term), 'raft message header');
  for (const f of fields) {
    if (f === 'entries') {
      need(Array.isArray(v.entries) && v.entries.length <= WIRE_LIMITS.entries_per_frame, 'entries');
      v.entries = v.entries.map(parseEntry);
    } else if (f === 'transfer' || f === 'reject') need(typeof v[f] === 'boolean', f);
    else need(isUint(v[f]), f);
  }
  return v as unknown as Message;
}

function parseCert(v: unknown): Certificate {
  need(isObj(v), 'certificate');
  keysAre(v, ['height', 'hash', 'acks'], 'certificate');
  need(isUint(v.height) && isHash(v.hash) && Array.isArray(v.acks) && v.acks.length <= WIRE_LIMITS.acks_per_cert, 'certificate fields');
  for (const a of v.acks) {
    need(isObj(a) && isNodeId(a.voter) && isBytes(a.sig, SIGNATURE_BYTES) && Object.keys(a).length === 2, 'ack');
  }
  return v as unknown as Certificate;
}

function parseEnvelope(v: unknown): Envelope {
  need(isObj(v) && isNodeId(v.from) && isNodeId(v.to), 'envelope');
  switch (v.kind) {
    case 'raft':
      keysAre(v, ['kind', 'from', 'to', 'msg'], 'raft envelope');
      return { kind: 'raft', from: v.from, to: v.to, msg: parseMessage(v.msg) };
    case 'txs':
      keysAre(v, ['kind', 'from', 'to', 'txs'], 'txs envelope');
      need(Array.isArray(v.txs) && v.txs.length <= WIRE_LIMITS.txs_per_frame && v.txs.every((t) => isBytes(t)), 'txs');
      return v as unknown as Envelope;
    case 'cert_req':
      keysAre(v, ['kind', 'from', 'to', 'term', 'height', 'hash'], 'cert_req');
      need(isUint(v.term) && isUint(v.height) && isHash(v.hash), 'cert_req fields');
      return v as unknown as Envelope;
    case 'cert_ack':
      keysAre(v, ['kind', 'from', 'to', 'height', 'hash', 'sig'], 'cert_ack');
      need(isUint(v.height) && isHash(v.hash) && isBytes(v.sig, SIGNATURE_BYTES), 'cert_ack fields');
      return v as unknown as Envelope;
    case 'cert':
      keysAre(v, ['kind', 'from', 'to', 'cert'], 'cert envelope');
      return { kind: 'cert', from: v.from, to: v.to, cert: parseCert(v.cert) };
    default:
      return fail('unknown envelope kind');
  }
}

/** Decodes one whole frame; throws WireError on anything a well-behaved peer never sends. */
export function decodeFrame(bytes: Uint8Array): Frame {
  let v: CanonicalValue;
  try {
    v = decodeCanonical(bytes, WIRE_LIMITS.frame_bytes);
  } catch (err) {
    throw new WireError(bytes.length > WIRE_LIMITS.frame_bytes ? 'too_large' : 'malformed', (err as Error).message);
  }
  need(isObj(v) && typeof v.t === 'string', 'frame is not a map with a type');
  try {
    switch (v.t) {
      case 'hello':
        keysAre(v, ['t', 'v', 'pub', 'grid', 'nonce', 'height', 'member'], 'hello');
        // v2 (issue 11): the auth that follows signs the connection transcript (PROTOCOL.md).
        need(v.v === 2 && isBytes(v.pub, PUBLIC_KEY_BYTES) && isHash(v.grid) && isBytes(v.nonce, 16) && isUint(v.height) && typeof v.member === 'boolean', 'hello fields');
        return v as unknown as Frame;
      case 'auth':
        keysAre(v, ['t', 'pub', 'nonce', 'height', 'sig'], 'auth');
        need(isBytes(v.pub, PUBLIC_KEY_BYTES) && isBytes(v.nonce, 16) && isUint(v.height) && isBytes(v.sig, SIGNATURE_BYTES), 'auth fields');
        return v as unknown as Frame;
      case 'ping':
      case 'pong':
        keysAre(v, ['t', 'n'], v.t);
        need(isUint(v.n), 'ping number');
        return v as unknown as Frame;
      case 'env':
        keysAre(v, ['t', 'env'], 'env');
        return { t: 'env', env: parseEnvelope(v.env) };
      case 'genesis_req':
        keysAre(v, ['t'], 'genesis_req');
        return { t: 'genesis_req' };
      case 'genesis':
        keysAre(v, ['t', 'bytes'], 'genesis');
        need(isBytes(v.bytes) && v.bytes.length <= 64 * 1024, 'genesis bytes');
        return v as unknown as Frame;
      case 'sync_req':
        keysAre(v, ['t', 'from', 'max'], 'sync_req');
        need(isUint(v.from) && v.from > 0 && isUint(v.max) && v.max > 0 && v.max <= WIRE_LIMITS.sync_batch_max, 'sync_req fields');
        return v as unknown as Frame;
      case 'sync_resp': {
        keysAre(v, ['t', 'entries', 'certs', 'tip'], 'sync_resp');
        need(Array.isArray(v.entries) && v.entries.length <= WIRE_LIMITS.sync_batch_max && Array.isArray(v.certs) && v.certs.length <= WIRE_LIMITS.sync_batch_max && isUint(v.tip), 'sync_resp fields');
        return { t: 'sync_resp', entries: v.entries.map(parseEntry), certs: v.certs.map(parseCert), tip: v.tip };
      }
      case 'join_req':
        keysAre(v, ['t', 'pub', 'role', 'name', 'tx'], 'join_req');
        need(isBytes(v.pub, PUBLIC_KEY_BYTES) && ROLES.includes(v.role as Role) && typeof v.name === 'string' && v.name.length <= 64, 'join_req fields');
        need(isBytes(v.tx) && v.tx.length <= WIRE_LIMITS.join_tx_bytes, 'join_req tx');
        return v as unknown as Frame;
      case 'deposit_req':
        keysAre(v, ['t', 'amount', 'ref'], 'deposit_req');
        need(isUint(v.amount) && v.amount > 0 && v.amount <= 1e12 && typeof v.ref === 'string' && v.ref.length <= 64, 'deposit_req fields');
        return v as unknown as Frame;
      case 'present':
        keysAre(v, ['t', 'pass'], 'present');
        return { t: 'present', pass: parsePass(v.pass) };
      case 'head':
        keysAre(v, ['t', 'height', 'leader'], 'head');
        need(isUint(v.height) && (v.leader === null || isNodeId(v.leader)), 'head fields');
        return v as unknown as Frame;
      case 'denied':
        keysAre(v, ['t', 'reason', 'view'], 'denied');
        need(typeof v.reason === 'string' && v.reason.length <= 200, 'denied reason');
        return { t: 'denied', reason: v.reason, view: parseOutsiderView(v.view) };
      default:
        throw new WireError('unknown_type', `unknown frame type ${String(v.t).slice(0, 20)}`);
    }
  } catch (err) {
    if (err instanceof WireError) throw err;
    // decodeBlock and friends throw their own errors: to the peer layer all are malformed.
    throw new WireError('malformed', (err as Error).message);
  }
}

// ---- chunking -----------------------------------------------------------------------------

const WHOLE = 0x00;
const CHUNK = 0x01;
const CHUNK_HEADER = 9;

/** Splits an encoded frame into channel messages of at most WIRE_LIMITS.chunk_bytes. */
export function toChannelMessages(frame: Uint8Array, frame_id: number): Uint8Array[] {
  if (frame.length > WIRE_LIMITS.frame_bytes) throw new WireError('too_large', `frame of ${frame.length} bytes`);
  if (frame.length + 1 <= WIRE_LIMITS.chunk_bytes) {
    const out = new Uint8Array(frame.length + 1);
    out[0] = WHOLE;
    out.set(frame, 1);
    return [out];
  }
  const room = WIRE_LIMITS.chunk_bytes - CHUNK_HEADER;
  const count = Math.ceil(frame.length / room);
  const parts: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const data = frame.subarray(i * room, (i + 1) * room);
    const out = new Uint8Array(CHUNK_HEADER + data.length);
    const view = new DataView(out.buffer);
    out[0] = CHUNK;
    view.setUint32(1, frame_id >>> 0);
    view.setUint16(5, i);
    view.setUint16(7, count);
    out.set(data, CHUNK_HEADER);
    parts.push(out);
  }
  return parts;
}

/** Reassembles channel messages from one peer into whole frames, within limits. */
export class Reassembler {
  readonly #partial = new Map<number, { parts: Uint8Array[]; got: number; bytes: number; started_ms: number }>();
  /** Partial frames dropped because their last chunks never came. */
  expired = 0;

  /**
   * A whole frame when one is complete, null while a chunked frame is still arriving. `now_ms`
   * is the receiver's clock: frames begun more than partial_frame_ms ago are dropped first.
   */
  push(msg: Uint8Array, now_ms: number): Uint8Array | null {
    for (const [id, p] of this.#partial) {
      if (now_ms - p.started_ms > WIRE_LIMITS.partial_frame_ms) {
        this.#partial.delete(id);
        this.expired++;
      }
    }
    if (msg.length === 0 || msg.length > WIRE_LIMITS.chunk_bytes) throw new WireError('bad_chunk', `channel message of ${msg.length} bytes`);
    if (msg[0] === WHOLE) return msg.subarray(1);
    if (msg[0] !== CHUNK || msg.length <= CHUNK_HEADER) throw new WireError('bad_chunk', 'unknown channel message kind');
    const view = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
    const id = view.getUint32(1);
    const index = view.getUint16(5);
    const count = view.getUint16(7);
    const maxCount = Math.ceil(WIRE_LIMITS.frame_bytes / (WIRE_LIMITS.chunk_bytes - CHUNK_HEADER));
    if (count < 2 || count > maxCount || index >= count) throw new WireError('bad_chunk', `chunk ${index}/${count}`);
    let p = this.#partial.get(id);
    if (!p) {
      if (this.#partial.size >= WIRE_LIMITS.partial_frames) throw new WireError('bad_chunk', 'too many frames in flight');
      p = { parts: new Array<Uint8Array>(count), got: 0, bytes: 0, started_ms: now_ms };
      this.#partial.set(id, p);
    }
    if (p.parts.length !== count || p.parts[index]) throw new WireError('bad_chunk', 'chunk count changed or chunk repeated');
    const data = msg.slice(CHUNK_HEADER);
    p.parts[index] = data;
    p.got++;
    p.bytes += data.length;
    if (p.bytes > WIRE_LIMITS.frame_bytes) throw new WireError('too_large', 'reassembled frame too large');
    if (p.got < count) return null;
    this.#partial.delete(id);
    const out = new Uint8Array(p.bytes);
    let at = 0;
    for (const part of p.parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}

export type { NodeId };
