// Client-side rate limiting of API requests (--kube-qps / --kube-burst), as client-go's flowcontrol does.

export class TokenBucket {
  private tokens: number;
  private last = Date.now();
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly qps: number, private readonly burst: number) {
    this.tokens = burst;
  }

  /** Resolves when a token is available; callers are served in arrival order. */
  take(): Promise<void> {
    if (this.qps <= 0) return Promise.resolve();
    const next = this.chain.then(() => this.wait());
    this.chain = next;
    return next;
  }

  private async wait(): Promise<void> {
    for (;;) {
      const now = Date.now();
      this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
      this.last = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await new Promise((r) => setTimeout(r, Math.ceil(((1 - this.tokens) / this.qps) * 1000)));
    }
  }
}
