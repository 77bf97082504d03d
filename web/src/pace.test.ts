import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AwayWatch, Coalescer, Resync } from './pace';

/** A read whose calls are counted and which finishes when told to. */
function reader() {
  const finishers: (() => void)[] = [];
  const read = vi.fn(() => new Promise<void>((resolve) => finishers.push(resolve)));
  return { read, finish: () => finishers.shift()?.() };
}

/** A coalescer with a one-second gap over a counted read. */
function paced() {
  const r = reader();
  return { ...r, c: new Coalescer(r.read, 1000) };
}

/** A coalescer whose first read (on a hint) has finished, `ms` ago. */
async function afterFirstRead(ms: number) {
  const p = paced();
  p.c.hint();
  p.finish();
  await vi.advanceTimersByTimeAsync(ms);
  return p;
}

describe('Coalescer', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reads at once on the first hint', () => {
    const { c, read } = paced();
    c.hint();
    expect(read).toHaveBeenCalledTimes(1);
  });

  it('makes many hints within the gap one read, at the end of the gap', async () => {
    const { c, read } = await afterFirstRead(10);
    for (let i = 0; i < 50; i++) c.hint();
    expect(read).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(989);
    expect(read).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(read).toHaveBeenCalledTimes(2);
  });

  it('reads once more after a read that a hint came during', async () => {
    const { c, read, finish } = paced();
    c.hint();
    c.hint();
    c.hint();
    expect(read).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1500);
    finish();
    await vi.advanceTimersByTimeAsync(0);
    expect(read).toHaveBeenCalledTimes(2);
    finish();
    await vi.advanceTimersByTimeAsync(5000);
    expect(read).toHaveBeenCalledTimes(2);
  });

  it('never reads more than once a second under a flood of hints', async () => {
    const times: number[] = [];
    const c = new Coalescer(() => {
      times.push(Date.now());
      return Promise.resolve();
    }, 1000);
    for (let ms = 0; ms < 10_000; ms += 10) {
      c.hint();
      await vi.advanceTimersByTimeAsync(10);
    }
    expect(times.length).toBeGreaterThanOrEqual(10);
    for (let i = 1; i < times.length; i++) expect(times[i] - times[i - 1]).toBeGreaterThanOrEqual(1000);
  });

  it('counts a read made on connect toward the pace', async () => {
    const { c, read, finish } = paced();
    const first = c.now();
    finish();
    await first;
    c.hint();
    expect(read).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1000);
    expect(read).toHaveBeenCalledTimes(2);
  });

  it('goes on after a read that failed', async () => {
    let n = 0;
    const read = vi.fn(() => (++n === 1 ? Promise.reject(new Error('down')) : Promise.resolve()));
    const c = new Coalescer(read, 1000);
    c.hint();
    await vi.advanceTimersByTimeAsync(0);
    c.hint();
    await vi.advanceTimersByTimeAsync(1000);
    expect(read).toHaveBeenCalledTimes(2);
  });

  it('reads nothing once closed', async () => {
    const { c, read } = await afterFirstRead(0);
    c.hint();
    c.close();
    c.hint();
    await vi.advanceTimersByTimeAsync(5000);
    expect(read).toHaveBeenCalledTimes(1);
  });
});

describe('AwayWatch', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('acts once the agent seen before stays away long enough', () => {
    const onAway = vi.fn();
    const w = new AwayWatch(onAway, 10_000);
    w.update(true, true);
    w.update(false, true);
    vi.advanceTimersByTime(9_999);
    expect(onAway).not.toHaveBeenCalled();
    w.update(false, true); // more news of the same absence does not restart the wait
    vi.advanceTimersByTime(1);
    expect(onAway).toHaveBeenCalledTimes(1);
  });

  it('forgets an absence the agent comes back from', () => {
    const onAway = vi.fn();
    const w = new AwayWatch(onAway, 10_000);
    w.update(true, true);
    w.update(false, true);
    vi.advanceTimersByTime(5_000);
    w.update(true, true);
    vi.advanceTimersByTime(20_000);
    expect(onAway).not.toHaveBeenCalled();
  });

  it('waits for an agent never seen, and does nothing once closed', () => {
    const onAway = vi.fn();
    const w = new AwayWatch(onAway, 10_000);
    w.update(false, true);
    vi.advanceTimersByTime(60_000);
    expect(onAway).not.toHaveBeenCalled();
    w.update(true, true);
    w.update(false, true);
    w.close();
    vi.advanceTimersByTime(60_000);
    expect(onAway).not.toHaveBeenCalled();
  });
});

describe('Resync', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reads again after ten idle seconds while waiting, and not while not', async () => {
    const { c, read, finish } = paced();
    let waiting = true;
    const r = new Resync(c, () => waiting);
    const first = c.now();
    finish();
    await first;
    await vi.advanceTimersByTimeAsync(9_000);
    expect(read).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(read).toHaveBeenCalledTimes(2);
    finish();
    waiting = false;
    await vi.advanceTimersByTimeAsync(30_000);
    expect(read).toHaveBeenCalledTimes(2);
    r.close();
  });

  it('waits its ten seconds from the last read, however that read came', async () => {
    const { c, read, finish } = paced();
    const r = new Resync(c, () => true);
    const first = c.now();
    finish();
    await first;
    await vi.advanceTimersByTimeAsync(6_000);
    c.hint(); // an event
    finish();
    expect(read).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(9_000);
    expect(read).toHaveBeenCalledTimes(2);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(read).toHaveBeenCalledTimes(3);
    r.close();
    finish();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(read).toHaveBeenCalledTimes(3);
  });
});
