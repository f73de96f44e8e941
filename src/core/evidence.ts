// A household's evidence: its settlement statements, each with the transactions it rests on
// (meter readings, the contract, the price) proven by RFC 6962 inclusion proofs against block
// headers, and each header proven against one certified header through the history tree. Pure:
// the builder reads a chain through ChainAccess (the node's replica holds its log in memory);
// the checker takes the file's items one at a time (the CLI's --evidence, or a browser).
//
// An evidence file (framing as export.ts):
//   { t: 'head', format: 'gridledger/evidence', v: 1, chain }
//   { t: 'genesis', genesis: bstr }
//   { t: 'anchor', header, cert: [Ack], voters: [pub33] }   a certified header (block_version 2)
//   { t: 'household', member }
//   { t: 'header', header, path: [hash] }                    path: leaf `height` of the anchor's history
//   { t: 'statement', height, statement, txs: [{ role, height, index, tx: bstr, proof: [hash] }] }
//   { t: 'end', statements, headers }
// Headers come before the first statement that needs them, in height order. A saved head file
// (format 'gridledger/head') is head, genesis, anchor, end — what an auditor keeps to check
// later, with history.ts's extension proof, that a newer chain extends it.
import type { CanonicalValue } from './codec.js';
import { bytesEqual, toHex } from './bytes.js';
import { blockHash, checkCertificate, isBlockHeader, BlockError, type Ack, type Block, type BlockHeader } from './block.js';
import { chainIdOf, checkGenesis, GenesisError, operatorIdOf, type SignedGenesis } from './genesis.js';
import { checkBlockInHistory, blockVersionOf, type HeadView } from './history.js';
import { isValidPublicKey, nodeIdOf, type NodeId, type Verifier } from './keys.js';
import { applyChecked, genesisState, intervalOf, votersOf, type LedgerState } from './ledger.js';
import { inclusionProof, leafHash, MerkleLevels, verifyInclusion } from './merkle.js';
import { exactMoney, LIMITS, settlementRuleOf, spreadsGaps, type GridParams } from './params.js';
import { isContractStatement, type ContractStatement, type Outcome } from './settlement.js';
import { scheduledPrice } from './prices.js';
import { gapShare } from './readings.js';
import { decodeTx, decodeTxUnverified, TxError, type DecodedTx } from './tx.js';
import {
  acksOf, decodeGenesisItem, decodeHead, decodeItem, encodeItem, genesisItem, hasKeys, headItem, isUint, ExportError, ItemReader,
} from './export.js';

export const EVIDENCE_FORMAT = 'gridledger/evidence';
export const HEAD_FORMAT = 'gridledger/head';

export type TxRole = 'contract' | 'price' | 'schedule' | 'consumer_reading' | 'consumer_prior' | 'producer_reading' | 'producer_prior';
const ROLES: readonly TxRole[] = ['contract', 'price', 'schedule', 'consumer_reading', 'consumer_prior', 'producer_reading', 'producer_prior'];
const OUTCOMES: readonly Outcome[] = ['settled', 'no_price', 'price_above_limit', 'no_consumption', 'no_delivery', 'cap_reached', 'no_funds'];

export interface ProvenTx {
  role: TxRole;
  height: number;
  index: number;
  tx: Uint8Array;
  proof: Uint8Array[];
}

/** A certified head once checked: what history.ts's extension proofs need (history null on v1 grids). */
export interface CheckedHead {
  height: number;
  hash: Uint8Array;
  history: Uint8Array | null;
}

/** A header with a quorum certificate and the voters it names (their keys). */
export interface CertifiedHead {
  header: BlockHeader;
  cert: Ack[];
  voters: Uint8Array[];
}

export class EvidenceError extends Error {
  override name = 'EvidenceError';
  constructor(
    readonly code: string,
    readonly reason: string,
    /** The item at fault (0 = the head). */
    readonly item: number,
    /** The statement's settling height, when the fault is in a statement. */
    readonly height: number | null = null,
  ) {
    super(`item ${item}${height !== null ? ` (statement settled at height ${height})` : ''}: ${code}: ${reason}`);
  }
}

/** What an evidence file cannot prove without the full chain (the CLI prints it; PROTOCOL.md). */
export const EVIDENCE_LIMITS: readonly string[] = [
  'that the voters named for the anchor were the voters at its height (membership lives in the chain)',
  'that the file holds every statement of the household (one left out goes unnoticed)',
  'that a price transaction is the last one published for its interval',
  'that the schedule shown was the one in force for the interval (no later schedule replaced it, no price transaction overrode it)',
  'that the contract id in a statement belongs to the contract transaction shown (ids are assigned by the ledger)',
  'how much of the producer\'s export its earlier contracts took (available_wh is checked only to be at most the export)',
  'the escrow left in a contract (funding, earlier payments), when it limits delivery',
  'the absence of a reading or a price (a statement resting on "no reading" or "no price" is reported as unproven)',
  'that a price signed by a key other than the genesis operator\'s came from the operator of that time (after a key rotation or recovery; reported as unproven)',
];

