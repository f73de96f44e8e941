// Peer authentication on a data channel (issue 11, attack 2): real PeerSessions on in-memory
// channels. Both sides sign a transcript of this very connection (grid, both ids, both nonces,
// both DTLS fingerprints), so an attacker between two voters who passes A's challenge to B and
// B's answer back to A fails: against the old handshake (it signed grid, the peer's nonce and
// the signer's own key only) this relay authenticated both ends and A then took frames the
// attacker injected as coming from B. A new connection replaces an authenticated one only
// once it has authenticated itself.
import { describe, expect, it } from 'vitest';
import { NobleSigner, nobleVerifier, type NodeId } from '../../src/core/keys.js';
import { peerAuthMessage, type LinkFingerprints, type PeerTranscript } from '../../src/core/handshake.js';
import { PeerSession, SessionTable, type SessionEvents } from '../../src/node/peers.js';
import { encodeFrame, toChannelMessages, type Frame } from '../../src/net/wire.js';
import { channelPair, type FakeChannel } from '../helpers/fake-channel.js';

const GRID = 'c'.repeat(64);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Waits (up to 5 s: a loaded CI machine) until `cond` holds; the expectations after it decide. */
async function until(cond: () => boolean, timeout_ms = 5000): Promise<void> {
  for (const end = Date.now() + timeout_ms; !cond() && Date.now() < end; ) await sleep(10);
}

/** A DTLS fingerprint as SDP writes it, made up from a label (each certificate its own). */
function fp(label: string): string {
  const bytes = Array.from({ length: 32 }, (_, i) => ((label.charCodeAt(i % label.length) * 31 + i * 7) & 0xff).toString(16).toUpperCase().padStart(2, '0'));
  return `sha-256 ${bytes.join(':')}`;
}

interface Log {
  authenticated: number;
  frames: Frame[];
  closed: string[];
  rejected: string[];
}

function session(
  me: NobleSigner,
  peer: NodeId,
  channel: FakeChannel,
  fingerprints: LinkFingerprints,
  table?: SessionTable,
  onAuthenticated?: (s: PeerSession) => void,
): { s: PeerSession; log: Log } {
  const log: Log = { authenticated: 0, frames: [], closed: [], rejected: [] };
  const events: SessionEvents = {
    onAuthenticated: (s) => {
      log.authenticated++;
      table?.authenticated(s);
      onAuthenticated?.(s);
    },
    onFrame: (_s, f) => log.frames.push(f),
    onClosed: (s, r) => {
      log.closed.push(r);
      table?.closed(s);
    },
    onRejected: (_s, r) => log.rejected.push(r),
  };
  const s = new PeerSession(peer, channel.asChannel(), fingerprints, { signer: me, verifier: nobleVerifier, grid: GRID, height: () => 0, member: () => true }, events);
  table?.add(s);
  return { s, log };
}

/** The attacker in the middle: every channel message from one end goes on to the other. */
function relay(x: FakeChannel, y: FakeChannel): void {
  x.onmessage = (ev) => y.readyState === 'open' && y.send(new Uint8Array(ev.data as ArrayBuffer));
  y.onmessage = (ev) => x.readyState === 'open' && x.send(new Uint8Array(ev.data as ArrayBuffer));
}

function inject(ch: FakeChannel, frame: Frame): void {
  for (const p of toChannelMessages(encodeFrame(frame), 7)) ch.send(p);
}

const heartbeat = (from: NodeId, to: NodeId): Frame => ({ t: 'env', env: { kind: 'raft', from, to, msg: { type: 'heartbeat', from, to, term: 99, commit: 5 } } });

const a = NobleSigner.fromSeed('voter a');
const b = NobleSigner.fromSeed('voter b');
const m = NobleSigner.fromSeed('attacker m');

