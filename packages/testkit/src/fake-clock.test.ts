import { describe, expect, it } from 'vitest';
import { FakeClock } from './fake-clock.ts';

describe('FakeClock', () => {
  it('fires due timers in time order as it advances, and no others', async () => {
    const c = new FakeClock();
    const fired: string[] = [];
    c.setTimeout(() => fired.push('b@20'), 20);
    c.setTimeout(() => fired.push('a@10'), 10);
    const gone = c.setTimeout(() => fired.push('cleared'), 5);
    c.setTimeout(() => fired.push('late@31'), 31);
    c.clearTimeout(gone);
    await c.advance(30);
    expect(fired).toEqual(['a@10', 'b@20']);
    expect(c.now()).toBe(30);
    expect(c.pending).toBe(1);
  });

  it('repeats an interval until it is cleared', async () => {
    const c = new FakeClock();
    let n = 0;
    const h = c.setInterval(() => n++, 5);
    await c.advance(12);
    expect(n).toBe(2);
    c.clearInterval(h);
    await c.advance(100);
    expect(n).toBe(2);
  });

  it('lets promise work started by a timer run before the next timer fires', async () => {
    const c = new FakeClock();
    const seen: number[] = [];
    c.setTimeout(() => void Promise.resolve().then(() => Promise.resolve()).then(() => seen.push(c.now())), 1);
    c.setTimeout(() => seen.push(-c.now()), 2);
    await c.advance(2);
    expect(seen).toEqual([1, -2]);
  });

  it('until() stops as soon as the condition holds, and names what never happened', async () => {
    const c = new FakeClock();
    let done = false;
    c.setTimeout(() => (done = true), 40);
    c.setTimeout(() => {}, 90);
    await c.until('the 40 ms timer', () => done);
    expect(c.now()).toBe(40);
    await expect(c.until('nothing', () => false, 1000)).rejects.toThrow(/nothing did not happen/);
  });
});
