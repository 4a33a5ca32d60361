/**
 * Test support: checks a de-identified dataset against Table E.1-1, element by element and
 * recursively, from the input and output alone. Written from the standard's definitions of the
 * action codes, not from profile.ts: it reads the table rows and option columns itself and checks
 * the effect (removed, zero length, dummy, kept, shifted, remapped, cleaned) on each element.
 */
import { deidentificationTable, type DeidRow } from './table.js';
import { isSafePrivate } from './safe-private.js';
import type { DeidContext } from './profile.js';

export const DATA = '/work/shared/data';

type El = { vr: string; Value?: unknown[] };
type Ds = Record<string, unknown>;

export type Verification = {
  failures: string[];
  /** Table rows found in the input, by tag, with how often each was checked. */
  rowsChecked: Map<string, number>;
  /** How often each expected outcome was checked. */
  outcomes: Record<string, number>;
};

const rows = new Map<string, DeidRow>();
for (const row of deidentificationTable) {
  const m = /^\(([0-9A-F]{4}),([0-9A-F]{4})\)$/.exec(row.tag);
  if (m) rows.set(`${m[1]}${m[2]}`, row);
}

/** Attributes the profile adds or always sets at the top level. */
const TOP_LEVEL_SET = new Set(['00100010', '00100020', '00120062', '00120063', '00120064', '00280303']);
const TEXT_VRS = new Set(['CS', 'LO', 'LT', 'PN', 'SH', 'ST', 'UC', 'UT']);
const NUMBER_VRS = new Set(['DS', 'IS', 'US', 'SS', 'UL', 'SL', 'FL', 'FD', 'SV', 'UV']);
const BINARY_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);

/** What the table says for a row under the chosen options: K, a C (shift or clean), or the basic code. */
export function expectedCode(row: DeidRow, options: ReadonlySet<string>): string {
  const codes: string[] = [];
  if (options.has('retainPatientCharacteristics') && row.retainPatientCharacteristics) codes.push(row.retainPatientCharacteristics === 'K' ? 'K' : 'C-clean');
  if (options.has('retainLongitudinalModifiedDates') && row.retainLongitudinalModifiedDates) codes.push(row.retainLongitudinalModifiedDates === 'K' ? 'K' : 'C-shift');
  if (options.has('cleanDescriptors') && row.cleanDescriptors) codes.push(row.cleanDescriptors === 'K' ? 'K' : 'C-clean');
  for (const c of ['K', 'C-shift', 'C-clean']) if (codes.includes(c)) return c;
  return row.basic;
}

export function values(el: unknown): unknown[] {
  const v = (el as El | undefined)?.Value;
  return Array.isArray(v) ? v : [];
}

export function text(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && !(v instanceof ArrayBuffer)) {
    const pn = v as Record<string, unknown>;
    return [pn.Alphabetic, pn.Ideographic, pn.Phonetic].filter((s) => typeof s === 'string' && s).join('=');
  }
  return '';
}

function show(el: unknown): string {
  return JSON.stringify(values(el).map((v) => (v instanceof ArrayBuffer ? `<${v.byteLength} bytes>` : typeof v === 'object' && v ? text(v) : v)));
}

function isEmpty(v: unknown): boolean {
  if (v === null || v === undefined || v === '') return true;
  if (v instanceof ArrayBuffer) return v.byteLength === 0;
  if (typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    if ('Alphabetic' in o || 'Ideographic' in o || 'Phonetic' in o) return !text(v);
  }
  return false;
}

export function hasValue(el: unknown): boolean {
  return values(el).some((v) => !isEmpty(v));
}

function same(a: unknown, b: unknown): boolean {
  if (a instanceof ArrayBuffer && b instanceof ArrayBuffer) return Buffer.from(a).equals(Buffer.from(b));
  if (typeof a === 'number' && typeof b === 'number') return a === b || (Number.isNaN(a) && Number.isNaN(b));
  if (a && b && typeof a === 'object' && typeof b === 'object') return text(a) === text(b);
  if (typeof a === 'string' && typeof b === 'string') return a.trim() === b.trim();
  return (a ?? '') === (b ?? '');
}

function sameValues(a: unknown, b: unknown): boolean {
  const va = values(a).filter((v) => !isEmpty(v));
  const vb = values(b).filter((v) => !isEmpty(v));
  return va.length === vb.length && va.every((v, i) => same(v, vb[i]));
}