describe('peer authentication (transcript bound to the connection)', () => {
  it('two honest ends authenticate each other and exchange frames', async () => {
    const [chA, chB] = channelPair();
    const A = session(a, b.id, chA, { local: fp('A'), remote: fp('B') });
    const B = session(b, a.id, chB, { local: fp('B'), remote: fp('A') });
    await until(() => A.s.authenticated && B.s.authenticated);
    expect([A.s.authenticated, B.s.authenticated]).toEqual([true, true]);
    expect(A.s.remotePub).toEqual(b.publicKey);
    B.s.send(heartbeat(b.id, a.id));
    await until(() => A.log.frames.length > 0);
    expect(A.log.frames.map((f) => f.t)).toEqual(['env']);
    expect([...A.log.rejected, ...B.log.rejected]).toEqual([]);
    A.s.close('end');
  });

  it('a lost hello does not stall the handshake, and the first frame after it is never refused', async () => {
    // The node sends genesis_req the moment a session authenticates (as node.ts does).
    const [chA, chB] = channelPair();
    chA.lose = 1; // A's first hello vanishes, as messages can while a channel moves to the worker
    const first = (s: PeerSession) => s.send({ t: 'genesis_req' });
    const A = session(a, b.id, chA, { local: fp('A'), remote: fp('B') }, undefined, first);
    const B = session(b, a.id, chB, { local: fp('B'), remote: fp('A') }, undefined, first);
    await until(() => A.log.frames.length > 0 && B.log.frames.length > 0);
    expect([A.s.authenticated, B.s.authenticated]).toEqual([true, true]);
    expect(A.log.frames).toEqual([{ t: 'genesis_req' }]);
    expect(B.log.frames).toEqual([{ t: 'genesis_req' }]);
    expect([...A.log.rejected, ...B.log.rejected]).toEqual([]);
    A.s.close('end');
  });

  it('a relay between two voters fails: each end refuses the answer made for the other connection', async () => {
    // A dialled "B" but reached M; M dialled B claiming to be A and forwards every message.
    // M's certificate is even the same on both of its connections: A's and B's are not.
    const [chA, chMA] = channelPair();
    const [chMB, chB] = channelPair();
    relay(chMA, chMB);
    const A = session(a, b.id, chA, { local: fp('A'), remote: fp('M') });
    const B = session(b, a.id, chB, { local: fp('B'), remote: fp('M') });
    await until(() => A.log.closed.length > 0 && B.log.rejected.includes('bad_auth'));
    expect(A.s.authenticated).toBe(false);
    expect(B.s.authenticated).toBe(false);
    expect(A.log.rejected).toContain('bad_auth');
    expect(B.log.rejected).toContain('bad_auth');
    expect(A.log.closed).toEqual(['peer failed the challenge']);
    // What M injects "from B" is never taken (the old code delivered it to the node).
    if (chMA.readyState === 'open') inject(chMA, heartbeat(b.id, a.id));
    await sleep(20);
    expect(A.log.frames).toEqual([]);
    expect(A.log.authenticated + B.log.authenticated).toBe(0);
  });

  it('an answer is only good for the fingerprints, ids, nonces and grid it was made for', () => {
    const base: PeerTranscript = {
      grid: GRID,
      signer: b.id,
      verifier: a.id,
      signer_nonce: new Uint8Array(16).fill(1),
      verifier_nonce: new Uint8Array(16).fill(2),
      signer_fingerprint: fp('B'),
      verifier_fingerprint: fp('A'),
    };
    const sig = b.signSync(peerAuthMessage(base));
    expect(nobleVerifier.verify(b.publicKey, peerAuthMessage(base), sig)).toBe(true);
    const changed: Partial<PeerTranscript>[] = [
      { grid: 'd'.repeat(64) },
      { verifier: m.id },
      { signer: m.id },
      { signer_nonce: new Uint8Array(16).fill(3) },
      { verifier_nonce: new Uint8Array(16).fill(3) },
      { signer_fingerprint: fp('M') },
      { verifier_fingerprint: fp('M') },
      // Roles swapped: B's answer to A is not A's answer to B.
      { signer: a.id, verifier: b.id, signer_nonce: base.verifier_nonce, verifier_nonce: base.signer_nonce, signer_fingerprint: base.verifier_fingerprint, verifier_fingerprint: base.signer_fingerprint },
    ];
    for (const c of changed) expect(nobleVerifier.verify(b.publicKey, peerAuthMessage({ ...base, ...c }), sig)).toBe(false);
  });

  it('a channel without DTLS fingerprints never authenticates', async () => {
    const [chA, chB] = channelPair();
    const A = session(a, b.id, chA, { local: '', remote: fp('B') });
    const B = session(b, a.id, chB, { local: fp('B'), remote: fp('A') });
    await until(() => A.log.rejected.length > 0);
    await sleep(50);
    expect(A.s.authenticated).toBe(false);
    expect(A.log.rejected).toEqual(['bad_fingerprints']);
    expect(B.s.authenticated).toBe(false);
    B.s.close('end');
  });

  it('a new connection for a peer replaces the authenticated one only after it authenticates', async () => {
    const sessions = new Map<NodeId, PeerSession>();
    const table = new SessionTable(sessions);
    const [ch1A, ch1B] = channelPair();
    const first = session(a, b.id, ch1A, { local: fp('A1'), remote: fp('B1') }, table);
    const firstB = session(b, a.id, ch1B, { local: fp('B1'), remote: fp('A1') });
    await until(() => first.s.authenticated);
    expect(sessions.get(b.id)).toBe(first.s);
    expect(first.s.authenticated).toBe(true);

    // Someone who is not B offers a connection "from B" (a lying signaling server can).
    const [ch2A, ch2M] = channelPair();
    const forged = session(a, b.id, ch2A, { local: fp('A2'), remote: fp('M2') }, table);
    const mSide = session(m, a.id, ch2M, { local: fp('M2'), remote: fp('A2') });
    expect(sessions.get(b.id)).toBe(first.s); // still the working link while the new one proves itself
    expect(table.pending.get(b.id)).toBe(forged.s);
    await until(() => forged.log.rejected.includes('bad_identity') && table.pending.size === 0);
    expect(forged.s.authenticated).toBe(false);
    expect(forged.log.rejected).toContain('bad_identity');
    expect(first.s.closed).toBe(false);
    expect(sessions.get(b.id)).toBe(first.s);
    expect(table.pending.size).toBe(0);
    firstB.s.send(heartbeat(b.id, a.id));
    await until(() => first.log.frames.length > 0);
    expect(first.log.frames).toHaveLength(1);

    // The real B reconnects (say its tab reloaded): the new link takes over once authenticated.
    const [ch3A, ch3B] = channelPair();
    const second = session(a, b.id, ch3A, { local: fp('A3'), remote: fp('B3') }, table);
    session(b, a.id, ch3B, { local: fp('B3'), remote: fp('A3') });
    await until(() => second.s.authenticated && first.s.closed);
    expect(second.s.authenticated).toBe(true);
    expect(sessions.get(b.id)).toBe(second.s);
    expect(first.s.closed).toBe(true);
    expect(first.log.closed).toEqual(['replaced by a new connection']);
    mSide.s.close('end');
    second.s.close('end');
  });
});