// ---- the builder ----------------------------------------------------------------------

/** Read access to a node's chain: its genesis, its blocks 1..height and their certificates. */
export interface ChainAccess {
  genesis: SignedGenesis;
  height: number;
  block(height: number): Block;
  cert(height: number): Ack[] | null;
}

interface Pos {
  height: number;
  index: number;
}

export function anchorItem(head: CertifiedHead): Uint8Array {
  return encodeItem({
    t: 'anchor',
    header: head.header as unknown as CanonicalValue,
    cert: head.cert.map((a) => ({ voter: a.voter, sig: a.sig })),
    voters: head.voters,
  });
}

export function certifiedHeadOf(block: Block, cert: Ack[], stateAfter: LedgerState): CertifiedHead {
  return { header: block.header, cert, voters: [...votersOf(stateAfter).values()] };
}

/** A saved head file: the head of a verified chain, to check a later chain against. */
export function encodeHeadFile(genesis: SignedGenesis, block: Block, cert: Ack[], stateAfter: LedgerState): Uint8Array {
  const parts = [headItem(HEAD_FORMAT, chainIdOf(genesis.genesis)), genesisItem(genesis), anchorItem(certifiedHeadOf(block, cert, stateAfter)), encodeItem({ t: 'end' })];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Builds a household's evidence file item by item. Replays the chain once (without checking
 * signatures again: it is the node's own, verified chain) to find the household's statements
 * and where each transaction they rest on sits, then proves them against the newest certified
 * block. Statements settled after that block are left out (not final yet). Needs block_version 2.
 */
export function* evidenceItems(access: ChainAccess, household: NodeId, verifier: Verifier): Generator<Uint8Array> {
  const g = access.genesis;
  if (blockVersionOf(g.genesis.params) !== 2) throw new EvidenceError('no_history', 'evidence needs history roots (block_version 2); this grid predates them', 0);
  let state = genesisState(g, verifier);
  if (household === state.operator) throw new EvidenceError('not_household', 'the operator is not a household', 0);
  const chain = state.chain_id;
  const hashes: Uint8Array[] = [chain];
  const readings = new Map<NodeId, (Pos & { interval: number })[]>(); // member -> its ok meter txs, in order
  const prices = new Map<number, Pos>(); // interval -> the last ok price tx
  const contracts = new Map<number, Pos>(); // contract id -> its contract tx
  // The schedule txs in force or waiting, as the ledger keeps them (a schedule replaces those
  // committed for its interval or later); each statement priced by one notes which.
  let schedules: (Pos & { effective_interval: number })[] = [];
  const mine: (ContractStatement & { height: number; schedule?: Pos })[] = [];
  let anchor: { height: number; cert: Ack[]; voters: Uint8Array[] } | null = null;
  let member = state.members.has(household);
  for (let h = 1; h <= access.height; h++) {
    const block = access.block(h);
    const txs = block.txs.map((b) => decodeTxUnverified(b, chain));
    const r = applyChecked(state, block, txs);
    state = r.state;
    hashes.push(state.last_hash);
    for (const s of r.statements) {
      if (!isContractStatement(s) || (s.consumer !== household && s.producer !== household)) continue;
      let schedule: Pos | undefined;
      if (s.price_source) for (const x of schedules) if (x.effective_interval <= s.interval) schedule = x;
      mine.push({ ...s, height: h, ...(schedule ? { schedule } : {}) });
    }
    r.receipts.forEach((receipt, index) => {
      if (!receipt.ok) return;
      const body = txs[index]!.body;
      if (body.kind === 'meter') {
        let list = readings.get(body.from);
        if (!list) readings.set(body.from, (list = []));
        list.push({ height: h, index, interval: body.interval });
      } else if (body.kind === 'price') prices.set(body.interval, { height: h, index });
      else if (body.kind === 'schedule') schedules = [...schedules.filter((x) => x.effective_interval < body.effective_interval), { height: h, index, effective_interval: body.effective_interval }];
      else if (body.kind === 'contract' && receipt.contract !== undefined) contracts.set(receipt.contract, { height: h, index });
    });
    member ||= state.members.has(household);
    const cert = access.cert(h);
    if (cert) anchor = { height: h, cert, voters: [...votersOf(state).values()] };
  }
  if (!member) throw new EvidenceError('not_household', `${household} is not a member of this chain`, 0);
  if (!anchor) throw new EvidenceError('no_anchor', 'the chain has no certified block yet', 0);

  yield headItem(EVIDENCE_FORMAT, chain);
  yield genesisItem(g);
  const anchorBlock = access.block(anchor.height);
  yield anchorItem({ header: anchorBlock.header, cert: anchor.cert, voters: anchor.voters });
  yield encodeItem({ t: 'household', member: household });
  const history = new MerkleLevels(hashes.slice(0, anchor.height).map(leafHash));
  const emitted = new Set<number>([anchor.height]);
  let headers = 0;
  let statements = 0;
  const proven = (role: TxRole, p: Pos): ProvenTx => {
    const block = access.block(p.height);
    return { role, height: p.height, index: p.index, tx: block.txs[p.index]!, proof: inclusionProof(block.txs, p.index) };
  };
  const gaps = spreadsGaps(settlementRuleOf(g.genesis.params));
  /** The two readings whose difference gave `member` its energy in `interval`, if any were in before `height`. */
  const energyOf = (member: NodeId, interval: number, height: number): [Pos, Pos] | null => {
    const list = readings.get(member) ?? [];
    // The first reading at or after `interval` (readings are in interval order): binary search.
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (list[mid]!.interval < interval) lo = mid + 1;
      else hi = mid;
    }
    const k = lo < list.length ? lo : -1;
    if (k < 1 || list[k]!.height >= height) return null;
    const [prior, now] = [list[k - 1]!, list[k]!];
    // Before rule 3 only consecutive readings give energy.
    return gaps || (now.interval === interval && prior.interval === interval - 1) ? [now, prior] : null;
  };
  for (const s of mine) {
    if (s.height > anchor.height) continue;
    const txs: ProvenTx[] = [];
    const add = (role: TxRole, p: Pos | undefined) => {
      if (p && p.height < s.height) txs.push(proven(role, p));
    };
    add('contract', contracts.get(s.contract));
    if (s.price !== null) add(s.schedule ? 'schedule' : 'price', s.schedule ?? prices.get(s.interval));
    const c = energyOf(s.consumer, s.interval, s.height);
    if (c) add('consumer_reading', c[0]), add('consumer_prior', c[1]);
    const p = energyOf(s.producer, s.interval, s.height);
    if (p) add('producer_reading', p[0]), add('producer_prior', p[1]);
    const need = [...new Set([s.height, ...txs.map((t) => t.height)])].filter((h) => !emitted.has(h)).sort((a, b) => a - b);
    for (const h of need) {
      emitted.add(h);
      headers++;
      yield encodeItem({ t: 'header', header: access.block(h).header as unknown as CanonicalValue, path: history.inclusion(h) });
    }
    statements++;
    yield encodeItem({
      t: 'statement',
      height: s.height,
      statement: statementValue(s),
      txs: txs.map((t) => ({ role: t.role, height: t.height, index: t.index, tx: t.tx, proof: t.proof })),
    });
  }
  yield encodeItem({ t: 'end', statements, headers });
}

