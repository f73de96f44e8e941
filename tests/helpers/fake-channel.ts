// In-memory stand-ins for a pair of RTCDataChannels (what PeerSession uses of them), so
// peer sessions run in Node: what one end sends arrives at the other end's onmessage on a
// later task, as on a real channel. For tests only.
export class FakeChannel {
  binaryType = 'arraybuffer';
  bufferedAmount = 0;
  bufferedAmountLowThreshold = 0;
  readyState: 'connecting' | 'open' | 'closing' | 'closed' = 'connecting';
  onopen: (() => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onbufferedamountlow: (() => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  other: FakeChannel | null = null;
  /** Every message that went out of this end, in order (a tap for tests). */
  readonly sent: Uint8Array[] = [];
  /** This many of the next messages sent from this end are lost (as in a channel's transfer). */
  lose = 0;

  send(data: Uint8Array): void {
    if (this.readyState !== 'open') throw new Error('channel not open');
    const copy = data.slice();
    this.sent.push(copy);
    if (this.lose > 0) {
      this.lose--;
      return;
    }
    const to = this.other;
    setTimeout(() => {
      if (to && to.readyState === 'open') to.onmessage?.({ data: copy.buffer });
    }, 0);
  }

  close(): void {
    if (this.readyState === 'closed') return;
    this.readyState = 'closed';
    setTimeout(() => this.onclose?.(), 0);
    if (this.other && this.other.readyState !== 'closed') this.other.close();
  }

  asChannel(): RTCDataChannel {
    return this as unknown as RTCDataChannel;
  }
}

/** Two connected ends, opened on a later task (as a real channel opens after setup). */
export function channelPair(): [FakeChannel, FakeChannel] {
  const a = new FakeChannel();
  const b = new FakeChannel();
  a.other = b;
  b.other = a;
  setTimeout(() => {
    a.readyState = 'open';
    b.readyState = 'open';
    a.onopen?.();
    b.onopen?.();
  }, 0);
  return [a, b];
}
