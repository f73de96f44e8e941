// Signature checks at WebCrypto speed for a synchronous core. The core verifies with noble
// (≈ 200–1,000 verifications/s in a worker here) behind a CachingVerifier; WebCrypto verifies
// ≈ 10,000/s but only asynchronously. So the node extracts every signature an inbound message
// carries (transactions, block proposers, commit-certificate acks), checks them with WebCrypto in parallel, records
// the valid ones in the cache, and only then hands the message to the core, whose checks
// then hit the cache. Invalid ones are left to noble, so a verdict never depends on which
// verifier ran. The core's cheap checks come first here too: what the core refuses before
// any signature check (a stranger's transaction, consensus traffic from a non-member) is
// not verified at all, so forged signatures from outsiders cost them, not us.
import { ackMessage, blockHash, blockSigningMessage, type Block } from '../core/block.js';
import { decodeTxUnverified, encodeBody, txSigningMessage, type CachingVerifier, type DecodedTx } from '../core/tx.js';
import type { Certificate, Envelope } from '../core/replica.js';
import { fromHex } from '../core/bytes.js';
import type { NodeId } from '../core/keys.js';
import type { Entry } from '../core/raft/types.js';
import { WebCryptoVerifier } from './webcrypto-signer.js';

interface Sig {
  pub: Uint8Array;
  msg: Uint8Array;
  sig: Uint8Array;
}

export class PreVerifier {
  readonly #webcrypto = new WebCryptoVerifier();
  stats = { checked: 0, valid: 0, skipped: 0 };

  constructor(
    private readonly cache: CachingVerifier,
    private readonly chain: () => Uint8Array | null,
    /** A member's public key, for commit-certificate acks (which name the voter only). */
    private readonly pubOf: (id: NodeId) => Uint8Array | null = () => null,
    /** The account holds its whole mempool share: the core refuses its loose txs before their signature. */
    private readonly accountFull: (id: NodeId) => boolean = () => false,
  ) {}

  #ackSig(voter: NodeId, height: number, hash: string, sig: Uint8Array, out: Sig[]): void {
    const chain = this.chain();
    const pub = this.pubOf(voter);
    if (!chain || !pub || !/^[0-9a-f]{64}$/.test(hash)) return;
    out.push({ pub, msg: ackMessage(chain, height, fromHex(hash)), sig });
  }

  sigsOfCerts(certs: Certificate[]): Sig[] {
    const out: Sig[] = [];
    for (const c of certs) for (const a of c.acks) this.#ackSig(a.voter, c.height, c.hash, a.sig, out);
    return out;
  }

  /** `loose`: a transaction on its own (not in a block), which the core checks cheaply first. */
  #txSig(bytes: Uint8Array, out: Sig[], trust?: (tx: DecodedTx) => boolean, loose = false): void {
    const chain = this.chain();
    if (!chain) return;
    try {
      const tx = decodeTxUnverified(bytes, chain);
      if (trust?.(tx)) return; // the core will not ask for this one
      // A stranger's transaction is refused before its signature (a joiner's admit, a new key's
      // rekey and a stranger's join request are not).
      const fromStranger = tx.body.kind === 'rekey' || tx.body.kind === 'join_request' || (tx.body.kind === 'admit' && tx.body.invite !== null);
      if (loose && ((!this.pubOf(tx.body.from) && !fromStranger) || this.accountFull(tx.body.from))) return;
      out.push({ pub: tx.pub, msg: txSigningMessage(encodeBody(tx.body)), sig: tx.sig });
    } catch {
      // malformed: the core will say so
    }
  }

  #blockSigs(block: Block | null, out: Sig[], trust?: (tx: DecodedTx) => boolean): void {
    if (!block) return;
    out.push({ pub: block.header.proposer_pub, msg: blockSigningMessage(blockHash(block.header)), sig: block.sig });
    for (const t of block.txs) this.#txSig(t, out, trust);
  }

  sigsOfEnvelope(env: Envelope): Sig[] {
    const out: Sig[] = [];
    if (env.kind === 'txs') for (const t of env.txs) this.#txSig(t, out, undefined, true);
    // Consensus traffic from a non-member is dropped by the core before any signature check.
    if (!this.pubOf(env.from)) return out;
    if (env.kind === 'raft' && env.msg.type === 'append') for (const e of env.msg.entries) this.#blockSigs(e.block, out);
    if (env.kind === 'cert') for (const a of env.cert.acks) this.#ackSig(a.voter, env.cert.height, env.cert.hash, a.sig, out);
    if (env.kind === 'cert_ack') this.#ackSig(env.from, env.height, env.hash, env.sig, out);
    return out;
  }

  /** `trust`: the transactions certificate-verified sync does not check (replica.ts). */
  sigsOfEntries(entries: Entry[], trust?: (tx: DecodedTx) => boolean): Sig[] {
    const out: Sig[] = [];
    for (const e of entries) this.#blockSigs(e.block, out, trust);
    return out;
  }

  sigsOfTx(bytes: Uint8Array): Sig[] {
    const out: Sig[] = [];
    this.#txSig(bytes, out, undefined, true);
    return out;
  }

  async prime(sigs: Sig[]): Promise<void> {
    const todo = sigs.filter((s) => !this.cache.has(s.pub, s.msg, s.sig));
    this.stats.skipped += sigs.length - todo.length;
    const verdicts = await Promise.all(todo.map((s) => this.#webcrypto.verify(s.pub, s.msg, s.sig)));
    todo.forEach((s, i) => {
      this.stats.checked++;
      if (verdicts[i]) {
        this.stats.valid++;
        this.cache.primeValid(s.pub, s.msg, s.sig);
      }
    });
  }
}