describe('what the page hands the worker and what the worker signs for it', () => {
  it('reads the DTLS fingerprints of a session description', async () => {
    const { fingerprintsOfSdp } = await import('../../src/net/peer-links.js');
    const { isFingerprintList } = await import('../../src/core/handshake.js');
    const sdp = [
      'v=0',
      'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
      'a=group:BUNDLE 0',
      'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
      'a=ice-ufrag:abcd',
      'a=fingerprint:sha-256 85:32:99:05:8b:d3:43:AC:2B:0E:70:38:F8:85:44:3F:63:F8:8D:74:84:12:92:19:46:A1:7E:94:F3:F6:E9:2B',
      'a=setup:actpass',
      '',
    ].join('\r\n');
    const got = fingerprintsOfSdp(sdp);
    expect(got).toBe('sha-256 85:32:99:05:8B:D3:43:AC:2B:0E:70:38:F8:85:44:3F:63:F8:8D:74:84:12:92:19:46:A1:7E:94:F3:F6:E9:2B');
    expect(isFingerprintList(got)).toBe(true);
    expect(fingerprintsOfSdp('v=0\r\n')).toBe('');
    expect(isFingerprintList('')).toBe(false);
    expect(isFingerprintList('md5 AA:BB')).toBe(false);
  });

  it('the signaling proof covers only (challenge, own grid, own id) under its own domain', async () => {
    const { signalingProof } = await import('../../src/node/peers.js');
    const { checkSignalingProof, signalingProofMessage } = await import('../../src/core/handshake.js');
    const challenge = new Uint8Array(32).fill(9);
    const proof = await signalingProof(a, GRID, challenge, GRID);
    expect(checkSignalingProof(challenge, GRID, a.id, proof.pub, proof.sig, nobleVerifier)).toBeNull();
    expect(checkSignalingProof(new Uint8Array(32), GRID, a.id, proof.pub, proof.sig, nobleVerifier)).toBe('bad_signature');
    expect(checkSignalingProof(challenge, 'd'.repeat(64), a.id, proof.pub, proof.sig, nobleVerifier)).toBe('bad_signature');
    expect(checkSignalingProof(challenge, GRID, b.id, proof.pub, proof.sig, nobleVerifier)).toBe('id_mismatch');
    // The worker signs for its own grid only, and only well-formed challenges.
    await expect(signalingProof(a, GRID, challenge, 'd'.repeat(64))).rejects.toThrow(/own grid|node’s grid/);
    await expect(signalingProof(a, GRID, new Uint8Array(31), GRID)).rejects.toThrow(/32 bytes/);
    // Not a signature of the peer handshake, nor of anything else: its own domain tag.
    expect(signalingProofMessage(challenge, GRID, a.id)).not.toEqual(signalingProofMessage(challenge, GRID, b.id));
  });
});