/** An independent whole-day shift of YYYYMMDD. */
export function shiftYmd(ymd: string, days: number): string {
  const t = Date.UTC(Number(ymd.slice(0, 4)), Number(ymd.slice(4, 6)) - 1, Number(ymd.slice(6, 8))) + days * 86_400_000;
  return new Date(t).toISOString().slice(0, 10).replace(/-/g, '');
}

/** The values a cleaned text must not contain: the caller's, and the input's names and IDs. */
export function identifyingValuesOf(input: Ds, extra: readonly string[] = []): string[] {
  const out = [...extra];
  for (const [key, el] of Object.entries(input)) {
    const vr = (el as El).vr;
    if (vr === 'PN' || ['00100020', '00101000', '00100030', '00080050'].includes(key)) {
      for (const v of values(el)) {
        const s = text(v).trim();
        if (s) out.push(s, ...s.split(/[\^=\s,]+/));
      }
    }
  }
  return out.filter((s) => s.length >= 2);
}

function containsIdentifying(s: string, identifying: readonly string[]): string | null {
  const lower = s.toLowerCase();
  for (const id of identifying) {
    const i = id.toLowerCase();
    if (/^[\x20-\x7e]*$/.test(id)) {
      const re = new RegExp(`(?<![a-z0-9])${i.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?![a-z0-9])`);
      if (re.test(lower)) return id;
    } else if (lower.includes(i)) return id;
  }
  return null;
}

/** Whether `small` can be obtained from `big` by deleting characters (ignoring whitespace). */
function isSubsequence(small: string, big: string): boolean {
  const a = small.replace(/\s+/g, '');
  const b = big.replace(/\s+/g, '');
  let j = 0;
  for (const ch of b) if (j < a.length && ch === a[j]) j += 1;
  return j === a.length;
}

