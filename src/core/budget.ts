// A token bucket: how much a peer may ask of this node per second (sync requests, bytes
// served, transactions relayed). Pure: time comes in as an argument, so tests and the
// simulator drive it exactly.
export class TokenBucket {
  #tokens: number;
  #at_ms: number | null = null;

  constructor(
    readonly rate_per_s: number,
    readonly burst: number,
  ) {
    if (!(rate_per_s > 0) || !(burst > 0)) throw new RangeError('rate_per_s and burst must be positive');
    this.#tokens = burst;
  }

  /** Takes `cost` tokens if there are enough at `now_ms`; false (and nothing taken) if not. */
  take(now_ms: number, cost = 1): boolean {
    this.#refill(now_ms);
    if (this.#tokens < cost) return false;
    this.#tokens -= cost;
    return true;
  }

  /** Takes `cost` even beyond what is left (the bucket goes negative: a debt paid by waiting). */
  charge(now_ms: number, cost: number): void {
    this.#refill(now_ms);
    this.#tokens -= cost;
  }

  available(now_ms: number): number {
    this.#refill(now_ms);
    return this.#tokens;
  }

  #refill(now_ms: number): void {
    if (this.#at_ms !== null && now_ms > this.#at_ms) this.#tokens = Math.min(this.burst, this.#tokens + ((now_ms - this.#at_ms) * this.rate_per_s) / 1000);
    if (this.#at_ms === null || now_ms > this.#at_ms) this.#at_ms = now_ms;
  }
}
