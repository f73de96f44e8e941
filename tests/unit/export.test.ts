// The chain export format and the offline verifier on it: an exported chain verifies, a flipped
// byte anywhere is found at the right height with a reason, truncation and oversized items are
// refused, and the parallel (speculative) signature check reports the same first failure as a
// sequential one.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { marketChain, type MarketChain } from '../helpers/market-chain.js';
import { chainFileItems, ChainFileReader, ExportError, ItemReader, frameItem, type ChainItem } from '../../src/core/export.js';
import { AuditError, auditChain } from '../../src/core/audit.js';
import { batchOf, verifyChainFile, type VerifyOptions } from '../../src/audit/verify.js';
import { OpenSslPool } from '../../src/audit/openssl-pool.js';
import { writeChain, toReadableStream, readChain } from '../../src/audit/stream.js';
import { opensslAsyncVerifier, opensslVerifier } from '../../src/audit/openssl.js';
import { nobleVerifier, NobleSigner } from '../../src/core/keys.js';
import { buildBlockSync, decodeBlock, encodeBlock } from '../../src/core/block.js';
import { encodeSignedTx, decodeTxUnverified } from '../../src/core/tx.js';
import { concatBytes, toHex } from '../../src/core/bytes.js';

let m: MarketChain;
let items: Uint8Array[];
let file: Uint8Array;

beforeAll(async () => {
  m = await marketChain();
  items = [...chainFileItems(m.c.genesis, m.blocks)];
  file = concatBytes(...items);
}, 60_000);

const seq: VerifyOptions = { verifier: opensslVerifier };
const par: VerifyOptions = { verifier: opensslVerifier, parallel: batchOf(opensslAsyncVerifier), batch_sigs: 3, window_sigs: 8, window_blocks: 4 };
const pool = new OpenSslPool(2);
const threads: VerifyOptions = { verifier: opensslVerifier, parallel: pool, batch_sigs: 5 };
afterAll(() => pool.close());

async function failure(bytes: Uint8Array, opts: VerifyOptions = seq): Promise<AuditError> {
  try {
    await verifyChainFile([bytes], opts);
  } catch (err) {
    if (err instanceof AuditError) return err;
    throw err;
  }
  throw new Error('verified');
}

function flip(bytes: Uint8Array, at: number, bit = 1): Uint8Array {
  const out = bytes.slice();
  out[at]! ^= bit;
  return out;
}

/** Where item k starts in the file. */
const starts = () => {
  const out: number[] = [];
  let at = 0;
  for (const it of items) {
    out.push(at);
    at += it.length;
  }
  return out;
};

