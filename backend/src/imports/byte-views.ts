// Bytes held as a list of views (the chunks an upload arrived in), read as if they were one
// buffer without joining them. Node has no such type and the small libraries that offer one
// (bl and the like) copy on search; this is the little an import needs.

/** The total length of `views`. */
export const viewsLength = (views: readonly Buffer[]): number => views.reduce((n, view) => n + view.length, 0);

/** Views of the bytes from `start` to `end` of `views` taken as one (no copy). */
export function viewsOf(views: readonly Buffer[], start: number, end: number): Buffer[] {
  const out: Buffer[] = [];
  let base = 0;
  for (const view of views) {
    const viewEnd = base + view.length;
    if (viewEnd > start && base < end) out.push(view.subarray(Math.max(0, start - base), Math.min(view.length, end - base)));
    base = viewEnd;
    if (base >= end) break;
  }
  return out;
}

/** The first `length` bytes of `views` as one buffer (a copy only when they span views). */
export function headOf(views: readonly Buffer[], length: number): Buffer {
  const first = views[0];
  if (!first) return Buffer.alloc(0);
  if (first.length >= length || views.length === 1) return first.subarray(0, length);
  const head = viewsOf(views, 0, length);
  return Buffer.concat(head, viewsLength(head));
}

/** Where `needle` first occurs in `views` taken as one, at or after `from`; -1 if nowhere. */
export function indexAcross(views: readonly Buffer[], needle: Buffer, from = 0): number {
  let base = 0;
  for (let i = 0; i < views.length; i++) {
    const view = views[i]!;
    const viewEnd = base + view.length;
    if (viewEnd <= from) {
      base = viewEnd;
      continue;
    }
    const start = Math.max(0, from - base);
    const inside = view.indexOf(needle, start);
    if (inside >= 0) return base + inside;
    // A match that begins in this view's last bytes and runs on into the next views.
    const jointStart = Math.max(start, view.length - needle.length + 1);
    if (jointStart < view.length && i + 1 < views.length) {
      const joint = Buffer.concat([view.subarray(jointStart), ...viewsOf(views.slice(i + 1), 0, needle.length - 1)]);
      const across = joint.indexOf(needle);
      if (across >= 0 && across < view.length - jointStart) return base + jointStart + across;
    }
    base = viewEnd;
  }
  return -1;
}