function statementValue(s: ContractStatement): CanonicalValue {
  return {
    interval: s.interval,
    contract: s.contract,
    consumer: s.consumer,
    producer: s.producer,
    price: s.price,
    consumed_wh: s.consumed_wh,
    available_wh: s.available_wh,
    delivered_wh: s.delivered_wh,
    paid: s.paid,
    grid_wh: s.grid_wh,
    outcome: s.outcome,
    // Settlement rule 2's exact value and end-of-contract rounding (absent on rule 1 chains).
    ...(s.value_milli !== undefined ? { value_milli: s.value_milli, rounding: s.rounding } : {}),
    // Where a schedule gave the price, and (rule 3) energy estimated from a gap.
    ...(s.price_source !== undefined ? { price_source: s.price_source } : {}),
    ...(s.estimated ? { estimated: true } : {}),
  };
}

// ---- the checker ----------------------------------------------------------------------

const isHash = (v: unknown): v is Uint8Array => v instanceof Uint8Array && v.length === 32;
const isNodeIdString = (v: unknown): v is string => typeof v === 'string' && /^[0-9a-f]{40}$/.test(v);

function hashes(v: unknown, item: number): Uint8Array[] {
  if (!Array.isArray(v) || v.length > LIMITS.proof_max_hashes || !v.every(isHash)) throw new EvidenceError('malformed', `a proof is at most ${LIMITS.proof_max_hashes} hashes of 32 bytes`, item);
  return v as Uint8Array[];
}

function headerOf(v: unknown, item: number): BlockHeader {
  if (!isBlockHeader(v)) throw new EvidenceError('malformed', 'not a block header', item);
  return v;
}

