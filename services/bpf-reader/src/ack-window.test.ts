import { describe, expect, it } from 'vitest';
import { AckWindow } from './ack-window.ts';

describe('AckWindow', () => {
  it('acknowledges the prefix below the oldest batch in flight or open', () => {
    const w = new AckWindow();
    w.streamStarted();
    const marks = Array.from({ length: 10 }, () => w.take()); // 0..9
    const a = marks[0]; // records 0..3
    const b = marks[4]; // records 4..7
    w.inFlight(a);
    w.inFlight(b);
    expect(w.ackable(marks[8])).toBeUndefined(); // batch a still in flight
    w.settled(b);
    expect(w.ackable(marks[8])).toBeUndefined(); // b done, a not: nothing past a
    w.settled(a);
    expect(w.ackable(marks[8])).toBe(8); // up to the open batch
    expect(w.ackable(marks[8])).toBeUndefined(); // unchanged: nothing new to say
    expect(w.ackable(undefined)).toBe(10); // records 8, 9 were not data (or dropped)
  });

  it('holds a restarted stream back while the old stream’s batches are in flight', () => {
    const w = new AckWindow();
    w.streamStarted();
    for (let i = 0; i < 5; i++) w.take();
    const old = 0;
    w.inFlight(old);
    w.streamStarted();
    for (let i = 0; i < 3; i++) w.take(); // re-deliveries of 2..4, filtered
    expect(w.ackable(undefined)).toBeUndefined();
    w.settled(old);
    expect(w.ackable(undefined)).toBe(3); // counted in the new stream's records
  });
});
