// Forges a long, valid chain outside the browser for the sync benchmark: a genesis whose
// operator is the only voter, nine members admitted and funded, then blocks of signed
// transfers among them, each block signed by the operator and a commit certificate every
// `cert_every` blocks. Built with the core itself (applyChecked keeps the ledger honest:
// every receipt must be ok) and signed with Node's OpenSSL ECDSA, normalised to low S,
// because 100,000 noble signatures would take minutes.
import { generateKeyPairSync, sign as opensslSign, type KeyObject } from 'node:crypto';
import { ackMessage, blockHash, buildBlockSync, encodeBlock } from '../src/core/block.js';
import { toHex } from '../src/core/bytes.js';
import { chainIdOf, createGenesis, encodeGenesis } from '../src/core/genesis.js';
import { compressPublicKey, nodeIdOf, normalizeLowS, type NodeId } from '../src/core/keys.js';
import { applyChecked, genesisState, type LedgerState } from '../src/core/ledger.js';
import { DEFAULT_PARAMS } from '../src/core/params.js';
import { signTxSync, type DecodedTx, type TxBody } from '../src/core/tx.js';
import { nextHistory } from '../src/core/history.js';

const historyField = (state: LedgerState): { history?: Uint8Array } => {
  const history = nextHistory(state.params, state.history);
  return history ? { history } : {};
};
import { nobleVerifier } from '../src/core/keys.js';

export class OpenSslSigner {
  readonly publicKey: Uint8Array;
  readonly id: NodeId;
  readonly #key: KeyObject;

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const jwk = publicKey.export({ format: 'jwk' });
    const raw = new Uint8Array(65);
    raw[0] = 4;
    raw.set(Buffer.from(jwk.x!, 'base64url'), 1);
    raw.set(Buffer.from(jwk.y!, 'base64url'), 33);
    this.publicKey = compressPublicKey(raw);
    this.id = nodeIdOf(this.publicKey);
    this.#key = privateKey;
  }

  signSync(message: Uint8Array): Uint8Array {
    return normalizeLowS(new Uint8Array(opensslSign('sha256', message, { key: this.#key, dsaEncoding: 'ieee-p1363' })));
  }

  sign(message: Uint8Array): Promise<Uint8Array> {
    return Promise.resolve(this.signSync(message));
  }
}

export interface ForgedChain {
  /** The same shape the node's benchImportChain takes (base64url). */
  bundle: { genesis: string; blocks: string[]; certs: { height: number; hash: string; acks: { voter: string; sig: string }[] }[] };
  grid: string;
  height: number;
  txs: number;
  bytes: number;
}

export async function forgeChain(opts: { blocks: number; txs_per_block: number; cert_every?: number; block_ms?: number }): Promise<ForgedChain> {
  const certEvery = opts.cert_every ?? 16;
  const block_ms = opts.block_ms ?? 100;
  const operator = new OpenSslSigner();
  const members = Array.from({ length: 9 }, () => new OpenSslSigner());
  const t0 = Date.now() - opts.blocks * block_ms - 60_000;
  const genesis = await createGenesis(operator, { name: 'sync benchmark', time_ms: t0, params: { ...DEFAULT_PARAMS, open_reading: true } });
  const chain = chainIdOf(genesis.genesis);
  let state: LedgerState = genesisState(genesis, nobleVerifier);
  const seqs = new Map<NodeId, number>();
  const tx = (who: OpenSslSigner, fields: Record<string, unknown>): DecodedTx => {
    const seq = seqs.get(who.id) ?? 0;
    seqs.set(who.id, seq + 1);
    return signTxSync({ v: 1, chain, from: who.id, seq, ...fields } as unknown as TxBody, who);
  };
  const out: ForgedChain['bundle'] = { genesis: Buffer.from(encodeGenesis(genesis)).toString('base64url'), blocks: [], certs: [] };
  let txCount = 0;
  let bytes = 0;
  const addBlock = (txs: DecodedTx[]) => {
    const height = state.height + 1;
    const block = buildBlockSync({ chain, height, term: 1, prev: state.last_hash, ...historyField(state), time_ms: t0 + height * block_ms }, txs.map((t) => t.bytes), operator);
    const result = applyChecked(state, block, txs);
    const bad = result.receipts.find((r) => !r.ok);
    if (bad) throw new Error(`forged block ${height}: ${JSON.stringify(bad)}`);
    state = result.state;
    const encoded = encodeBlock(block);
    bytes += encoded.length;
    txCount += txs.length;
    out.blocks.push(Buffer.from(encoded).toString('base64url'));
    const hash = blockHash(block.header);
    if (height % certEvery === 0 || height === opts.blocks) {
      const sig = operator.signSync(ackMessage(chain, height, hash));
      out.certs.push({ height, hash: toHex(hash), acks: [{ voter: operator.id, sig: Buffer.from(sig).toString('base64url') }] });
    }
  };
  // One membership change per block, as a leader would propose them.
  for (const m of members) addBlock([tx(operator, { kind: 'admit', member: m.id, pub: m.publicKey, role: 'prosumer', invite: null })]);
  addBlock(members.map((m) => tx(operator, { kind: 'mint', to: m.id, amount: 1_000_000_000, ref: 'sync bench' })));
  let k = 0;
  while (state.height < opts.blocks) {
    const txs: DecodedTx[] = [];
    for (let i = 0; i < opts.txs_per_block; i++, k++) {
      const from = members[k % members.length]!;
      const to = members[(k + 1) % members.length]!;
      txs.push(tx(from, { kind: 'transfer', to: to.id, amount: 1 + (k % 7), memo: '' }));
    }
    addBlock(txs);
  }
  return { bundle: out, grid: toHex(chain), height: state.height, txs: txCount, bytes };
}
