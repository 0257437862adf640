/** Server events a test client received, waited for in order. */
export class EventQueue<E extends { type: string }> {
  readonly events: E[] = [];
  private cursor = 0;
  private waiters: (() => void)[] = [];

  push(event: E): void {
    this.events.push(event);
    for (const wake of this.waiters.splice(0)) wake();
  }

  /**
   * Waits for the next event of `type` (after the last one waited for) that satisfies
   * `where`. Waiting in sequence therefore also asserts the order of events.
   */
  async waitFor<T extends E["type"]>(
    type: T,
    where: (event: Extract<E, { type: T }>) => boolean = () => true,
    timeoutMs = 5000,
  ): Promise<Extract<E, { type: T }>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = this.cursor; i < this.events.length; i++) {
        const event = this.events[i] as E;
        if (event.type === type && where(event as Extract<E, { type: T }>)) {
          this.cursor = i + 1;
          return event as Extract<E, { type: T }>;
        }
      }
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `timed out waiting for ${type}; got: ${
            this.events
              .slice(this.cursor)
              .map((e) => e.type)
              .join(", ") || "(nothing)"
          }`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Types of all events received from `index` on (for order assertions). */
  typesSince(index: number): string[] {
    return this.events.slice(index).map((e) => e.type);
  }
}
