// Loading the next few items while the current one is consumed, bounded by what they hold in
// memory (bytes), not only by how many there are: a series of 200 MB multi-frame instances
// must not be buffered four at a time just because four CT slices could be.

export type AheadLimits = {
  /** Loads started ahead of the value being consumed, at most. */
  maxAhead: number;
  /**
   * What those loads and the value being consumed may hold in memory together, at most. An item
   * larger than that is loaded alone: only once everything before it was consumed.
   */
  maxHeldBytes: number;
};

/**
 * Yields `load(item)` for every item, in order, starting later loads while the consumer works on
 * the current value, within `limits` (each load counted as `heldBytes(item)` until the consumer
 * asks for the next value). If a load fails or the consumer stops early, the values already
 * loaded ahead are handed to `discard` (e.g. to close an unread response).
 */
export async function* loadAhead<T, V>(
  items: readonly T[],
  limits: AheadLimits,
  heldBytes: (item: T) => number,
  load: (item: T) => Promise<V>,
  discard: (value: V) => void,
): AsyncGenerator<V, void, undefined> {
  const started: { value: Promise<V>; bytes: number }[] = [];
  let held = 0;
  let next = 0;
  try {
    for (let i = 0; i < items.length; i++) {
      while (next < items.length && started.length < limits.maxAhead) {
        const bytes = Math.max(0, heldBytes(items[next]!));
        if (held > 0 && held + bytes > limits.maxHeldBytes) break;
        const value = load(items[next]!);
        // A load ahead may fail after an earlier one already stopped the run: handled below, not unhandled.
        value.catch(() => undefined);
        started.push({ value, bytes });
        held += bytes;
        next++;
      }
      const current = started.shift()!;
      try {
        yield await current.value;
      } finally {
        held -= current.bytes;
      }
    }
  } finally {
    for (const rest of started) rest.value.then(discard, () => undefined);
  }
}
