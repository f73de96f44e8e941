// The lab's small internet: the address plan (pure) and building it from network namespaces,
// veth pairs, a bridge and nftables NAT. Called by scripts/lab/lab.ts and tests/e2e/lab.e2e.ts.
//
//            public segment 203.0.113.0/24 (TEST-NET-3: a bridge in its own namespace)
//   ┌──────────────┬──────────────┬───────────────┬─────────────── … ──────────────┐
//  srv .10        turn .3       r1 .101          r2 .102                         rN .1xx
//  app+signaling  coturn        NAT (cone)       NAT (cone), one LAN             NAT (symmetric)
//                                │                │bridge                           │
//                              h1 192.168.1.2    h2 192.168.2.2  h3 192.168.2.3    hN 192.168.N.2
//
// No namespace has a route to the machine's real network: the public segment is a bridge with
// no uplink, and nothing is NATed out of it. WebRTC in a home can only ever see and use the
// home's own address, its router's public address and coturn's relay addresses.
import { deleteNamespace, execIn, ipIn, removeStaleNamespaces, run, setSysctl } from './netns.js';

export type NatKind = 'cone' | 'symmetric';

export interface RouterPlan {
  ns: string;
  /** Address on the public segment (the home's public IP). */
  wan: string;
  /** Router's address on the home LAN (the homes' gateway). */
  lan: string;
  subnet: string;
  nat: NatKind;
}

export interface HomePlan {
  /** 1-based home number; home 1 holds the operator. */
  n: number;
  ns: string;
  address: string;
  router: RouterPlan;
}

export interface LabPlan {
  prefix: string;
  pub: string;
  server: { ns: string; address: string; port: number };
  turn: { ns: string; address: string; port: number };
  routers: RouterPlan[];
  homes: HomePlan[];
  /** Homes that share one LAN (must pair over host candidates), and the symmetric-NAT home. */
  lanPair: [number, number] | null;
  symmetric: number | null;
}

export const PUBLIC_NET = '203.0.113';
const CORE = `${PUBLIC_NET}.1`;

/**
 * Homes 2 and 3 share one router (one LAN) when there are at least 4 homes; the last home is
 * behind a symmetric NAT when there are at least 4; every other home has its own
 * port-preserving (cone) NAT. Home 1 is the operator's.
 */
export function planLab(homes: number, pid = process.pid): LabPlan {
  if (!Number.isInteger(homes) || homes < 2 || homes > 40) throw new Error('the lab takes 2..40 homes');
  const prefix = `gl${pid}`;
  const lanPair: [number, number] | null = homes >= 4 ? [2, 3] : null;
  const symmetric = homes >= 4 ? homes : null;
  const routers: RouterPlan[] = [];
  const out: HomePlan[] = [];
  for (let n = 1; n <= homes; n++) {
    const shared = lanPair !== null && n === lanPair[1];
    if (!shared) {
      const r = routers.length + 1;
      routers.push({ ns: `${prefix}-r${r}`, wan: `${PUBLIC_NET}.${100 + r}`, lan: `192.168.${r}.1`, subnet: `192.168.${r}.0/24`, nat: n === symmetric ? 'symmetric' : 'cone' });
    }
    const router = routers[routers.length - 1]!;
    const onLan = out.filter((h) => h.router === router).length;
    out.push({ n, ns: `${prefix}-h${n}`, address: router.lan.replace(/\.1$/, `.${2 + onLan}`), router });
  }
  return {
    prefix,
    pub: `${prefix}-pub`,
    server: { ns: `${prefix}-srv`, address: `${PUBLIC_NET}.10`, port: 8080 },
    turn: { ns: `${prefix}-turn`, address: `${PUBLIC_NET}.3`, port: 3478 },
    routers,
    homes: out,
    lanPair,
    symmetric,
  };
}

/** Which part of the lab an address belongs to: a home's LAN, a router's public side, coturn. */
export function whereIs(plan: LabPlan, address: string): string {
  // Chromium's stats hide a peer-reflexive remote address (learned from a check, not signaled).
  if (address === '' || address === 'undefined') return 'hidden';
  const home = plan.homes.find((h) => h.address === address);
  if (home) return `h${home.n}`;
  const router = plan.routers.find((r) => r.wan === address);
  if (router) return `${router.ns.slice(plan.prefix.length + 1)}-wan`;
  if (address === plan.turn.address) return 'turn';
  if (address === plan.server.address) return 'server';
  return 'outside the lab';
}

export interface LabNetOptions {
  /** Packet loss on every router's WAN link, each way, in per mille (nftables numgen). */
  loss_permille?: number;
  /** Uplink rate of every home (token bucket on the router's WAN side), kbit/s. */
  uplink_kbit?: number;
}

export interface LabNet {
  plan: LabPlan;
  cutUplink(router: RouterPlan): void;
  restoreUplink(router: RouterPlan): void;
  /** Deletes every namespace of this run (and whatever still runs in them). */
  destroy(): void;
}

