// Pacing of the state reads that data-packet hints ask for (docs/PROTOCOL.md "Clients: what to
// trust"): however many hints arrive, the agent is asked at most once per gap.

/** Paces the state reads that hints ask for: at most one call per `gapMs`. Any number of hints
 * while a call waits for its turn make that one call; a hint that comes while a call is under
 * way makes one more call after it, so the state read is never older than the last hint. */
export class Coalescer {
  private last = Number.NEGATIVE_INFINITY;
  private running = false;
  private again = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;

  constructor(
    private readonly read: () => Promise<void>,
    private readonly gapMs = 1000,
  ) {}

  /** A hint: read the state soon. */
  hint(): void {
    if (this.closed || this.timer !== null) return;
    if (this.running) {
      this.again = true;
      return;
    }
    const wait = this.last + this.gapMs - Date.now();
    if (wait > 0) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.fire();
      }, wait);
      return;
    }
    this.fire();
  }

  /** A read made outside the hints (on connect): it counts toward the pace too. */
  async now(): Promise<void> {
    this.last = Date.now();
    await this.read();
  }

  /** Milliseconds since the last read began. */
  idleFor(): number {
    return Date.now() - this.last;
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private fire(): void {
    this.again = false;
    this.running = true;
    this.last = Date.now();
    this.read()
      .catch(() => undefined)
      .finally(() => {
        this.running = false;
        if (this.again) this.hint();
      });
  }
}

/** Reads the state again when none was read for `idleMs` while `wanted()` (waiting for a
 * proposal or a room): an event LiveKit lost on the way (docs/PROTOCOL.md) would otherwise
 * leave the page waiting for what it was already given. */
export class Resync {
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(pace: Coalescer, wanted: () => boolean, idleMs = 10_000, everyMs = 1000) {
    this.timer = setInterval(() => {
      if (wanted() && pace.idleFor() >= idleMs) pace.hint();
    }, everyMs);
  }

  close(): void {
    clearInterval(this.timer);
  }
}

/** Watches for the lobby agent going away from a connected lobby room: once it has been seen
 * there and then stays away for `afterMs`, `onAway` runs (once per absence). A fresh lobby
 * connection is the way back when LiveKit has moved the room to another node, where the agent
 * is again (docs/PROTOCOL.md "When the lobby agent restarts"); a first connection that never
 * saw the agent waits for it instead. */
export class AwayWatch {
  private seenOnce = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;

  constructor(
    private readonly onAway: () => void,
    private readonly afterMs = 10_000,
  ) {}

  /** The agent's presence as the connection sees it now. */
  update(present: boolean, connected: boolean): void {
    if (this.closed) return;
    if (present && connected) {
      this.seenOnce = true;
      this.cancel();
      return;
    }
    if (!this.seenOnce || this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.closed) this.onAway();
    }, this.afterMs);
  }

  close(): void {
    this.closed = true;
    this.cancel();
  }

  private cancel(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