describe('chain export', () => {
  it('an exported chain verifies and the report recomputes the ledger', async () => {
    const report = await verifyChainFile([file], seq);
    expect(report.height).toBe(m.c.state.height);
    expect(report.head.hash).toBe(toHex(m.c.state.last_hash));
    expect(report.certified_through).toBe(report.height);
    expect(report.statements).toBe(m.statements.length);
    expect(report.statements).toBe(8);
    expect(report.txs_failed).toBe(1);
    expect(report.failed_by_code).toEqual({ insufficient_funds: 1 });
    expect(report.tokens).toEqual({ minted: 20_000, burned: 500, balances: 19_500, locked: 0, pending_payouts: 500, conserved: true });
    const d = m.c.id('D');
    expect(report.members.filter((e) => e.member === d).map((e) => e.event)).toEqual(['admitted', 'promoted']);
    expect(report.members.filter((e) => e.event === 'founded')).toHaveLength(4);
    const p1 = report.households.find((h) => h.id === m.c.id('P1'))!;
    expect(p1.earned).toBe(455);
    expect(p1.balance).toBe(m.c.balance('P1'));
    const c1 = report.households.find((h) => h.id === m.c.id('C1'))!;
    expect(c1.paid).toBe(250);
    expect(c1.bought_wh).toBe(1000);
    // The same as the synchronous auditor over blocks in memory.
    expect(auditChain(m.c.genesis, m.blocks, nobleVerifier)).toEqual(report);
  });

  it('the parallel speculative check gives the same report, whatever the chunking', async () => {
    const expected = await verifyChainFile([file], seq);
    expect(await verifyChainFile([file], par)).toEqual(expected);
    expect(await verifyChainFile([file], threads)).toEqual(expected);
    const ones = Array.from(file, (b) => new Uint8Array([b]));
    expect(await verifyChainFile(ones, par)).toEqual(expected);
    const uneven: Uint8Array[] = [];
    for (let at = 0, k = 1; at < file.length; at += k, k = (k * 7 + 3) % 997) uneven.push(file.subarray(at, at + k));
    expect(await verifyChainFile(toReadableStream((async function* () { yield* uneven; })()), par)).toEqual(expected);
  });

  it('the async writer gives the same bytes as the item generator', async () => {
    async function* blocks() {
      yield* m.blocks;
    }
    const chunks: Uint8Array[] = [];
    for await (const c of writeChain(m.c.genesis, blocks())) chunks.push(c);
    expect(toHex(concatBytes(...chunks))).toBe(toHex(file));
    const kinds: ChainItem['t'][] = [];
    for await (const it of readChain(chunks)) kinds.push(it.t);
    expect(kinds).toEqual(['head', 'genesis', ...m.blocks.map(() => 'block' as const), 'end']);
  });

  it('refuses to end an export at a block without its certificate', () => {
    const open = m.blocks.map((b, i) => (i === m.blocks.length - 1 ? { ...b, cert: null } : b));
    expect(() => [...chainFileItems(m.c.genesis, open)]).toThrow(/no certificate/);
  });

  it('a file whose last blocks carry no certificate fails as uncertified_tail', async () => {
    const w = [...chainFileItems(m.c.genesis, m.blocks.slice(0, 3))];
    // Hand-made: block 4 without its certificate, then an end item that counts it.
    const b4 = { ...m.blocks[3]!, cert: null };
    const { blockItem, endItem } = await import('../../src/core/export.js');
    const txs = m.blocks.slice(0, 4).reduce((n, b) => n + b.block.txs.length, 0);
    const bad = concatBytes(...w.slice(0, -1), blockItem(b4), endItem(4, txs));
    const err = await failure(bad);
    expect([err.height, err.code]).toEqual([4, 'uncertified_tail']);
  });

  it('a flipped byte anywhere is found, at the height of the item it falls in', async () => {
    const at = starts();
    let checked = 0;
    for (let k = 0; k < items.length; k++) {
      const item = items[k]!;
      // The length prefix, the first bytes and a spread of positions through the item.
      const offsets = new Set([0, 1, 3, 4, 5, item.length - 1]);
      for (let j = 1; j <= 12; j++) offsets.add(Math.floor((item.length * j) / 13));
      for (const o of offsets) {
        for (const bit of [1, 0x80]) {
          const err = await failure(flip(file, at[k]! + o, bit), [seq, par, threads][checked % 3]!);
          const expected = Math.max(0, k - 1);
          expect(err.height, `item ${k} byte ${o} bit ${bit}: ${err.message}`).toBe(expected);
          expect(err.code.length).toBeGreaterThan(0);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(400);
  }, 120_000);

  it('names the reason: transactions, proposer signature, history root, certificate, link', async () => {
    const k = 2 + 4; // block 5's item (meter readings), certified? height 5 is not; 6 is
    const at = starts()[k]!;
    const blockBytes = encodeBlock(m.blocks[4]!.block);
    const inFile = (needle: Uint8Array, from: number) => {
      for (let i = from; i + needle.length <= file.length; i++) if (needle.every((b, j) => file[i + j] === b)) return i;
      throw new Error('not found');
    };
    const b = m.blocks[4]!.block;
    const blockAt = inFile(blockBytes, at);
    const txAt = inFile(b.txs[0]!, blockAt);
    const expectFail = async (pos: number, height: number, code: string) => {
      const err = await failure(flip(file, pos));
      expect([err.height, err.code], err.message).toEqual([height, code]);
    };
    await expectFail(txAt + b.txs[0]!.length - 1, 5, 'bad_tx_root'); // last byte of a tx (its signature)
    await expectFail(inFile(b.sig, blockAt), 5, 'bad_proposer_sig');
    await expectFail(inFile(b.header.history!, blockAt) + 5, 5, 'bad_history');
    await expectFail(inFile(b.header.prev, blockAt) + 31, 5, 'bad_prev');
    await expectFail(inFile(b.header.tx_root, blockAt), 5, 'bad_tx_root');
    const cert = m.blocks[5]!.cert!;
    await expectFail(inFile(cert[1]!.sig, starts()[k + 1]!) + 10, 6, 'bad_certificate');
  });

  it('an ack from anyone but a voter at that height is an altered certificate', async () => {
    const outsider = NobleSigner.fromSeed('outsider');
    const { ackMessage, blockHash } = await import('../../src/core/block.js');
    const b6 = m.blocks[5]!;
    const extra = { voter: outsider.id, sig: outsider.signSync(ackMessage(m.c.state.chain_id, 6, blockHash(b6.block.header))) };
    const blocks = m.blocks.map((b, i) => (i === 5 ? { ...b, cert: [...b.cert!, extra] } : b));
    const err = await failure(concatBytes(...chainFileItems(m.c.genesis, blocks)));
    expect([err.height, err.code]).toEqual([6, 'bad_certificate']);
    expect(err.reason).toMatch(/not a voter at height 6/);
  });

  it('finds a bad transaction signature behind a re-signed block, sequentially and in parallel', async () => {
    // A proposer that re-signs block 5 holding a transaction whose signature was altered.
    const orig = m.blocks[4]!.block;
    const tx = decodeTxUnverified(orig.txs[1]!, m.c.state.chain_id);
    const sig = tx.sig.slice();
    sig[3]! ^= 1;
    const forgedTxs = orig.txs.slice();
    forgedTxs[1] = encodeSignedTx({ body: tx.body, pub: tx.pub, sig });
    const h = orig.header;
    const forged = buildBlockSync({ chain: h.chain, height: h.height, term: h.term, prev: h.prev, history: h.history!, time_ms: h.time_ms }, forgedTxs, m.c.operator);
    const blocks = m.blocks.map((b, i) => (i === 4 ? { block: forged, cert: null } : b));
    const bytes = concatBytes(...chainFileItems(m.c.genesis, blocks));
    for (const opts of [seq, par, threads, { ...par, window_sigs: 10_000, window_blocks: 100 }, { ...threads, batch_sigs: 1000 }]) {
      const err = await failure(bytes, opts);
      expect([err.height, err.code, err.reason]).toEqual([5, 'bad_tx', 'transaction 1: bad_signature']);
    }
  });

  it('a truncated file is refused at the height where it breaks off', async () => {
    const at = starts();
    for (const k of [2, 5, items.length - 1]) {
      const cut = file.subarray(0, at[k]! + 7);
      const err = await failure(cut);
      expect([err.height, err.code]).toEqual([k - 1, 'truncated']);
      const whole = file.subarray(0, at[k]!); // ends between items, without the end item
      const err2 = await failure(whole);
      expect(err2.code).toBe('truncated');
    }
  });

  it('refuses anything after the end item', async () => {
    const more = await failure(concatBytes(file, items[2]!));
    expect(more.code).toBe('out_of_order');
    const junk = await failure(concatBytes(file, new Uint8Array([0, 0])));
    expect(junk.code).toBe('truncated');
  });

  it('the reader refuses an item longer than the limit before buffering it', () => {
    const r = new ItemReader(1000);
    const prefix = new Uint8Array([0x7f, 0xff, 0xff, 0xff]);
    r.push(prefix);
    expect(() => r.next()).toThrow(ExportError);
    expect(() => frameItem(new Uint8Array(2 * 1024 * 1024))).toThrow(/too_large/);
    const reader = new ChainFileReader();
    reader.push(items[0]!);
    reader.push(items[0]!);
    expect(reader.next()?.t).toBe('head');
    expect(() => reader.next()).toThrow(/genesis/);
  });

  it('refuses a chain file for another grid and a forged genesis', async () => {
    const other = await (await import('../helpers/chain.js')).TestChain.create({}, {}, 5);
    const mixed = concatBytes(items[0]!, [...chainFileItems(other.genesis, [])][1]!, ...items.slice(2));
    const err = await failure(mixed);
    expect([err.height, err.code]).toEqual([0, 'wrong_chain']);
    const outsider = NobleSigner.fromSeed('outsider');
    const g = { genesis: m.c.genesis.genesis, sig: outsider.signSync(new Uint8Array([1])) };
    const forgedGenesis = concatBytes(...[...chainFileItems(g, [])].slice(0, 2), ...items.slice(2));
    const err2 = await failure(forgedGenesis);
    expect([err2.height, err2.code]).toEqual([0, 'bad_genesis']);
  });

  it('decodes blocks exactly as peers send them', () => {
    expect(toHex(encodeBlock(decodeBlock(encodeBlock(m.blocks[0]!.block))))).toBe(toHex(encodeBlock(m.blocks[0]!.block)));
  });
});
