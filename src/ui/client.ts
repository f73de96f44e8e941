// The page's side of a node: picks this tab's identity (sessionStorage + navigator.locks),
// starts the worker, and connects it to its peers: signaling on a WebSocket, one
// RTCPeerConnection per peer, every data channel transferred to the worker.
import * as Comlink from 'comlink';
import type { NodeApi } from '../node/worker.js';
import { SignalingClient, type SignalingState } from '../net/signaling-client.js';
import { PeerLinks, type SelectedPair } from '../net/peer-links.js';

const SLOT_KEY = 'gridledger.slot';

export interface ClientState {
  signaling: SignalingState | 'off';
  signaling_detail: string;
}

export interface Client {
  api: Comlink.Remote<NodeApi>;
  id: string;
  grid: string | null;
  slot: string;
  state: ClientState;
  connect(grid: string): void;
  /** Candidate types of each peer connection's selected pair (tests of the TURN path). */
  relayTypes(): Promise<string[]>;
  /** Each peer connection's selected pair with addresses (the lab's report). */
  selectedPairs(): Promise<SelectedPair[]>;
  /** Test-only: terminates the node's worker without warning (a crash; the page stays). */
  killWorker(): void;
  /** Test-only: a signal as if the server relayed it from `from` (a lying signaling server). */
  injectSignal(from: string, data: unknown): Promise<void>;
  onChange(cb: () => void): void;
}

function newSlot(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Holds the slot's lock for the tab's lifetime; false when another tab holds it. */
function tryLock(slot: string): Promise<boolean> {
  if (!navigator.locks) return Promise.resolve(true);
  return new Promise((resolve) => {
    void navigator.locks.request(`gridledger:${slot}`, { ifAvailable: true }, (lock) => {
      if (!lock) {
        resolve(false);
        return;
      }
      resolve(true);
      return new Promise<void>(() => {}); // held until the tab goes away
    });
  });
}

/** This tab's node slot: kept across reloads; a duplicated tab (same sessionStorage) gets a new one. */
async function claimSlot(): Promise<string> {
  let slot = sessionStorage.getItem(SLOT_KEY);
  if (!slot || !(await tryLock(slot))) {
    slot = newSlot();
    await tryLock(slot);
  }
  sessionStorage.setItem(SLOT_KEY, slot);
  return slot;
}

export async function startClient(gridHint: string | null): Promise<Client> {
  const slot = await claimSlot();
  const worker = new Worker(new URL('../node/worker.ts', import.meta.url), { type: 'module', name: `node-${slot}` });
  const api = Comlink.wrap<NodeApi>(worker);
  const { id, grid } = await api.init(`gridledger-${slot}`, gridHint);
  // ?sync=certificate: catch up trusting quorum certificates for ordinary transactions.
  const sync = new URLSearchParams(location.search).get('sync');
  if (sync === 'full' || sync === 'certificate') await api.setSyncVerification(sync);
  const listeners: (() => void)[] = [];
  const changed = () => listeners.forEach((cb) => cb());
  let signaling: SignalingClient | null = null;
  let links: PeerLinks | null = null;

  const client: Client = {
    api,
    id,
    grid,
    slot,
    state: { signaling: 'off', signaling_detail: '' },
    onChange: (cb) => listeners.push(cb),
    relayTypes: () => links?.candidateTypes() ?? Promise.resolve([]),
    selectedPairs: () => links?.selectedPairs() ?? Promise.resolve([]),
    // A crash on demand and a lying signaling server exist only in the test build.
    killWorker: () => {
      if (import.meta.env.MODE === 'test') worker.terminate();
    },
    injectSignal: (from, data) => (import.meta.env.MODE === 'test' ? (links?.signal(from, data) ?? Promise.resolve()) : Promise.resolve()),
    connect(gridId: string) {
      if (signaling) return;
      client.grid = gridId;
      const peerLinks = new PeerLinks(id, {
        onChannel: (peer, gen, channel, fingerprints) => void api.addChannel(peer, gen, Comlink.transfer(channel, [channel as unknown as Transferable]), fingerprints),
        onState: () => changed(),
      });
      links = peerLinks;
      const wsUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/signal`;
      signaling = new SignalingClient(wsUrl, gridId, id, {
        onWelcome: (peers, config) => peerLinks.welcome(peers, config),
        onJoined: (peer) => peerLinks.joined(peer),
        onLeft: (peer) => peerLinks.left(peer),
        onSignal: (from, data) => void peerLinks.signal(from, data),
        onState: (state, detail) => {
          client.state.signaling = state;
          client.state.signaling_detail = detail;
          changed();
        },
      }, (challenge, room) => api.signSignalingChallenge(challenge, room));
      peerLinks.attach(signaling);
      void api.onPeerClosed(Comlink.proxy((peer: string, gen: number) => peerLinks.dropped(peer, gen)));
    },
  };

  // Closing the tab: hand leadership over, then close every connection so peers know at once.
  addEventListener('pagehide', () => {
    void api.leave();
    links?.closeAll();
    signaling?.close();
  });
  if (grid) client.connect(grid);
  return client;
}