export function verifyDeidentified(input: Ds, output: Ds, ctx: DeidContext): Verification {
  const v: Verification = { failures: [], rowsChecked: new Map(), outcomes: {} };
  const identifying = identifyingValuesOf(input, ctx.identifyingValues ?? []);
  let sink = v.failures;
  const fail = (msg: string): void => {
    sink.push(msg);
  };
  /** Runs a check into a separate list of failures. */
  const attempt = (check: () => void): string[] => {
    const saved = sink;
    sink = [];
    try {
      check();
      return sink;
    } finally {
      sink = saved;
    }
  };
  const count = (outcome: string) => {
    v.outcomes[outcome] = (v.outcomes[outcome] ?? 0) + 1;
  };
  const mapped = (uid: unknown) => {
    const s = typeof uid === 'string' ? uid.trim() : '';
    return !s || s.startsWith('1.2.840.10008.') ? s : ctx.mapUid(s);
  };

  const expectAbsent = (o: unknown, where: string, why: string) => {
    count('removed');
    if (o !== undefined) fail(`${where}: should be removed (${why})`);
  };

  /**
   * Items in and out, in order. dcmjs drops empty items when it reads a file, so an input item may
   * be missing from the output when everything in it was to be removed: that is checked by
   * verifying the input item against an empty one.
   */
  function walkItems(el: unknown, o: unknown, where: string, dummyItems: boolean): void {
    const a = values(el);
    const b = values(o);
    let j = 0;
    a.forEach((item, i) => {
      const path = `${where}[${i}].`;
      const paired = j < b.length ? attempt(() => walk(item as Ds, b[j] as Ds, path, dummyItems, false)) : null;
      if (paired && paired.length === 0) {
        j += 1;
        return;
      }
      const asEmpty = attempt(() => walk(item as Ds, {}, path, dummyItems, false));
      if (asEmpty.length === 0) return;
      if (paired) {
        sink.push(...paired);
        j += 1;
      } else sink.push(`${where}: item ${i} missing from the output`);
    });
    if (j < b.length) fail(`${where}: ${b.length - j} more items out than in`);
  }

  function checkDummy(key: string, el: El, o: El | undefined, where: string): void {
    count('dummy');
    if (!o) return fail(`${where}: dummy expected, element removed`);
    if (el.vr === 'SQ') return walkItems(el, o, where, true);
    const out = values(o);
    const first = out[0];
    const expectOne = (want: unknown) => {
      if (out.length !== 1 || !same(first, want)) fail(`${where}: dummy ${JSON.stringify(want)} expected, got ${show(o)}`);
    };
    if (key === '00100010') return expectOne({ Alphabetic: ctx.pseudonym.patientName });
    if (key === '00100020') return expectOne(ctx.pseudonym.patientId);
    switch (el.vr) {
      case 'PN':
        return expectOne({ Alphabetic: 'ANONYMOUS' });
      case 'DA':
        return expectOne('19000101');
      case 'TM':
        return expectOne('000000');
      case 'DT':
        return expectOne('19000101000000');
      case 'AS':
        return expectOne('000Y');
      case 'AE':
        return expectOne('ANONYMOUS');
      case 'UI':
        if (!values(el).every((u, i) => same(out[i], mapped(u)))) fail(`${where}: UI dummy must be the mapped UID`);
        return;
      default:
        if (NUMBER_VRS.has(el.vr)) return expectOne(0);
        if (BINARY_VRS.has(el.vr)) {
          const n = (values(el)[0] as ArrayBuffer | undefined)?.byteLength ?? 0;
          if (!(first instanceof ArrayBuffer) || first.byteLength !== n || new Uint8Array(first).some((b) => b !== 0)) fail(`${where}: binary dummy must be ${n} zero bytes`);
          return;
        }
        if (el.vr === 'UR') return;
        return expectOne('DEIDENTIFIED');
    }
  }

  function checkBasic(key: string, code: string, el: El, o: El | undefined, where: string): void {
    switch (code) {
      case 'X':
        return expectAbsent(o, where, 'X');
      case 'Z':
        count('zero');
        if (!o) return fail(`${where}: Z expects the element kept, zero length`);
        if (hasValue(o)) fail(`${where}: Z expects zero length, got ${show(o)}`);
        return;
      case 'D':
        return checkDummy(key, el, o, where);
      case 'U': {
        count('uid');
        if (!o) return fail(`${where}: U expects the element kept`);
        values(el).forEach((u, i) => {
          const want = mapped(u);
          if (!same(values(o)[i], want)) fail(`${where}: UID ${String(u)} should map to ${want}, got ${String(values(o)[i])}`);
        });
        return;
      }
      case 'X/Z/U*':
        count('references');
        if (!o) return fail(`${where}: reference sequence expected kept`);
        return walkItems(el, o, where, false);
      default: {
        // X/Z, X/D, Z/D, X/Z/D: one of the listed actions, and never the input value unchanged.
        const allowed = code.split('/');
        const outcome = o === undefined ? 'X' : !hasValue(o) ? 'Z' : 'D';
        count(`combined ${code} → ${outcome}`);
        if (!allowed.includes(outcome)) return fail(`${where}: ${code} allows ${allowed.join(',')}, got ${outcome}`);
        if (outcome === 'D') {
          // Conformance rule of this implementation: a value is dummied only when there was one.
          if (!hasValue(el)) fail(`${where}: ${code}: an empty input should not get a dummy`);
          checkDummy(key, el, o, where);
        } else if (outcome === 'Z' && el.vr !== 'SQ' && hasValue(el) && allowed.includes('D')) {
          fail(`${where}: ${code}: a value that may be Type 1 should become a dummy, not zero length`);
        }
      }
    }
  }

  function walk(inp: Ds, out: Ds, path: string, dummyItem: boolean, top: boolean): void {
    for (const key of Object.keys(inp)) {
      const el = inp[key] as El;
      const o = out[key] as El | undefined;
      const upper = key.toUpperCase();
      const where = `${path}(${upper.slice(0, 4)},${upper.slice(4)})`;
      const group = Number.parseInt(upper.slice(0, 4), 16);
      const element = Number.parseInt(upper.slice(4), 16);
      if (group % 2 === 1) {
        count('private');
        if (o === undefined) continue;
        const safe =
          ctx.options.has('retainSafePrivate') &&
          !dummyItem &&
          (element >= 0x1000
            ? isSafePrivate(text(values(inp[`${upper.slice(0, 4)}00${upper.slice(4, 6)}`])[0]), group, element)
            : Object.keys(inp).some((k) => {
                const ku = k.toUpperCase();
                const e = Number.parseInt(ku.slice(4), 16);
                return ku.slice(0, 4) === upper.slice(0, 4) && e >> 8 === element && isSafePrivate(text(values(el)[0]), group, e);
              }));
        if (!safe) fail(`${where}: private element kept`);
        continue;
      }
      if (element === 0 && group !== 2) {
        expectAbsent(o, where, 'group length');
        continue;
      }
      if (group >= 0x5000 && group <= 0x50ff) {
        expectAbsent(o, where, 'curve data (50xx,xxxx)');
        continue;
      }
      if (group >= 0x6000 && group <= 0x60ff && group % 2 === 0 && (element === 0x3000 || element === 0x4000 || `${upper.slice(0, 4)}3000` in inp)) {
        expectAbsent(o, where, 'overlay data / comments');
        continue;
      }
      if (top && TOP_LEVEL_SET.has(upper) && upper !== '00100010' && upper !== '00100020') continue; // set by the profile, checked by the caller
      const row = rows.get(upper);
      if (upper === '00100010' || upper === '00100020') {
        v.rowsChecked.set(upper, (v.rowsChecked.get(upper) ?? 0) + 1);
        checkDummy(upper, el, o, where);
        continue;
      }
      if (!row) {
        if (dummyItem) {
          expectAbsent(o, where, 'not named by the table, inside a D sequence');
        } else if (!o) {
          fail(`${where}: not in the table, must stay`);
        } else if (el.vr === 'SQ') {
          walkItems(el, o, where, false);
        } else if (!sameValues(el, o)) {
          fail(`${where}: not in the table, value must stay (${show(el)} → ${show(o)})`);
        } else count('untouched');
        continue;
      }
      v.rowsChecked.set(upper, (v.rowsChecked.get(upper) ?? 0) + 1);
      const code = expectedCode(row, ctx.options);
      if (code === 'K') {
        count('kept');
        if (!o) fail(`${where}: K expects the element kept`);
        else if (el.vr === 'SQ') walkItems(el, o, where, false);
        else if (!sameValues(el, o)) fail(`${where}: K expects the value unchanged`);
        continue;
      }
      if (code === 'C-shift') {
        if (el.vr === 'DA' || el.vr === 'DT') {
          count('shifted');
          if (!o) {
            fail(`${where}: date should be shifted, was removed`);
            continue;
          }
          values(el).forEach((d, i) => {
            const s = typeof d === 'string' ? d.trim() : '';
            const got = values(o)[i];
            if (/^\d{8}/.test(s)) {
              const want = shiftYmd(s.slice(0, 8), ctx.dateOffsetDays) + s.slice(8);
              if (!same(got, want)) fail(`${where}: ${s} shifted by ${ctx.dateOffsetDays} days should be ${want}, got ${String(got)}`);
            } else if (s && same(got, s) && ctx.dateOffsetDays !== 0) fail(`${where}: date ${s} was not shifted`);
          });
        } else if (el.vr === 'TM' || el.vr === 'SH') {
          count('time kept');
          if (!o || !sameValues(el, o)) fail(`${where}: times stay as they are with a whole-day shift`);
        } else if (el.vr === 'SQ') {
          count('kept');
          if (!o) fail(`${where}: sequence should stay`);
          else walkItems(el, o, where, false);
        } else checkBasic(upper, row.basic, el, o, where);
        continue;
      }
      if (code === 'C-clean') {
        if (el.vr === 'SQ') {
          count('kept');
          if (!o) fail(`${where}: sequence should stay (clean)`);
          else walkItems(el, o, where, false);
        } else if (TEXT_VRS.has(el.vr)) {
          count('cleaned');
          if (!o) {
            fail(`${where}: cleaned text should stay`);
            continue;
          }
          values(o).forEach((val, i) => {
            const s = text(val);
            const found = containsIdentifying(s, identifying);
            if (found) fail(`${where}: cleaned text still contains "${found}": ${s}`);
            if (/\d{5,}/.test(s)) fail(`${where}: cleaned text still has a long digit run: ${s}`);
            if (!isSubsequence(s, text(values(el)[i]))) fail(`${where}: cleaning may only remove text: ${text(values(el)[i])} → ${s}`);
          });
        } else if (BINARY_VRS.has(el.vr)) {
          checkBasic(upper, row.basic, el, o, where);
        } else {
          count('kept');
          if (!o || !sameValues(el, o)) fail(`${where}: non-text value should stay under C`);
        }
        continue;
      }
      checkBasic(upper, code, el, o, where);
    }
    for (const key of Object.keys(out)) {
      if (!(key in inp) && !(top && TOP_LEVEL_SET.has(key.toUpperCase()))) fail(`${path}${key}: appeared in the output`);
    }
  }

  walk(input, output, '', false, true);
  return v;
}

/** Every element (at any depth) of a dataset, with its path. */
export function* allElements(ds: Ds, path = ''): Generator<[string, string, El]> {
  for (const [key, el] of Object.entries(ds)) {
    yield [`${path}${key}`, key.toUpperCase(), el as El];
    if ((el as El).vr === 'SQ') {
      for (const [i, item] of values(el).entries()) if (item && typeof item === 'object') yield* allElements(item as Ds, `${path}${key}[${i}].`);
    }
  }
}
