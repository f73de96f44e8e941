// The page's relay gate (src/net/relay-gate.ts): a connection's relay candidates wait for its
// srflx candidate, the end of gathering or a deadline; nothing else waits.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { candidateType, RelayGate } from '../../src/net/relay-gate.js';

const host = { candidate: 'candidate:1 1 udp 2122260223 192.168.1.2 51076 typ host generation 0' };
const srflx = { candidate: 'candidate:2 1 udp 1686052607 203.0.113.101 51076 typ srflx raddr 192.168.1.2 rport 51076 generation 0' };
const relay = { candidate: 'candidate:3 1 udp 41885439 203.0.113.3 60800 typ relay raddr 203.0.113.101 rport 51076 generation 0' };
const relay2 = { candidate: 'candidate:4 1 udp 41885438 203.0.113.3 60801 typ relay raddr 203.0.113.101 rport 51076 generation 0' };

describe('relay gate', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('reads the type of a candidate-attribute', () => {
    expect([host, srflx, relay].map((c) => candidateType(c.candidate))).toEqual(['host', 'srflx', 'relay']);
    expect(candidateType('garbage')).toBe('');
  });

  it('holds relay candidates until the srflx one is out, then keeps their order', () => {
    const sent: string[] = [];
    const gate = new RelayGate((c: { candidate: string }) => sent.push(candidateType(c.candidate)), false, 2000);
    gate.candidate(host);
    gate.candidate(relay);
    gate.candidate(relay2);
    expect(sent).toEqual(['host']);
    expect(gate.held).toBe(2);
    gate.candidate(srflx);
    expect(sent).toEqual(['host', 'srflx', 'relay', 'relay']);
    gate.candidate(relay);
    expect(sent).toHaveLength(5);
  });

  it('lets them go at the deadline when no srflx candidate comes (STUN unreachable)', () => {
    const sent: string[] = [];
    const gate = new RelayGate((c: { candidate: string }) => sent.push(candidateType(c.candidate)), false, 2000);
    gate.candidate(relay);
    vi.advanceTimersByTime(1999);
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(sent).toEqual(['relay']);
  });

  it('lets them go when gathering ends, and not at all once closed', () => {
    const sent: string[] = [];
    const a = new RelayGate((c: { candidate: string }) => sent.push(`a ${candidateType(c.candidate)}`), false, 2000);
    const b = new RelayGate((c: { candidate: string }) => sent.push(`b ${candidateType(c.candidate)}`), false, 2000);
    a.candidate(relay);
    b.candidate(relay);
    a.release();
    b.close();
    vi.advanceTimersByTime(5000);
    expect(sent).toEqual(['a relay']);
  });

  it('holds nothing under a relay-only policy', () => {
    const sent: string[] = [];
    const gate = new RelayGate((c: { candidate: string }) => sent.push(candidateType(c.candidate)), true, 2000);
    gate.candidate(relay);
    expect(sent).toEqual(['relay']);
  });
});
