// The lab's address plan and the path kinds it expects and reports (scripts/lab/topology.ts,
// report.ts); the namespaces themselves are exercised by tests/e2e/lab.e2e.ts.
import { describe, expect, it } from 'vitest';
import { planLab, whereIs } from '../../scripts/lab/topology.js';
import { expectedKind, pairTable, pathKind, percentile } from '../../scripts/lab/report.js';

describe('lab plan', () => {
  it('ten homes: one shared LAN (homes 2 and 3), the last behind a symmetric NAT, the rest alone behind cone NATs', () => {
    const p = planLab(10, 4242);
    expect(p.homes).toHaveLength(10);
    expect(p.routers).toHaveLength(9);
    expect(p.lanPair).toEqual([2, 3]);
    expect(p.symmetric).toBe(10);
    expect(p.homes[1]!.router).toBe(p.homes[2]!.router);
    expect(p.routers.filter((r) => r.nat === 'symmetric')).toEqual([p.homes[9]!.router]);
    const addresses = [p.server.address, p.turn.address, ...p.routers.flatMap((r) => [r.wan, r.lan]), ...p.homes.map((h) => h.address)];
    expect(new Set(addresses).size).toBe(addresses.length);
    // Every namespace carries the run's prefix, so a run deletes only its own.
    for (const ns of [p.pub, p.server.ns, p.turn.ns, ...p.routers.map((r) => r.ns), ...p.homes.map((h) => h.ns)]) expect(ns.startsWith('gl4242-')).toBe(true);
    for (const h of p.homes) expect(h.address.startsWith(h.router.lan.replace(/\.1$/, '.'))).toBe(true);
  });

  it('names an address by lab part, and anything else as outside', () => {
    const p = planLab(5, 1);
    expect(whereIs(p, '192.168.2.3')).toBe('h3');
    expect(whereIs(p, p.routers[3]!.wan)).toBe('r4-wan');
    expect(whereIs(p, p.turn.address)).toBe('turn');
    expect(whereIs(p, '')).toBe('hidden');
    expect(whereIs(p, '10.0.0.7')).toBe('outside the lab');
  });

  it('expects host on one LAN, relay with the symmetric NAT, srflx elsewhere', () => {
    const p = planLab(5, 1);
    expect(expectedKind(p, 2, 3)).toBe('host');
    expect(expectedKind(p, 1, 5)).toBe('relay');
    expect(expectedKind(p, 2, 5)).toBe('relay');
    expect(expectedKind(p, 1, 4)).toBe('srflx');
    expect(expectedKind(p, 3, 4)).toBe('srflx');
  });
});

describe('lab report', () => {
  const end = (type: string, address: string) => ({ type, address, port: 1 });
  it('classifies a selected pair by its ends', () => {
    expect(pathKind(end('host', 'a'), end('host', 'b'))).toBe('host');
    expect(pathKind(end('relay', 'a'), end('prflx', ''))).toBe('relay');
    expect(pathKind(end('prflx', 'a'), end('relay', 'b'))).toBe('relay');
    expect(pathKind(end('srflx', 'a'), end('prflx', ''))).toBe('srflx');
    expect(pathKind(end('host', 'a'), end('srflx', 'b'))).toBe('srflx');
  });

  it('tables each pair once, flags missing pairs and addresses outside the lab', () => {
    const p = planLab(4, 1);
    const t = pairTable(p, [
      { n: 1, pairs: [{ peer_home: 2, local: end('srflx', p.routers[0]!.wan), remote: end('srflx', p.routers[1]!.wan) }, { peer_home: 4, local: end('relay', p.turn.address), remote: end('host', '172.17.0.2') }] },
      { n: 2, pairs: [{ peer_home: 3, local: end('host', '192.168.2.2'), remote: end('host', '192.168.2.3') }] },
    ]);
    expect(t.rows.map((r) => `${r.pair} ${r.kind}/${r.expected}`)).toEqual(['h1-h2 srflx/srflx', 'h1-h4 relay/relay', 'h2-h3 host/host']);
    expect(t.missing).toEqual(['h1-h3', 'h2-h4', 'h3-h4']);
    expect(t.outside).toEqual(['h1: host 172.17.0.2']);
  });

  it('percentiles by nearest rank', () => {
    expect(percentile([], 50)).toBeNull();
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 99)).toBe(4);
  });
});
