// `npx tsx bench/core-cost.ts`: CPU time per relayed transaction in the core, in Node without a
// browser — the decode with its canonical check, and the core's submit once decoded (signatures
// primed into the cache, as the node's WebCrypto pre-verification does). For docs/PERFORMANCE.md.
import { TestChain } from '../tests/helpers/chain.js';
import { Replica } from '../src/core/replica.js';
import { CachingVerifier, decodeTxUnverified, signTxSync, txSigningMessage, bodyBytesOf } from '../src/core/tx.js';
import { nobleVerifier, NobleSigner } from '../src/core/keys.js';
const chain = await TestChain.create({ alice: 'prosumer', bob: 'prosumer' });
const verifier = new CachingVerifier(nobleVerifier);
const r = new Replica({ genesis: chain.genesis, id: chain.operator.id, verifier, rand: () => 0.5, tuning: { election_ticks: 10, heartbeat_ticks: 1 } } as never);
for (let i = 0; i < 40 && r.raft.role !== 'leader'; i++) { r.tick(); while (r.hasReady()) r.advance(r.ready(), 0); }
const N = Number(process.argv[2] ?? 2000);
const alice = chain.signer('alice');
const txs = Array.from({ length: N }, (_, i) => signTxSync({ v: 1, chain: r.chain_id, from: chain.operator.id, seq: i, kind: 'mint', to: alice.id, amount: 1, ref: 'm' } as never, chain.operator));
// pre-verification's work: prime the cache (as WebCrypto would)
for (const t of txs) verifier.primeValid(t.pub, txSigningMessage(bodyBytesOf(t.body)), t.sig);
const wire = txs.map((t) => Uint8Array.from(t.bytes));
let c0 = process.cpuUsage();
for (const b of wire) decodeTxUnverified(b, r.chain_id);
let c1 = process.cpuUsage(c0);
console.log('decode+canonical check, first time: µs/tx', ((c1.user + c1.system) / N).toFixed(1));
c0 = process.cpuUsage();
for (let i = 0; i < N; i += 100) r.receive({ kind: 'txs', from: chain.operator.id, to: chain.operator.id, txs: wire.slice(i, i + 100) }, Date.now());
c1 = process.cpuUsage(c0);
console.log('core receive of txs envelopes (decode cached): µs/tx', ((c1.user + c1.system) / N).toFixed(1), 'mempool', r.mempool.size);
