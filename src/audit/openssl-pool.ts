// ECDSA P-256 verification in batches on worker threads (Node only): the offline verifier's
// parallel signature checks. One message per batch of a few hundred signatures, packed into one
// buffer, so the cost per signature is OpenSSL's own plus a copy — unlike a thread-pool job and a
// promise per signature (openssl.ts's async verifier), which cost as much CPU again on 2 cores.
// Verdicts are the same as opensslVerifier's (and noble's): 33-byte keys, 64-byte r||s, low S.
import { Worker } from 'node:worker_threads';
import { cpus } from 'node:os';
import { P256_ORDER } from '../core/keys.js';
import type { BatchVerifier, SignatureJob } from './verify.js';

// The worker's code, self-contained (it runs from a string, so the same code serves the
// TypeScript sources under tsx and the bundled CLI).
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createPublicKey, verify } = require('node:crypto');
const SPKI_PREFIX = Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex');
const HALF_ORDER = Buffer.from(workerData.half_order, 'hex');
const keys = new Map();
function keyOf(pub) {
  const id = pub.toString('latin1');
  let key = keys.get(id);
  if (key === undefined) {
    try { key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, pub]), format: 'der', type: 'spki' }); } catch { key = null; }
    if (keys.size >= 4096) keys.clear();
    keys.set(id, key);
  }
  return key;
}
parentPort.on('message', ({ id, buf }) => {
  const b = Buffer.from(buf);
  const n = b.readUInt32BE(0);
  const out = new Uint8Array(n);
  let at = 4;
  for (let i = 0; i < n; i++) {
    const pubLen = b[at]; const pub = b.subarray(at + 1, at + 1 + pubLen); at += 1 + pubLen;
    const sigLen = b[at]; const sig = b.subarray(at + 1, at + 1 + sigLen); at += 1 + sigLen;
    const msgLen = b.readUInt32BE(at); const msg = b.subarray(at + 4, at + 4 + msgLen); at += 4 + msgLen;
    if (pubLen !== 33 || sigLen !== 64 || Buffer.compare(sig.subarray(32), HALF_ORDER) > 0) continue;
    const key = keyOf(pub);
    if (!key) continue;
    try { out[i] = verify('sha256', msg, { key, dsaEncoding: 'ieee-p1363' }, sig) ? 1 : 0; } catch { out[i] = 0; }
  }
  parentPort.postMessage({ id, out }, [out.buffer]);
});
`;

function pack(jobs: SignatureJob[]): ArrayBuffer {
  let size = 4;
  for (const j of jobs) size += 1 + j.pub.length + 1 + j.sig.length + 4 + j.msg.length;
  const buf = new ArrayBuffer(size);
  const bytes = new Uint8Array(buf);
  const view = new DataView(buf);
  view.setUint32(0, jobs.length);
  let at = 4;
  for (const j of jobs) {
    // Lengths above a byte are malformed anyway: write 0 so the worker refuses them.
    bytes[at] = j.pub.length <= 255 ? j.pub.length : 0;
    if (j.pub.length <= 255) bytes.set(j.pub, at + 1);
    at += 1 + (j.pub.length <= 255 ? j.pub.length : 0);
    bytes[at] = j.sig.length <= 255 ? j.sig.length : 0;
    if (j.sig.length <= 255) bytes.set(j.sig, at + 1);
    at += 1 + (j.sig.length <= 255 ? j.sig.length : 0);
    view.setUint32(at, j.msg.length);
    bytes.set(j.msg, at + 4);
    at += 4 + j.msg.length;
  }
  return buf.slice(0, at);
}

export class OpenSslPool implements BatchVerifier {
  readonly #workers: Worker[];
  readonly #waiting = new Map<number, (out: Uint8Array) => void>();
  #next = 0;
  #id = 0;

  constructor(threads = Math.max(1, cpus().length)) {
    const half_order = (P256_ORDER >> 1n).toString(16).padStart(64, '0');
    this.#workers = Array.from({ length: threads }, () => {
      const w = new Worker(WORKER_SOURCE, { eval: true, workerData: { half_order } });
      w.on('message', ({ id, out }: { id: number; out: Uint8Array }) => {
        const done = this.#waiting.get(id);
        this.#waiting.delete(id);
        done?.(out);
      });
      w.on('error', (err) => {
        for (const done of this.#waiting.values()) done(new Uint8Array(0));
        this.#waiting.clear();
        throw err;
      });
      return w;
    });
  }

  get threads(): number {
    return this.#workers.length;
  }

  verifyBatch(jobs: SignatureJob[]): Promise<Uint8Array> {
    if (jobs.length === 0) return Promise.resolve(new Uint8Array(0));
    const id = this.#id++;
    const buf = pack(jobs);
    const worker = this.#workers[this.#next++ % this.#workers.length]!;
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve);
      worker.postMessage({ id, buf }, [buf]);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}