function statementOf(v: unknown, item: number): ContractStatement {
  const s = v as ContractStatement;
  const has = (k: string) => typeof v === 'object' && v !== null && Object.hasOwn(v, k);
  const exact = has('value_milli');
  const keys = [
    'interval', 'contract', 'consumer', 'producer', 'price', 'consumed_wh', 'available_wh', 'delivered_wh', 'paid', 'grid_wh', 'outcome',
    ...(exact ? ['value_milli', 'rounding'] : []), ...(has('price_source') ? ['price_source'] : []), ...(has('estimated') ? ['estimated'] : []),
  ];
  if (
    typeof v !== 'object' || v === null || Array.isArray(v) || !hasKeys(v as Record<string, unknown>, keys) ||
    (exact && (!isUint(s.value_milli) || (s.rounding !== 0 && s.rounding !== 1))) ||
    (has('price_source') && s.price_source !== 'schedule' && s.price_source !== 'override') || (has('estimated') && s.estimated !== true) ||
    !isUint(s.interval) || !isUint(s.contract) || !isNodeIdString(s.consumer) || !isNodeIdString(s.producer) ||
    !(s.price === null || isUint(s.price)) || !isUint(s.consumed_wh) || !isUint(s.available_wh) || !isUint(s.delivered_wh) ||
    !isUint(s.paid) || !isUint(s.grid_wh) || !OUTCOMES.includes(s.outcome)
  ) {
    throw new EvidenceError('malformed', 'not a statement', item);
  }
  return s;
}

function provenTxs(v: unknown, item: number): ProvenTx[] {
  if (!Array.isArray(v) || v.length > ROLES.length) throw new EvidenceError('malformed', `a statement rests on at most ${ROLES.length} transactions`, item);
  const seen = new Set<string>();
  return v.map((x) => {
    const t = x as ProvenTx;
    if (typeof x !== 'object' || x === null || !hasKeys(x as Record<string, unknown>, ['role', 'height', 'index', 'tx', 'proof']) || !ROLES.includes(t.role) || !isUint(t.height) || !isUint(t.index) || !(t.tx instanceof Uint8Array)) {
      throw new EvidenceError('malformed', 'a proven transaction is {role, height, index, tx, proof}', item);
    }
    if (seen.has(t.role)) throw new EvidenceError('malformed', `two transactions in the role ${t.role}`, item);
    seen.add(t.role);
    return { role: t.role, height: t.height, index: t.index, tx: t.tx, proof: hashes(t.proof, item) };
  });
}

/** Checks a certified head: its header is for this chain and a quorum of the named voters signed it. */
export function checkCertifiedHead(head: CertifiedHead, chain: Uint8Array, params: GridParams, verifier: Verifier, item = 2): CheckedHead {
  const h = head.header;
  if (!bytesEqual(h.chain, chain)) throw new EvidenceError('wrong_chain', 'the anchor is for another chain', item);
  if (h.v !== blockVersionOf(params)) throw new EvidenceError('bad_anchor', `header version ${h.v} on a grid of version ${blockVersionOf(params)} headers`, item);
  const voters = new Map<NodeId, Uint8Array>();
  for (const pub of head.voters) {
    if (!isValidPublicKey(pub)) throw new EvidenceError('bad_anchor', 'a named voter key is not a P-256 key', item);
    const id = nodeIdOf(pub);
    if (voters.has(id)) throw new EvidenceError('bad_anchor', `voter ${id} is named twice`, item);
    voters.set(id, pub);
  }
  const hash = blockHash(h);
  try {
    checkCertificate(chain, h.height, hash, head.cert, voters, params.commit_quorum, verifier);
  } catch (err) {
    if (err instanceof BlockError) throw new EvidenceError('bad_certificate', err.message.replace(/^[a-z_]+: /, ''), item);
    throw err;
  }
  return { height: h.height, hash, history: h.history ?? null };
}

export function certifiedHeadFrom(item: Record<string, CanonicalValue>, index: number): CertifiedHead {
  if (item.t !== 'anchor' || !hasKeys(item, ['t', 'header', 'cert', 'voters'])) throw new EvidenceError('malformed', 'expected the anchor', index);
  const voters = item.voters;
  if (!Array.isArray(voters) || voters.length === 0 || voters.length > LIMITS.members_max || !voters.every((p) => p instanceof Uint8Array && p.length === 33)) {
    throw new EvidenceError('malformed', `the anchor names 1..${LIMITS.members_max} voter keys`, index);
  }
  let cert: Ack[];
  try {
    cert = acksOf(item.cert, index);
  } catch (err) {
    throw new EvidenceError('malformed', (err as Error).message, index);
  }
  return { header: headerOf(item.header, index), cert, voters: voters as Uint8Array[] };
}

export interface CheckedStatement {
  height: number;
  statement: ContractStatement;
  /** What this statement rests on that the evidence cannot prove (empty: all of it is proven). */
  unproven: string[];
}

export interface EvidenceSummary {
  chain: string;
  household: NodeId;
  /** The grid's parameters and operator, from the genesis the file carries. */
  params: GridParams;
  operator: NodeId;
  anchor: { height: number; hash: string; time_ms: number; voters: number; acks: number };
  headers: number;
  statements: CheckedStatement[];
  fully_proven: number;
  totals: { consumed_wh: number; bought_wh: number; paid: number; grid_wh: number; sold_wh: number; earned: number };
}

