import { describe, expect, it } from 'vitest';
import { loadAhead } from './load-ahead.js';

/** Loads that finish when the test says so, with a log of what was started. */
function controlledLoads() {
  const started: number[] = [];
  const finish = new Map<number, () => void>();
  const load = (item: number) => {
    started.push(item);
    return new Promise<number>((resolve) => finish.set(item, () => resolve(item)));
  };
  return { started, finish, load };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('loadAhead', () => {
  it('yields every value in order, whatever order the loads finish in', async () => {
    const items = [0, 1, 2, 3, 4, 5, 6, 7];
    const loads = controlledLoads();
    const values: number[] = [];
    let done = false;
    const consumer = (async () => {
      for await (const value of loadAhead(items, { maxAhead: 3, maxHeldBytes: 1e9 }, () => 1, loads.load, () => undefined)) values.push(value);
      done = true;
    })();
    // Always finish the latest started load first.
    while (!done) {
      await tick();
      const latest = [...loads.finish.keys()].pop();
      if (latest !== undefined) {
        loads.finish.get(latest)!();
        loads.finish.delete(latest);
      }
    }
    await consumer;
    expect(values).toEqual(items);
  });

  it('keeps what is loaded ahead within the byte budget, counting the value being consumed, and loads an oversized item alone', async () => {
    const sizes = [10, 10, 10, 25, 40, 5, 5, 5, 5, 100, 5];
    let inMemory = 0;
    let peak = 0;
    const load = async (size: number) => {
      inMemory += size;
      peak = Math.max(peak, inMemory);
      await tick();
      return size;
    };
    const values: number[] = [];
    for await (const size of loadAhead(sizes, { maxAhead: 4, maxHeldBytes: 30 }, (size) => size, load, () => undefined)) {
      // The consumer holds the value while it works on it, and lets go before the next.
      if (size > 30) expect(inMemory).toBe(size);
      else expect(inMemory).toBeLessThanOrEqual(30);
      await tick();
      values.push(size);
      inMemory -= size;
    }
    expect(values).toEqual(sizes);
    expect(peak).toBe(100); // the 100-byte item, over budget: loaded, and consumed, alone
  });

  it('starts no more than maxAhead loads beyond the value being consumed', async () => {
    const loads = controlledLoads();
    const items = Array.from({ length: 10 }, (_, i) => i);
    const generator = loadAhead(items, { maxAhead: 2, maxHeldBytes: 1e9 }, () => 1, loads.load, () => undefined);
    const first = generator.next();
    await tick();
    expect(loads.started).toEqual([0, 1]);
    loads.finish.get(0)!();
    expect((await first).value).toBe(0);
    expect(loads.started).toEqual([0, 1]);
    const second = generator.next();
    await tick();
    expect(loads.started).toEqual([0, 1, 2]);
    loads.finish.get(1)!();
    expect((await second).value).toBe(1);
    await generator.return();
  });

  it('hands the values loaded ahead to discard when the consumer stops early or a load fails', async () => {
    const discarded: number[] = [];
    const items = [0, 1, 2, 3, 4, 5];
    for await (const value of loadAhead(items, { maxAhead: 3, maxHeldBytes: 1e9 }, () => 1, async (item) => item, (v) => discarded.push(v))) {
      if (value === 1) break;
    }
    await tick();
    expect(discarded.sort()).toEqual([2, 3]);

    discarded.length = 0;
    const failing = async (item: number) => {
      if (item === 1) throw new Error('Orthanc answered 500');
      return item;
    };
    const seen: number[] = [];
    await expect(
      (async () => {
        for await (const value of loadAhead(items, { maxAhead: 3, maxHeldBytes: 1e9 }, () => 1, failing, (v) => discarded.push(v))) seen.push(value);
      })(),
    ).rejects.toThrow('Orthanc answered 500');
    await tick();
    expect(seen).toEqual([0]);
    expect(discarded.sort()).toEqual([2, 3]);
  });
});
