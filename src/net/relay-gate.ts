// Holds a connection's own relay (TURN) candidates back until its server-reflexive one has
// been signaled, so a direct path is not lost to a race. Used by the page's PeerLinks only.
//
// Why: Chromium stops gathering a connection's candidates as soon as one candidate pair is
// strongly connected (libwebrtc P2PTransportChannel::MaybeStopPortAllocatorSessions). A relay
// pair needs no hole punched, so when the STUN answer that yields the srflx candidate is one
// lost packet late (the next try is 250 ms on), the relay pair can connect first; gathering
// then stops, the srflx candidate never exists, and behind a port-restricted NAT the peer
// can never reach this side directly: the connection stays relayed for its whole life
// (measured in the lab: 4 connections in ~50 grids of 5 homes, at 0.5 % loss). Neither side's
// relay pairs can connect while its relay candidate is unknown to the other, so holding it
// back gives the STUN retries time. Once the srflx candidate is out, gathering ended, or the
// deadline passed (STUN unreachable, TURN over TCP only), the held ones go out in order.

/** The `typ` of an ICE candidate-attribute (RFC 8839 §5.1): host, srflx, prflx or relay. */
export function candidateType(candidate: string): string {
  const f = candidate.split(' ');
  const i = f.indexOf('typ');
  return i >= 0 ? (f[i + 1] ?? '') : '';
}

export class RelayGate<C extends { candidate?: string | null }> {
  #open: boolean;
  #held: C[] = [];
  #timer: ReturnType<typeof setTimeout> | null = null;

  /**
   * `open` from the start when nothing can be gained (relay-only policy); else open after
   * `hold_ms` at the latest.
   */
  constructor(
    private readonly send: (c: C) => void,
    open: boolean,
    hold_ms: number,
  ) {
    this.#open = open;
    if (!open) this.#timer = setTimeout(() => this.release(), hold_ms);
  }

  /** A local candidate of this connection: sent now, or held if it is a relay one. */
  candidate(c: C): void {
    const type = candidateType(c.candidate ?? '');
    if (!this.#open && type === 'relay') {
      this.#held.push(c);
      return;
    }
    this.send(c);
    if (type === 'srflx') this.release();
  }

  /** Sends whatever is held and lets every later candidate through (gathering ended, deadline). */
  release(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#open = true;
    for (const c of this.#held.splice(0)) this.send(c);
  }

  /** The connection is closed: nothing more goes out. */
  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#held = [];
  }

  get held(): number {
    return this.#held.length;
  }
}