/**
 * Checks an evidence file item by item (push the framed bytes as they come, then finish()).
 * Every transaction's inclusion in its block, every block's inclusion in the anchor's history,
 * the anchor's certificate against the voters it names, every signature, and each statement
 * recomputed from the transactions it rests on. Throws EvidenceError at the first fault.
 */
export class EvidenceChecker {
  readonly #reader = new ItemReader();
  readonly #verifier: Verifier;
  #index = 0;
  #chain: Uint8Array | null = null;
  #genesis: SignedGenesis | null = null;
  #anchor: (CheckedHead & { header: BlockHeader; acks: number; voters: number }) | null = null;
  #household: NodeId | null = null;
  readonly #headers = new Map<number, { tx_root: Uint8Array; tx_count: number; time_ms: number }>();
  readonly #delivered = new Map<number, number>(); // contract -> delivered in the statements so far
  readonly #carry = new Map<number, number>(); // contract -> value owed but not paid yet, in thousandths (rule 2)
  /** Contract id <-> contract transaction id: one each way across the file. */
  readonly #contractTx = new Map<number, string>();
  readonly #contractOfTx = new Map<string, number>();
  /** As the producer, the file holds all its contracts: its export taken so far, per interval. */
  readonly #allocated = new Map<number, number>();
  readonly #statements: CheckedStatement[] = [];
  #ended: { statements: number; headers: number } | null = null;
  #headerCount = 0;
  readonly #format: string;

  constructor(verifier: Verifier, format: string = EVIDENCE_FORMAT) {
    this.#verifier = verifier;
    this.#format = format;
  }