const IF_WAN = 'wan';

function natRules(r: RouterPlan, opts: LabNetOptions): string {
  const loss = opts.loss_permille ? `    numgen random mod 1000 < ${opts.loss_permille} drop\n` : '';
  // A home router: LAN → WAN allowed, replies back in, nothing unsolicited (the input chain
  // drops before conntrack confirms, so an early hole-punching packet does not squat on the
  // port the NAT would otherwise keep). Symmetric: a random public port per destination.
  return `table ip gridlab {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "${IF_WAN}" masquerade${r.nat === 'symmetric' ? ' fully-random' : ''}
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
${loss}    iifname "lan" accept
    ct state established,related accept
  }
  chain input {
    type filter hook input priority filter; policy drop;
    iifname "lo" accept
    ct state established,related accept
    iifname "lan" accept
  }
}
`;
}

/** Builds the namespaces of a plan. On any failure, deletes what it made and rethrows. */
export function buildLabNet(plan: LabPlan, opts: LabNetOptions = {}): LabNet {
  removeStaleNamespaces();
  const made: string[] = [];
  const destroy = () => {
    for (const ns of made.splice(0).reverse()) deleteNamespace(ns);
  };
  const addNs = (ns: string) => {
    run('ip', ['netns', 'add', ns]);
    made.push(ns);
    ipIn(ns, 'link', 'set', 'lo', 'up');
  };
  try {
    addNs(plan.pub);
    ipIn(plan.pub, 'link', 'add', 'br0', 'type', 'bridge');
    ipIn(plan.pub, 'link', 'set', 'br0', 'up');
    // The public segment's "core": every host's default route. What is not on the segment
    // (a home's private address, say) it drops silently, as the internet drops 192.168/16.
    // A sender must not see an error (coturn closes a relay whose send fails).
    ipIn(plan.pub, 'addr', 'add', `${CORE}/24`, 'dev', 'br0');
    setSysctl(plan.pub, 'net.ipv4.ip_forward', '1');
    ipIn(plan.pub, 'route', 'add', 'blackhole', 'default');
    let port = 0;
    // A namespace on the public segment: veth from the bridge to its `ifname`.
    const plug = (ns: string, ifname: string, address: string) => {
      const p = `p${++port}`;
      ipIn(plan.pub, 'link', 'add', p, 'type', 'veth', 'peer', 'name', ifname, 'netns', ns);
      ipIn(plan.pub, 'link', 'set', p, 'master', 'br0');
      ipIn(plan.pub, 'link', 'set', p, 'up');
      ipIn(ns, 'addr', 'add', `${address}/24`, 'dev', ifname);
      ipIn(ns, 'link', 'set', ifname, 'up');
    };
    const viaCore = (ns: string) => ipIn(ns, 'route', 'add', 'default', 'via', CORE);
    for (const host of [plan.server, plan.turn]) {
      addNs(host.ns);
      plug(host.ns, 'eth0', host.address);
      viaCore(host.ns);
    }
    for (const r of plan.routers) {
      addNs(r.ns);
      plug(r.ns, IF_WAN, r.wan);
      viaCore(r.ns);
      // The LAN side is a bridge, so a router can hold several homes (one LAN).
      ipIn(r.ns, 'link', 'add', 'lan', 'type', 'bridge');
      ipIn(r.ns, 'addr', 'add', `${r.lan}/24`, 'dev', 'lan');
      ipIn(r.ns, 'link', 'set', 'lan', 'up');
      setSysctl(r.ns, 'net.ipv4.ip_forward', '1');
      execIn(r.ns, 'nft', ['-f', '-'], natRules(r, opts));
      if (opts.uplink_kbit) run('tc', ['-n', r.ns, 'qdisc', 'add', 'dev', IF_WAN, 'root', 'tbf', 'rate', `${opts.uplink_kbit}kbit`, 'burst', '32kbit', 'latency', '200ms']);
    }
    for (const h of plan.homes) {
      addNs(h.ns);
      const onLan = plan.homes.filter((x) => x.router === h.router).indexOf(h);
      const port = `h${onLan + 1}`;
      ipIn(h.router.ns, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', h.ns);
      ipIn(h.router.ns, 'link', 'set', port, 'master', 'lan');
      ipIn(h.router.ns, 'link', 'set', port, 'up');
      ipIn(h.ns, 'addr', 'add', `${h.address}/24`, 'dev', 'eth0');
      ipIn(h.ns, 'link', 'set', 'eth0', 'up');
      ipIn(h.ns, 'route', 'add', 'default', 'via', h.router.lan);
    }
  } catch (err) {
    destroy();
    throw err;
  }
  return {
    plan,
    cutUplink: (r) => ipIn(r.ns, 'link', 'set', IF_WAN, 'down'),
    restoreUplink: (r) => {
      ipIn(r.ns, 'link', 'set', IF_WAN, 'up');
      // Bringing the link up again drops nothing else: the address and rules stay.
    },
    destroy,
  };
}
