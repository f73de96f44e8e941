// The page's side of a node: picks the profile's node for this tab (slots.ts) and runs it if
// no other tab does (tab-lock.ts) — or takes it over, or reads it (read-only.ts) — starts the
// worker, and connects it to its peers: signaling on a WebSocket, one RTCPeerConnection per
// peer, every data channel transferred to the worker.
import * as Comlink from 'comlink';
import type { NodeApi } from '../node/worker.js';
import { SignalingClient, type SignalingState } from '../net/signaling-client.js';
import { PeerLinks, type SelectedPair } from '../net/peer-links.js';
import { chooseSlot, readBook, recordSlot, TAB_SLOT_KEY } from './slots.js';
import { heldSlots, TabLock } from './tab-lock.js';
import { readerApi, serveReaders } from './read-only.js';

/** sessionStorage: this tab asked to take the household back (set before a reload). */
const TAKE_KEY = 'gridledger.take';

export type StorageState = 'persistent' | 'best_effort' | 'unknown';

export interface ClientState {
  signaling: SignalingState | 'off';
  signaling_detail: string;
  /** Whether the browser promised not to evict this site's storage (and with it the key). */
  storage: StorageState;
  /** The household moved to another tab: this tab's node has stopped. */
  moved: boolean;
}

export interface Client {
  api: Comlink.Remote<NodeApi>;
  id: string;
  grid: string | null;
  slot: string;
  /** This tab reads the household another tab runs: no worker, no key, nothing is signed. */
  readOnly: boolean;
  state: ClientState;
  connect(grid: string): void;
  /** Asks the browser again to keep this site's storage (a click may be needed). */
  askPersist(): Promise<void>;
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

/** What opening the page found: the node runs here, or another tab runs it. */
export type Opening =
  | { kind: 'running'; client: Client }
  | {
      kind: 'busy';
      slot: string;
      /** Asks the running tab to hand over (or, `force`, takes the lock from a tab that does not answer); null if it did not let go. */
      takeOver(force: boolean): Promise<Client | null>;
      readOnly(): Promise<Client>;
    };

function newSlot(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Takes the household back after it moved away: reload, and take over on the way up. */
export function takeBack(slot: string): void {
  sessionStorage.setItem(TAKE_KEY, slot);
  location.reload();
}

export async function openNode(gridHint: string | null): Promise<Opening> {
  const held = await heldSlots();
  const choice = chooseSlot(readBook(localStorage), gridHint, sessionStorage.getItem(TAB_SLOT_KEY), newSlot, (s) => !held.has(s));
  let slot = choice.slot;
  const takeAsked = sessionStorage.getItem(TAKE_KEY) === slot;
  sessionStorage.removeItem(TAKE_KEY);
  let lock = await TabLock.acquire(slot, 'if_available');
  if (!lock && takeAsked) lock = await TabLock.takeOver(slot);
  if (!lock && !choice.household) {
    // A slot that never joined a grid, taken by another tab meanwhile: this tab starts its own.
    slot = newSlot();
    lock = await TabLock.acquire(slot, 'if_available');
  }
  if (lock) return { kind: 'running', client: await runNode(lock, gridHint) };
  const busySlot = slot;
  return {
    kind: 'busy',
    slot: busySlot,
    async takeOver(force) {
      const l = force ? await TabLock.acquire(busySlot, 'steal') : await TabLock.takeOver(busySlot);
      return l ? runNode(l, gridHint) : null;
    },
    readOnly: () => readNode(busySlot),
  };
}

async function storageState(): Promise<StorageState> {
  try {
    return navigator.storage?.persisted ? ((await navigator.storage.persisted()) ? 'persistent' : 'best_effort') : 'unknown';
  } catch {
    return 'unknown';
  }
}

async function askPersist(): Promise<StorageState> {
  try {
    if (navigator.storage?.persist) return (await navigator.storage.persist()) ? 'persistent' : 'best_effort';
  } catch {
    // Some browsers refuse outside a user gesture; the UI offers to ask again.
  }
  return storageState();
}

/** Runs the slot's node in this tab (the lock is held). */
async function runNode(lock: TabLock, gridHint: string | null): Promise<Client> {
  const slot = lock.slot;
  sessionStorage.setItem(TAB_SLOT_KEY, slot);
  recordSlot(localStorage, slot, null, Date.now());
  const worker = new Worker(new URL('../node/worker.ts', import.meta.url), { type: 'module', name: `node-${slot}` });
  const api = Comlink.wrap<NodeApi>(worker);
  const { id, grid, created } = await api.init(`gridledger-${slot}`, gridHint);
  recordSlot(localStorage, slot, grid, Date.now());
  // ?sync=certificate: catch up trusting quorum certificates for ordinary transactions.
  const sync = new URLSearchParams(location.search).get('sync');
  if (sync === 'full' || sync === 'certificate') await api.setSyncVerification(sync);
  // A joiner's invite (or rekey link) in the URL's fragment: shown to peers before asking to
  // read the chain, which members serve only to members and invited joiners (PROTOCOL.md).
  const fragment = new URLSearchParams(location.hash.replace(/^#/, ''));
  const invite = fragment.get('invite');
  const rekey = fragment.get('rekey');
  if (invite) await api.holdInvite(invite).catch(() => {});
  else if (rekey) await api.holdRekey(rekey).catch(() => {});
  const listeners: (() => void)[] = [];
  const changed = () => listeners.forEach((cb) => cb());
  let signaling: SignalingClient | null = null;
  let links: PeerLinks | null = null;

  const client: Client = {
    api,
    id,
    grid,
    slot,
    readOnly: false,
    // A new key asks the browser to keep it; a resumed one reports what was granted.
    state: { signaling: 'off', signaling_detail: '', storage: created ? await askPersist() : await storageState(), moved: false },
    onChange: (cb) => listeners.push(cb),
    askPersist: async () => {
      client.state.storage = await askPersist();
      changed();
    },
    relayTypes: () => links?.candidateTypes() ?? Promise.resolve([]),
    selectedPairs: () => links?.selectedPairs() ?? Promise.resolve([]),
    // A crash on demand and a lying signaling server exist only in the test build.
    killWorker: () => {
      if (import.meta.env.MODE === 'test') worker.terminate();
    },
    injectSignal: (from, data) => (import.meta.env.MODE === 'test' ? (links?.signal(from, data) ?? Promise.resolve()) : Promise.resolve()),
    connect(gridId: string) {
      if (signaling || client.state.moved) return;
      client.grid = gridId;
      recordSlot(localStorage, slot, gridId, Date.now());
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

  // Other tabs of the profile may read this node's views (read-only.ts).
  const stopServing = serveReaders(slot, (method, args) =>
    method === 'clientState' ? Promise.resolve({ ...client.state }) : (api as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[method]!(...args),
  );
  const close = () => {
    links?.closeAll();
    signaling?.close();
  };
  const moved = () => {
    stopServing();
    close();
    worker.terminate();
    client.state.moved = true;
    client.state.signaling = 'off';
    changed();
  };
  // Asked to hand over: leave as when closing, let the node finish its writes, then go.
  lock.onAsked = async () => {
    await Promise.race([api.stop(), new Promise((r) => setTimeout(r, 3000))]).catch(() => {});
    moved();
  };
  // Taken without asking (this tab did not answer in time): stop at once.
  lock.onLost = moved;
  // Closing the tab: hand leadership over, then close every connection so peers know at once.
  addEventListener('pagehide', () => {
    if (client.state.moved) return;
    void api.leave();
    close();
  });
  if (grid) client.connect(grid);
  return client;
}

/** Reads the slot's node, which another tab runs, over a BroadcastChannel. */
async function readNode(slot: string): Promise<Client> {
  const { api } = readerApi<Comlink.Remote<NodeApi>>(slot);
  const status = await api.status();
  const listeners: (() => void)[] = [];
  const client: Client = {
    api,
    id: status.id,
    grid: status.grid,
    slot,
    readOnly: true,
    state: { signaling: 'off', signaling_detail: '', storage: await storageState(), moved: false },
    onChange: (cb) => listeners.push(cb),
    askPersist: async () => {},
    relayTypes: () => Promise.resolve([]),
    selectedPairs: () => Promise.resolve([]),
    killWorker: () => {},
    injectSignal: () => Promise.resolve(),
    connect: () => {},
  };
  // The running tab's connection, for the status bar.
  setInterval(async () => {
    const s = (await (api as unknown as { clientState(): Promise<ClientState> }).clientState().catch(() => null)) ?? null;
    if (s) client.state.signaling = s.signaling;
    if (s) client.state.signaling_detail = s.signaling_detail;
    listeners.forEach((cb) => cb());
  }, 1000);
  return client;
}