  push(chunk: Uint8Array): void {
    this.#reader.push(chunk);
    for (;;) {
      let bytes: Uint8Array | null;
      try {
        bytes = this.#reader.next();
      } catch (err) {
        if (err instanceof ExportError) throw new EvidenceError(err.code, err.message.replace(/^[a-z_]+: /, ''), this.#index);
        throw err;
      }
      if (bytes === null) return;
      this.#item(bytes);
    }
  }

  get anchor(): (CheckedHead & { header: BlockHeader }) | null {
    return this.#anchor;
  }

  get genesis(): SignedGenesis | null {
    return this.#genesis;
  }

  #item(bytes: Uint8Array): void {
    const index = this.#index++;
    if (this.#ended) throw new EvidenceError('out_of_order', 'an item after the end', index);
    let item: Record<string, CanonicalValue> & { t: string };
    try {
      item = decodeItem(bytes, index);
      if (index === 0) {
        this.#chain = decodeHead(item, this.#format);
        return;
      }
      if (index === 1) {
        this.#genesis = decodeGenesisItem(item, index, this.#chain!);
        try {
          checkGenesis(this.#genesis, this.#verifier);
        } catch (err) {
          if (err instanceof GenesisError) throw new EvidenceError('bad_genesis', err.message, index);
          throw err;
        }
        return;
      }
    } catch (err) {
      if (err instanceof ExportError) throw new EvidenceError(err.code, err.message.replace(/^[a-z_]+: /, ''), index);
      throw err;
    }
    const params = this.#genesis!.genesis.params;
    if (index === 2) {
      const head = certifiedHeadFrom(item, index);
      const view = checkCertifiedHead(head, this.#chain!, params, this.#verifier, index);
      if (this.#format === EVIDENCE_FORMAT && view.history === null) throw new EvidenceError('no_history', 'the anchor carries no history root (block_version 1)', index);
      this.#anchor = { ...view, header: head.header, acks: head.cert.length, voters: head.voters.length };
      this.#headers.set(head.header.height, head.header);
      return;
    }
    if (item.t === 'end') {
      if (this.#format === HEAD_FORMAT) {
        if (!hasKeys(item, ['t'])) throw new EvidenceError('malformed', 'not an end item', index);
        this.#ended = { statements: 0, headers: 0 };
        return;
      }
      if (!hasKeys(item, ['t', 'statements', 'headers']) || item.statements !== this.#statements.length || item.headers !== this.#headerCount) {
        throw new EvidenceError('truncated', `the end names ${String(item.statements)} statements and ${String(item.headers)} headers; the file holds ${this.#statements.length} and ${this.#headerCount}`, index);
      }
      this.#ended = { statements: this.#statements.length, headers: this.#headerCount };
      return;
    }
    if (this.#format === HEAD_FORMAT) throw new EvidenceError('malformed', `a head file holds no ${item.t} item`, index);
    if (index === 3) {
      if (item.t !== 'household' || !hasKeys(item, ['t', 'member']) || !isNodeIdString(item.member)) throw new EvidenceError('malformed', 'expected the household', index);
      if (item.member === operatorIdOf(this.#genesis!.genesis)) throw new EvidenceError('not_household', 'the operator is not a household', index);
      this.#household = item.member;
      return;
    }
    if (item.t === 'header') {
      if (!hasKeys(item, ['t', 'header', 'path'])) throw new EvidenceError('malformed', 'not a header item', index);
      const header = headerOf(item.header, index);
      const anchor = this.#anchor!;
      if (!bytesEqual(header.chain, this.#chain!)) throw new EvidenceError('wrong_chain', `header ${header.height} is for another chain`, index);
      if (this.#headers.has(header.height)) throw new EvidenceError('malformed', `header ${header.height} twice`, index);
      const view: HeadView = { height: anchor.height, hash: anchor.hash, history: anchor.history! };
      if (!checkBlockInHistory(blockHash(header), header.height, view, hashes(item.path, index))) {
        throw new EvidenceError('bad_header_proof', `header ${header.height} is not block ${header.height} of the anchor's history`, index);
      }
      this.#headers.set(header.height, header);
      this.#headerCount++;
      return;
    }
    if (item.t === 'statement') {
      if (!hasKeys(item, ['t', 'height', 'statement', 'txs']) || !isUint(item.height)) throw new EvidenceError('malformed', 'not a statement item', index);
      const s = statementOf(item.statement, index);
      this.#statements.push(this.#checkStatement(item.height, s, provenTxs(item.txs, index), index));
      return;
    }
    throw new EvidenceError('malformed', `unknown item type ${JSON.stringify(item.t)}`, index);
  }

  #checkStatement(height: number, s: ContractStatement, txs: ProvenTx[], index: number): CheckedStatement {
    const fail = (code: string, reason: string): never => {
      throw new EvidenceError(code, `statement of interval ${s.interval}, contract ${s.contract}: ${reason}`, index, height);
    };
    const g = this.#genesis!.genesis;
    const params = g.params;
    if (s.consumer !== this.#household && s.producer !== this.#household) fail('not_household', 'the household is neither its consumer nor its producer');
    const settledIn = this.#headers.get(height);
    if (!settledIn) fail('unknown_header', `no proven header for height ${height}`);
    if (intervalOf(params, settledIn!.time_ms) - params.settle_lag_intervals < s.interval) fail('bad_statement', `block ${height} is too early to settle interval ${s.interval}`);
    const byRole = new Map<TxRole, DecodedTx>();
    for (const t of txs) {
      const header = this.#headers.get(t.height);
      if (!header) fail('unknown_header', `no proven header for height ${t.height}`);
      if (t.height >= height) fail('bad_statement', `the ${t.role} transaction (height ${t.height}) is not before the settlement (height ${height})`);
      if (t.index >= header!.tx_count || !verifyInclusion(leafHash(t.tx), t.index, header!.tx_count, t.proof, header!.tx_root)) {
        fail('bad_tx_proof', `the ${t.role} transaction is not transaction ${t.index} of block ${t.height}`);
      }
      try {
        byRole.set(t.role, decodeTx(t.tx, this.#chain!, this.#verifier));
      } catch (err) {
        fail('bad_tx', `the ${t.role} transaction: ${err instanceof TxError ? err.code : (err as Error).message}`);
      }
    }
    const unproven: string[] = [];
    // The contract: signed by the consumer, naming the producer, covering the interval.
    const contract = byRole.get('contract');
    if (!contract) fail('missing_tx', 'no contract transaction');
    const cb = contract!.body;
    if (cb.kind !== 'contract' || cb.from !== s.consumer || cb.producer !== s.producer || cb.first_interval > s.interval || cb.last_interval < s.interval) {
      fail('wrong_tx', 'the contract transaction is not this consumer\'s contract with this producer over this interval');
    }
    const terms = cb as Extract<typeof cb, { kind: 'contract' }>;
    // Ids are the ledger's to assign, but within one file an id names one contract tx.
    const known = this.#contractTx.get(s.contract);
    const knownId = this.#contractOfTx.get(contract!.id);
    if ((known !== undefined && known !== contract!.id) || (knownId !== undefined && knownId !== s.contract)) {
      fail('wrong_tx', `contract ${s.contract} rests on another contract transaction than before`);
    }
    this.#contractTx.set(s.contract, contract!.id);
    this.#contractOfTx.set(contract!.id, s.contract);
    // The price: published by the operator for this interval, or given by its schedule.
    const price = byRole.get('price');
    const schedule = byRole.get('schedule');
    if (s.price === null) {
      if (price || schedule) fail('wrong_tx', 'a price or schedule transaction for a statement without a price');
      unproven.push('no price was published');
    } else if (s.price_source !== undefined) {
      const sb = schedule?.body;
      if (!sb || price) fail('missing_tx', 'a price from a schedule needs the schedule transaction, and only it');
      if (sb!.kind !== 'schedule' || sb!.effective_interval > s.interval) fail('wrong_tx', 'the schedule transaction is not the operator\'s schedule in force for this interval');
      if (sb!.from !== operatorIdOf(g)) unproven.push('the schedule was signed by a key other than the genesis operator\'s (rotated since)');
      const given = scheduledPrice(sb as Extract<typeof sb, { kind: 'schedule' }>, s.interval, params.interval_ms);
      if (given.price !== s.price || given.source !== s.price_source) fail('wrong_tx', `the schedule gives ${given.price} (${given.source}), not ${s.price} (${s.price_source})`);
      unproven.push('that the schedule was the one in force for the interval');
    } else {
      const pb = price?.body;
      if (!pb || schedule) fail('missing_tx', 'no price transaction');
      if (pb!.kind !== 'price' || pb!.interval !== s.interval || pb!.price !== s.price) fail('wrong_tx', 'the price transaction is not the operator\'s price for this interval');
      // After a rotation (or a recovery) the operator signs with a newer key: only the chain shows whose it was.
      if (pb!.from !== operatorIdOf(g)) unproven.push('the price was signed by a key other than the genesis operator\'s (rotated since)');
    }
    const rule = settlementRuleOf(g.params);
    if (s.estimated && !spreadsGaps(rule)) fail('bad_statement', `an estimated statement on a rule ${rule} chain`);
    // Energy: the difference of two cumulative readings: consecutive ones, or (rule 3, the
    // statement estimated) this interval's even share of a reading after a gap (readings.ts).
    let spread = false;
    const energy = (who: 'consumer' | 'producer', member: NodeId, field: 'import_wh' | 'export_wh'): number | null => {
      const now = byRole.get(`${who}_reading`);
      const prior = byRole.get(`${who}_prior`);
      if (!now && !prior) return null;
      if (!now || !prior) return fail('missing_tx', `only one of the ${who}'s two readings`);
      const a = prior!.body;
      const b = now!.body;
      const covers = a.kind === 'meter' && b.kind === 'meter' && a.interval < s.interval && b.interval >= s.interval;
      const consecutive = covers && a.interval === s.interval - 1 && b.interval === s.interval;
      if (a.kind !== 'meter' || b.kind !== 'meter' || a.from !== member || b.from !== member || !(s.estimated ? covers : consecutive)) {
        fail('wrong_tx', `the ${who}'s readings are not its readings for intervals ${s.interval - 1} and ${s.interval}`);
      }
      const m = a as Extract<typeof a, { kind: 'meter' }>;
      const n = b as Extract<typeof b, { kind: 'meter' }>;
      if (n[field] < m[field]) fail('wrong_tx', `the ${who}'s register goes backwards`);
      const gap = n.interval - m.interval;
      if (gap === 1) return n[field] - m[field];
      // The share went to this interval's slot only if the interval had not settled when the
      // reading came (else it was unmatched grid energy): settled_through of the reading's block.
      const at = this.#headers.get(txs.find((t) => t.role === `${who}_reading`)!.height)!;
      const settledThen = Math.max(intervalOf(params, g.time_ms) - 1, intervalOf(params, at.time_ms) - params.settle_lag_intervals);
      if (s.interval <= settledThen) fail('wrong_tx', `the ${who}'s reading came after interval ${s.interval} had settled`);
      spread = true;
      return gapShare(n[field] - m[field], gap, s.interval - m.interval - 1);
    };
    const consumed = energy('consumer', s.consumer, 'import_wh');
    const exported = energy('producer', s.producer, 'export_wh');
    if (s.estimated && !spread && consumed !== null && exported !== null) fail('bad_statement', 'estimated, but both sides\' readings are consecutive');
    if (consumed === null) {
      if (s.consumed_wh !== 0) fail('bad_statement', `consumed_wh ${s.consumed_wh} without the consumer's readings`);
      unproven.push('the consumer sent no reading');
    } else if (consumed !== s.consumed_wh) fail('bad_statement', `consumed_wh ${s.consumed_wh}, but the readings differ by ${consumed}`);
    if (exported === null) {
      if (s.available_wh !== 0) fail('bad_statement', `available_wh ${s.available_wh} without the producer's readings`);
      unproven.push('the producer sent no reading');
    } else if (s.producer === this.#household) {
      // Every contract of this producer is in the file, in settlement order (contract id).
      const left = exported - (this.#allocated.get(s.interval) ?? 0);
      if (s.available_wh !== left) fail('bad_statement', `available_wh ${s.available_wh}, but ${left} of the producer's export ${exported} was left`);
    } else if (s.available_wh > exported) fail('bad_statement', `available_wh ${s.available_wh} exceeds the producer's export ${exported}`);
    else if (s.available_wh < exported) unproven.push('how much of the export the producer\'s earlier contracts took');
    // The outcome, in settleContract's order (settlement.ts).
    const before = this.#delivered.get(s.contract) ?? 0;
    const cap = terms.max_energy_wh - before;
    const expected: Outcome =
      s.price === null ? 'no_price'
      : s.price > terms.max_price ? 'price_above_limit'
      : s.consumed_wh === 0 ? 'no_consumption'
      : s.available_wh === 0 ? 'no_delivery'
      : cap <= 0 ? 'cap_reached'
      : s.outcome === 'no_funds' ? 'no_funds'
      : 'settled';
    if (s.outcome !== expected) fail('bad_statement', `outcome ${s.outcome}, but the transactions give ${expected}`);
    if (s.grid_wh !== s.consumed_wh - s.delivered_wh) fail('bad_statement', `grid_wh ${s.grid_wh} is not consumed − delivered`);
    const exact = exactMoney(rule);
    if (exact !== (s.value_milli !== undefined)) fail('bad_statement', `a rule ${rule} chain's statement ${exact ? 'without' : 'with'} an exact value`);
    const value_milli = s.delivered_wh * (s.price ?? 0);
    if (exact && s.value_milli !== value_milli) fail('bad_statement', `value ${s.value_milli} thousandths, but ${s.delivered_wh} Wh at ${s.price} per kWh is ${value_milli}`);
    // Rule 2: whole minor units as the value accrues over the contract's statements (all of
    // them are in the file, in order), the remainder rounded half up at its last interval.
    const carry = this.#carry.get(s.contract) ?? 0;
    const owed = !exact ? Math.floor(value_milli / 1000) : Math.floor((carry + value_milli) / 1000);
    const carryAfter = (carry + value_milli) % 1000;
    const rounding = exact && s.interval === terms.last_interval && carryAfter * 2 >= 1000 ? 1 : 0;
    if (exact && s.rounding !== rounding) {
      // A contract cancelled early ends before the interval it was signed for.
      if (s.rounding === 1 && carryAfter * 2 >= 1000) unproven.push('the contract ended early (a cancel)');
      else fail('bad_statement', `rounding ${s.rounding}, but the remainder ${carryAfter} thousandths gives ${rounding}`);
    }
    if (expected === 'settled') {
      const bound = Math.min(s.consumed_wh, s.available_wh, cap);
      if (s.delivered_wh === 0 || s.delivered_wh > bound) fail('bad_statement', `delivered_wh ${s.delivered_wh} is not within 1..${bound}`);
      if (s.delivered_wh < bound) unproven.push('delivery was limited by the escrow');
      const paid = owed + (s.rounding ?? 0);
      if (s.paid !== paid) fail('bad_statement', `paid ${s.paid}, but ${s.delivered_wh} Wh at ${s.price} per kWh comes to ${paid}`);
    } else {
      if (s.delivered_wh !== 0 || s.paid !== (s.rounding ?? 0)) fail('bad_statement', `${expected}: nothing is delivered or paid`);
      if (expected === 'no_funds') unproven.push('the escrow could not pay');
    }
    this.#carry.set(s.contract, carryAfter);
    this.#delivered.set(s.contract, before + s.delivered_wh);
    if (s.producer === this.#household) this.#allocated.set(s.interval, (this.#allocated.get(s.interval) ?? 0) + s.delivered_wh);
    return { height, statement: s, unproven };
  }

  /** The input is over: returns the summary, or throws if the file broke off. */
  finish(): EvidenceSummary {
    try {
      this.#reader.end();
    } catch (err) {
      if (err instanceof ExportError) throw new EvidenceError(err.code, err.message.replace(/^[a-z_]+: /, ''), this.#index);
      throw err;
    }
    if (!this.#ended) throw new EvidenceError('truncated', 'the file stops without an end item', this.#index);
    const a = this.#anchor!;
    const totals = { consumed_wh: 0, bought_wh: 0, paid: 0, grid_wh: 0, sold_wh: 0, earned: 0 };
    for (const { statement: s } of this.#statements) {
      if (s.consumer === this.#household) {
        totals.consumed_wh += s.consumed_wh;
        totals.bought_wh += s.delivered_wh;
        totals.paid += s.paid;
        totals.grid_wh += s.grid_wh;
      }
      if (s.producer === this.#household) {
        totals.sold_wh += s.delivered_wh;
        totals.earned += s.paid;
      }
    }
    return {
      chain: toHex(this.#chain!),
      household: this.#household ?? '',
      params: this.#genesis!.genesis.params,
      operator: operatorIdOf(this.#genesis!.genesis),
      anchor: { height: a.height, hash: toHex(a.hash), time_ms: a.header.time_ms, voters: a.voters, acks: a.acks },
      headers: this.#headerCount,
      statements: this.#statements,
      fully_proven: this.#statements.filter((x) => x.unproven.length === 0).length,
      totals,
    };
  }
}

/** Decodes a saved head file (or any file's anchor) in one go: small files only. */
export function checkHeadFile(bytes: Uint8Array, verifier: Verifier): { genesis: SignedGenesis; head: CheckedHead & { header: BlockHeader } } {
  const c = new EvidenceChecker(verifier, HEAD_FORMAT);
  c.push(bytes);
  c.finish();
  return { genesis: c.genesis!, head: c.anchor! };
}
