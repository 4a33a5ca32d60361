/**
 * PS3.15 Annex E Basic Application Level Confidentiality Profile, on a dcmjs "denaturalized"
 * dataset ({ 'ggggeeee': { vr, Value } }), with four options: Retain Longitudinal Temporal
 * Information with Modified Dates, Retain Patient Characteristics, Clean Descriptors and Retain
 * Safe Private. Pure: no I/O; the input is not modified (unchanged elements, pixel buffers
 * included, are shared with the result).
 *
 * How each action code of Table E.1-1 is carried out (the table's rows apply at every nesting level):
 * - X: the element is removed. Z: kept with a zero-length value (a sequence with no items).
 * - D: replaced by a dummy value of the element's VR: PatientName/PatientID get the caller's
 *   pseudonym, other PN "ANONYMOUS", strings "DEIDENTIFIED" (AE "ANONYMOUS"), DA 19000101,
 *   TM 000000, DT 19000101000000, AS 000Y, numbers 0, UI a mapped UID, binary values zeros of the
 *   same length. A sequence marked D keeps its items, but each item keeps only the attributes the
 *   table itself names (each processed by its own row): nothing the table does not know survives.
 * - Combined codes, resolved without knowing the IOD so that no attribute that was conformant
 *   becomes non-conformant: X/Z → Z (it may be Type 2); Z/D and X/Z/D → D when the element has a
 *   value (it may be Type 1), else Z, and Z for sequences (an empty Type 2 sequence); X/D → D when
 *   the element (or sequence) has a value, else X. X/Z/U* (reference sequences such as Source Image Sequence) → kept, and the instance
 *   UIDs inside are replaced by their own U rows, so references stay resolvable.
 * - U: every value is replaced by context.mapUid(value), except well-known DICOM UIDs
 *   (1.2.840.10008.*). Only rows marked U are remapped: SOP Class, Transfer Syntax, coding
 *   scheme and context UIDs are not on the table and stay.
 * - K: kept (sequences are still walked). C: see the options below.
 * Options override the basic column where their column has a code (K beats C beats basic):
 * - retainLongitudinalModifiedDates: C = DA and DT values (each value, ranges, the date part of DT)
 *   are shifted by dateOffsetDays; TM values are kept (a whole-day shift leaves clock times as they
 *   are); Timezone Offset From UTC is kept; binary timestamps fall back to the basic action.
 * - retainPatientCharacteristics: K keeps sex, age, size, weight, ethnic group, smoking and
 *   pregnancy status...; C (allergies, special needs, patient state, pre-medication) cleans the text.
 * - cleanDescriptors: C keeps free-text descriptors but removes the identifying values (the
 *   caller's list plus the dataset's own names, IDs, birth date and accession number), dates,
 *   digit runs of 5 or more and e-mail addresses from them. A C sequence is kept and walked.
 *   Binary values (MakerNote...) cannot be cleaned and follow the basic action.
 * - retainSafePrivate: private attributes on the safe list (safe-private.ts) and their private
 *   creators stay; every other private attribute is removed, at every level.
 * Beyond the rows: group length elements (gggg,0000) are removed (their values would be stale);
 * all of group 50xx (curves) is removed; when an overlay's (60xx,3000) Overlay Data is removed the
 * rest of that overlay group goes with it, since an overlay plane without its data is not valid.
 * Pixel data is never touched. At the top level, PatientName and PatientID always carry the
 * pseudonym, and Patient Identity Removed, De-identification Method (Code Sequence) and
 * Longitudinal Temporal Information Modified are set.
 */
import { deidentificationTable, PRIVATE_ATTRIBUTES_TAG, TABLE_EDITION, type DeidRow } from './table.js';
import { isSafePrivate } from './safe-private.js';

export type DeidOption =
  | 'retainLongitudinalModifiedDates'
  | 'retainPatientCharacteristics'
  | 'cleanDescriptors'
  | 'retainSafePrivate';

/** In the order the code sequence lists them. */
export const deidOptions: readonly DeidOption[] = [
  'retainLongitudinalModifiedDates',
  'retainPatientCharacteristics',
  'cleanDescriptors',
  'retainSafePrivate',
];

export type DeidContext = {
  options: ReadonlySet<DeidOption>;
  /** Consistent across a whole export: the same input UID always maps to the same output UID (2.25.<...>). */
  mapUid: (uid: string) => string;
  /** Stable per (group, patient), chosen by the caller. */
  pseudonym: { patientName: string; patientId: string };
  /** Per patient; used only with retainLongitudinalModifiedDates. */
  dateOffsetDays: number;
  /** Values the caller knows identify the patient (name, ID, birth date...): Clean Descriptors removes them from free text. */
  identifyingValues?: string[];
};

export type DeidReport = {
  /** Non-private elements removed (X rows, dropped group lengths, curves, overlays, items of D sequences). */
  removed: number;
  /** Elements whose value was replaced: dummies, zero-length values, pseudonyms, cleaned text. */
  replaced: number;
  /** UID values replaced through mapUid. */
  remappedUids: number;
  /** DA/DT values shifted by dateOffsetDays. */
  shiftedDates: number;
  /** Private elements (creators included) removed. */
  privateRemoved: number;
};

/** CID 7050 "De-identification Method" codes (scheme DCM) for what this module applies. */
export const deidMethodCodes = {
  basic: { value: '113100', meaning: 'Basic Application Confidentiality Profile' },
  retainLongitudinalModifiedDates: { value: '113107', meaning: 'Retain Longitudinal Temporal Information Modified Dates Option' },
  retainPatientCharacteristics: { value: '113108', meaning: 'Retain Patient Characteristics Option' },
  cleanDescriptors: { value: '113105', meaning: 'Clean Descriptors Option' },
  retainSafePrivate: { value: '113111', meaning: 'Retain Safe Private Option' },
} as const;

const methodText: Record<DeidOption, string> = {
  retainLongitudinalModifiedDates: 'Retain Longitudinal Temporal Information Modified Dates',
  retainPatientCharacteristics: 'Retain Patient Characteristics',
  cleanDescriptors: 'Clean Descriptors',
  retainSafePrivate: 'Retain Safe Private',
};

// ---------------------------------------------------------------------------------------------
// The table, compiled per option set

/** How one element is treated, after the options are applied to its row. */
export type DeidAction =
  | 'remove'
  | 'zero'
  | 'dummy'
  /** D if the element has a value, else Z; for a sequence: Z. (Z/D, X/Z/D) */
  | 'dummyOrZero'
  /** D if the element has a value, else X. (X/D) */
  | 'dummyOrRemove'
  | 'keep'
  | 'clean'
  | 'shift'
  | 'uid'
  | 'references';

const basicActions: Record<DeidRow['basic'], DeidAction> = {
  X: 'remove',
  Z: 'zero',
  D: 'dummy',
  K: 'keep',
  C: 'clean',
  U: 'uid',
  'X/Z': 'zero',
  'Z/D': 'dummyOrZero',
  'X/Z/D': 'dummyOrZero',
  'X/D': 'dummyOrRemove',
  'X/Z/U*': 'references',
};

type Compiled = { row: DeidRow; action: DeidAction; basic: DeidAction };

/** Row lookup by 'GGGGEEEE' for the 627 single-tag rows. */
const rowsByTag = new Map<string, DeidRow>();
for (const row of deidentificationTable) {
  const m = /^\(([0-9A-F]{4}),([0-9A-F]{4})\)$/.exec(row.tag);
  if (m) rowsByTag.set(`${m[1]}${m[2]}`, row);
}
// The pattern rows are applied in processDataset; they must be there, with the codes assumed there.
for (const tag of ['(50xx,xxxx)', '(60xx,3000)', '(60xx,4000)']) {
  if (rowFor(tag).basic !== 'X') throw new Error(`Table E.1-1 row ${tag}: expected X`);
}
const privateRow = rowFor(PRIVATE_ATTRIBUTES_TAG);

function rowFor(tag: string): DeidRow {
  const row = deidentificationTable.find((r) => r.tag === tag);
  if (!row) throw new Error(`Table E.1-1 row ${tag} missing`);
  return row;
}

/** The action for a row under the chosen options: an option's K beats its C, which beats the basic code. */
export function resolveAction(row: DeidRow, options: ReadonlySet<DeidOption>): DeidAction {
  const codes: DeidAction[] = [];
  if (options.has('retainPatientCharacteristics') && row.retainPatientCharacteristics) {
    codes.push(row.retainPatientCharacteristics === 'K' ? 'keep' : 'clean');
  }
  if (options.has('retainLongitudinalModifiedDates') && row.retainLongitudinalModifiedDates) {
    codes.push(row.retainLongitudinalModifiedDates === 'K' ? 'keep' : 'shift');
  }
  if (options.has('cleanDescriptors') && row.cleanDescriptors) {
    codes.push(row.cleanDescriptors === 'K' ? 'keep' : 'clean');
  }
  if (codes.includes('keep')) return 'keep';
  if (codes.includes('shift')) return 'shift';
  if (codes.includes('clean')) return 'clean';
  return basicActions[row.basic];
}

const compiledCache = new Map<string, Map<string, Compiled>>();

function compiledFor(options: ReadonlySet<DeidOption>): Map<string, Compiled> {
  const key = deidOptions.filter((o) => options.has(o)).join(',');
  let compiled = compiledCache.get(key);
  if (!compiled) {
    compiled = new Map();
    for (const [tag, row] of rowsByTag) {
      compiled.set(tag, { row, action: resolveAction(row, options), basic: basicActions[row.basic] });
    }
    compiledCache.set(key, compiled);
  }
  return compiled;
}

// ---------------------------------------------------------------------------------------------
// Elements

type Element = { vr: string; Value?: unknown[] };
type Dataset = Record<string, unknown>;

const STRING_VRS = new Set(['AE', 'AS', 'CS', 'DA', 'DS', 'DT', 'IS', 'LO', 'LT', 'PN', 'SH', 'ST', 'TM', 'UC', 'UI', 'UR', 'UT']);
const TEXT_VRS = new Set(['CS', 'LO', 'LT', 'PN', 'SH', 'ST', 'UC', 'UT']);
const BINARY_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'UN']);
const NUMBER_VRS = new Set(['DS', 'IS', 'US', 'SS', 'UL', 'SL', 'FL', 'FD', 'SV', 'UV']);
const WELL_KNOWN_UID = /^1\.2\.840\.10008\./;

function isElement(x: unknown): x is Element {
  return typeof x === 'object' && x !== null && typeof (x as { vr?: unknown }).vr === 'string';
}

function valuesOf(el: Element): unknown[] {
  return Array.isArray(el.Value) ? el.Value : [];
}

function isEmptyValue(v: unknown): boolean {
  if (v === null || v === undefined || v === '') return true;
  if (v instanceof ArrayBuffer) return v.byteLength === 0;
  if (ArrayBuffer.isView(v)) return v.byteLength === 0;
  if (typeof v === 'object') {
    const pn = v as Record<string, unknown>;
    if ('Alphabetic' in pn || 'Ideographic' in pn || 'Phonetic' in pn) {
      return !pn.Alphabetic && !pn.Ideographic && !pn.Phonetic;
    }
  }
  return false;
}

function hasValue(el: Element): boolean {
  return valuesOf(el).some((v) => !isEmptyValue(v));
}

function tagOf(key: string): { group: number; element: number } {
  return { group: Number.parseInt(key.slice(0, 4), 16), element: Number.parseInt(key.slice(4, 8), 16) };
}

/** A PN value as a plain string ('Family^Given'), whatever form dcmjs gave it in. */
function pnText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object') {
    const pn = v as Record<string, unknown>;
    return [pn.Alphabetic, pn.Ideographic, pn.Phonetic].filter((s) => typeof s === 'string' && s).join('=');
  }
  return '';
}

// ---------------------------------------------------------------------------------------------
// Dates

const DAY_MS = 86_400_000;

function shiftYmd(y: number, m: number, d: number, days: number): string | null {
  if (m < 1 || m > 12 || d < 1 || d > 31) return null;
  const t = Date.UTC(y, m - 1, d);
  const check = new Date(t);
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== m - 1 || check.getUTCDate() !== d) return null;
  const s = new Date(t + days * DAY_MS);
  const yy = s.getUTCFullYear();
  if (yy < 1 || yy > 9999) return null;
  return `${String(yy).padStart(4, '0')}${String(s.getUTCMonth() + 1).padStart(2, '0')}${String(s.getUTCDate()).padStart(2, '0')}`;
}

/** Shifts one DA value (YYYYMMDD or the old YYYY.MM.DD); null when it is not a date. */
function shiftOneDate(v: string, days: number): string | null {
  const m = /^(\d{4})\.?(\d{2})\.?(\d{2})$/.exec(v);
  return m ? shiftYmd(Number(m[1]), Number(m[2]), Number(m[3]), days) : null;
}

/** Shifts the date part of one DT value (YYYY[MM[DD[HH[MM[SS[.F]]]]]][&ZZXX]); null when it is not one. */
function shiftOneDateTime(v: string, days: number): string | null {
  const m = /^(\d{4})(\d{2})?(\d{2})?((?:\d{2}){0,3}(?:\.\d{1,6})?)([+-]\d{4})?$/.exec(v);
  if (!m) return null;
  const [, y = '', mo, d, time = '', tz = ''] = m;
  if (time && !d) return null;
  const shifted = shiftYmd(Number(y), mo ? Number(mo) : 1, d ? Number(d) : 1, days);
  if (shifted === null) return null;
  const datePart = d ? shifted : mo ? shifted.slice(0, 6) : shifted.slice(0, 4);
  return `${datePart}${time}${tz}`;
}

/** A value, or a range "A-B" (either side may be empty), each part shifted by `one`. */
function shiftWithRanges(value: string, days: number, one: (v: string, days: number) => string | null): string | null {
  const v = value.trim();
  const single = one(v, days);
  if (single !== null) return single;
  for (let i = v.indexOf('-'); i >= 0; i = v.indexOf('-', i + 1)) {
    const a = v.slice(0, i);
    const b = v.slice(i + 1);
    if (!a && !b) return null;
    const sa = a ? one(a, days) : '';
    const sb = b ? one(b, days) : '';
    if (sa !== null && sb !== null) return `${sa}-${sb}`;
  }
  return null;
}

/** Shifts one DA value (a date or a range) by whole days; null when it is not a date. */
export function shiftDate(value: string, days: number): string | null {
  return shiftWithRanges(value, days, shiftOneDate);
}

/** Shifts the date part of one DT value (or range) by whole days, keeping time and offset; null when it is not one. */
export function shiftDateTime(value: string, days: number): string | null {
  return shiftWithRanges(value, days, shiftOneDateTime);
}

// ---------------------------------------------------------------------------------------------
// Free-text cleaning

const DATE_PATTERNS: RegExp[] = [
  /\b(?:1[89]|20)\d{2}[-/.]?(?:0[1-9]|1[0-2])[-/.]?(?:0[1-9]|[12]\d|3[01])\b/g,
  /\b(?:0?[1-9]|[12]\d|3[01])[-/.](?:0?[1-9]|1[0-2])[-/.](?:\d{4}|\d{2})\b/g,
  /\b(?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12]\d|3[01])[-/.](?:\d{4}|\d{2})\b/g,
  /\b(?:\d{1,2}\s+)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+(?:\d{1,2},?\s+)?(?:1[89]|20)\d{2}\b/gi,
];
const DIGIT_RUN = /\d{5,}/g;
const EMAIL = /[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Patterns for the identifying values and their parts (split at ^, =, spaces and commas), longest
 * first, case-insensitive. Parts written in ASCII match as whole words only (so a patient called
 * "Ann" does not cut "Planning"), and must be 2 characters or more; other scripts match anywhere.
 */
function identifyingPatterns(values: Iterable<string>): RegExp[] {
  const parts = new Set<string>();
  for (const raw of values) {
    const v = raw.trim();
    if (!v) continue;
    parts.add(v);
    for (const p of v.split(/[\^=\s,]+/)) if (p) parts.add(p);
  }
  const patterns: RegExp[] = [];
  for (const p of [...parts].sort((a, b) => b.length - a.length)) {
    if (p.length < 2) continue;
    const ascii = /^[\x20-\x7e]*$/.test(p);
    patterns.push(ascii ? new RegExp(`(?<![A-Za-z0-9])${escapeRegExp(p)}(?![A-Za-z0-9])`, 'gi') : new RegExp(escapeRegExp(p), 'gi'));
  }
  return patterns;
}

/** Removes identifying values, dates, digit runs and e-mail addresses from one free-text value. */
export function cleanText(text: string, patterns: readonly RegExp[]): string {
  let s = text;
  for (const re of patterns) s = s.replace(re, ' ');
  s = s.replace(EMAIL, ' ');
  for (const re of DATE_PATTERNS) s = s.replace(re, ' ');
  s = s.replace(DIGIT_RUN, ' ');
  return s
    .replace(/[ \t]{2,}/g, ' ')
    .replace(/ *([\r\n]+) */g, '$1')
    .trim();
}

/** Values in the dataset itself that identify the patient (and the people around the study). */
function collectIdentifyingValues(ds: Dataset): string[] {
  const out: string[] = [];
  const ids = ['00100020', '00101000', '00100030', '00080050', '00101040', '00102154', '00101090', '00380010', '00400031'];
  for (const [key, el] of Object.entries(ds)) {
    if (!isElement(el)) continue;
    if (el.vr === 'PN' || ids.includes(key)) {
      for (const v of valuesOf(el)) {
        const s = el.vr === 'PN' ? pnText(v) : typeof v === 'string' ? v : '';
        if (s.trim()) out.push(s);
      }
    }
    if (key === '00101002' && el.vr === 'SQ') {
      // Other Patient IDs Sequence: Patient ID in each item.
      for (const item of valuesOf(el)) {
        const id = (item as Dataset)['00100020'];
        if (isElement(id)) for (const v of valuesOf(id)) if (typeof v === 'string' && v.trim()) out.push(v);
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The walk

type State = {
  ctx: DeidContext;
  compiled: Map<string, Compiled>;
  patterns: RegExp[];
  report: DeidReport;
};

function mapUidValue(v: unknown, st: State): unknown {
  if (typeof v !== 'string') return v;
  const uid = v.replace(/\0/g, '').trim();
  if (!uid || WELL_KNOWN_UID.test(uid)) return v;
  const mapped = st.ctx.mapUid(uid);
  if (!/^[0-9]+(\.[0-9]+)*$/.test(mapped) || mapped.length > 64) {
    throw new Error(`mapUid returned an invalid UID: ${JSON.stringify(mapped)}`);
  }
  if (mapped !== uid) st.report.remappedUids += 1;
  return mapped;
}

function dummyValues(key: string, el: Element, st: State): unknown[] {
  if (key === '00100010') return [{ Alphabetic: st.ctx.pseudonym.patientName }];
  if (key === '00100020') return [st.ctx.pseudonym.patientId];
  const first = valuesOf(el)[0];
  switch (el.vr) {
    case 'PN':
      return [{ Alphabetic: 'ANONYMOUS' }];
    case 'DA':
      return ['19000101'];
    case 'TM':
      return ['000000'];
    case 'DT':
      return ['19000101000000'];
    case 'AS':
      return ['000Y'];
    case 'AE':
      return ['ANONYMOUS'];
    case 'UI':
      return valuesOf(el).map((v) => mapUidValue(v, st));
    case 'UR':
      return ['urn:oid:2.25.0'];
    case 'AT':
      return [0];
    default:
      if (NUMBER_VRS.has(el.vr)) return [0];
      if (BINARY_VRS.has(el.vr)) {
        const n = first instanceof ArrayBuffer ? first.byteLength : ArrayBuffer.isView(first) ? first.byteLength : 0;
        return n > 0 ? [new ArrayBuffer(n)] : [];
      }
      return ['DEIDENTIFIED'];
  }
}

function setValue(out: Dataset, key: string, el: Element, value: unknown[], st: State): void {
  out[key] = { vr: el.vr, Value: value };
  st.report.replaced += 1;
}

function processSequence(el: Element, st: State, dummyItems: boolean): Element {
  const items = valuesOf(el).map((item) =>
    item && typeof item === 'object' ? processDataset(item as Dataset, st, dummyItems) : item,
  );
  return { vr: 'SQ', Value: items };
}

function applyAction(out: Dataset, key: string, el: Element, c: Compiled, action: DeidAction, st: State): void {
  const isSeq = el.vr === 'SQ';
  switch (action) {
    case 'remove':
      st.report.removed += 1;
      return;
    case 'keep':
    case 'references':
      out[key] = isSeq ? processSequence(el, st, false) : action === 'references' && el.vr === 'UI' ? uidElement(el, st) : el;
      return;
    case 'zero':
      if (hasValue(el)) st.report.replaced += 1;
      out[key] = { vr: el.vr, Value: [] };
      return;
    case 'dummy':
      if (isSeq) out[key] = processSequence(el, st, true);
      else setValue(out, key, el, dummyValues(key, el, st), st);
      return;
    case 'dummyOrZero':
      applyAction(out, key, el, c, !isSeq && hasValue(el) ? 'dummy' : 'zero', st);
      return;
    case 'dummyOrRemove':
      applyAction(out, key, el, c, hasValue(el) ? 'dummy' : 'remove', st);
      return;
    case 'uid':
      out[key] = el.vr === 'UI' ? uidElement(el, st) : isSeq ? processSequence(el, st, false) : el;
      return;
    case 'shift':
      shiftElement(out, key, el, c, st);
      return;
    case 'clean':
      cleanElement(out, key, el, c, st);
      return;
  }
}

function uidElement(el: Element, st: State): Element {
  return { vr: el.vr, Value: valuesOf(el).map((v) => mapUidValue(v, st)) };
}

function shiftElement(out: Dataset, key: string, el: Element, c: Compiled, st: State): void {
  const days = st.ctx.dateOffsetDays;
  if (el.vr === 'DA' || el.vr === 'DT') {
    const shift = el.vr === 'DA' ? shiftDate : shiftDateTime;
    let changed = false;
    const values = valuesOf(el).map((v) => {
      if (typeof v !== 'string' || !v.trim()) return v;
      const s = shift(v, days);
      if (s === null) {
        // Not a date we can shift: it must not survive as it was.
        changed = true;
        st.report.replaced += 1;
        return '';
      }
      if (days !== 0) st.report.shiftedDates += 1;
      if (s !== v) changed = true;
      return s;
    });
    out[key] = changed ? { vr: el.vr, Value: values } : el;
    return;
  }
  if (el.vr === 'TM' || el.vr === 'SH') {
    // Whole-day shifts leave times of day (and the time zone) as they are.
    out[key] = el;
    return;
  }
  if (el.vr === 'SQ') {
    out[key] = processSequence(el, st, false);
    return;
  }
  applyAction(out, key, el, c, c.basic, st);
}

function cleanElement(out: Dataset, key: string, el: Element, c: Compiled, st: State): void {
  if (el.vr === 'SQ') {
    out[key] = processSequence(el, st, false);
    return;
  }
  if (!TEXT_VRS.has(el.vr)) {
    if (STRING_VRS.has(el.vr) || NUMBER_VRS.has(el.vr)) out[key] = el;
    else applyAction(out, key, el, c, c.basic, st);
    return;
  }
  let changed = false;
  const values = valuesOf(el).map((v) => {
    if (el.vr === 'PN') {
      const text = pnText(v);
      const cleaned = cleanText(text, st.patterns);
      if (cleaned === text) return v;
      changed = true;
      return cleaned ? { Alphabetic: cleaned } : { Alphabetic: '' };
    }
    if (typeof v !== 'string') return v;
    const cleaned = cleanText(v, st.patterns);
    if (cleaned !== v) changed = true;
    return cleaned;
  });
  if (changed) setValue(out, key, el, values, st);
  else out[key] = el;
}

/** Private elements of one dataset level that survive: none, or the safe ones and their creators. */
function keptPrivateKeys(ds: Dataset, st: State): Set<string> {
  const kept = new Set<string>();
  if (!st.ctx.options.has('retainSafePrivate') || privateRow.retainSafePrivate !== 'C') return kept;
  for (const key of Object.keys(ds)) {
    const { group, element } = tagOf(key);
    if (!(group & 1) || element < 0x1000) continue;
    const block = element >> 8;
    const creatorKey = `${key.slice(0, 4)}00${key.slice(4, 6)}`;
    const creatorEl = ds[creatorKey];
    const creator = isElement(creatorEl) ? valuesOf(creatorEl)[0] : undefined;
    if (block >= 0x10 && typeof creator === 'string' && isSafePrivate(creator, group, element)) {
      kept.add(key);
      kept.add(creatorKey);
    }
  }
  return kept;
}

function processDataset(ds: Dataset, st: State, dummyItem: boolean): Dataset {
  const out: Dataset = {};
  const keptPrivate = dummyItem ? new Set<string>() : keptPrivateKeys(ds, st);
  let overlayGroups: Set<string> | null = null;
  for (const key of Object.keys(ds)) {
    if (/^60[0-9A-Fa-f]{2}3000$/.test(key) && Number.parseInt(key.slice(0, 4), 16) % 2 === 0) {
      (overlayGroups ??= new Set()).add(key.slice(0, 4).toUpperCase());
    }
  }
  for (const key of Object.keys(ds)) {
    const el = ds[key];
    if (!isElement(el)) continue;
    const upper = key.toUpperCase();
    const { group, element } = tagOf(upper);
    if (group & 1) {
      if (keptPrivate.has(key)) out[key] = el;
      else st.report.privateRemoved += 1;
      continue;
    }
    if (element === 0 && group !== 0x0002) {
      st.report.removed += 1; // group length: would be stale
      continue;
    }
    if (group >= 0x5000 && group <= 0x50ff) {
      st.report.removed += 1; // (50xx,xxxx) Curve Data row: X
      continue;
    }
    if (group >= 0x6000 && group <= 0x60ff) {
      const removeWholeOverlay = overlayGroups?.has(upper.slice(0, 4)) ?? false;
      if (element === 0x3000 || element === 0x4000 || removeWholeOverlay) {
        st.report.removed += 1; // (60xx,3000) / (60xx,4000) rows: X; the rest of an overlay whose data goes, goes too
        continue;
      }
    }
    if (upper === '00100010' || upper === '00100020') {
      setValue(out, key, el, dummyValues(upper, el, st), st);
      continue;
    }
    const compiled = st.compiled.get(upper);
    if (!compiled) {
      if (dummyItem) st.report.removed += 1;
      else out[key] = el.vr === 'SQ' ? processSequence(el, st, false) : el;
      continue;
    }
    applyAction(out, key, el, compiled, compiled.action, st);
  }
  return out;
}

function code(value: string, meaning: string): Dataset {
  return {
    '00080100': { vr: 'SH', Value: [value] },
    '00080102': { vr: 'SH', Value: ['DCM'] },
    '00080104': { vr: 'LO', Value: [meaning] },
  };
}

/**
 * De-identifies one dataset (dcmjs denaturalized form) with the Basic Profile and the chosen options.
 * Throws only when mapUid returns something that is not a UID.
 */
export function deidentifyDataset(
  dataset: Record<string, unknown>,
  context: DeidContext,
): { dataset: Record<string, unknown>; report: DeidReport } {
  const identifying = [...(context.identifyingValues ?? []), ...collectIdentifyingValues(dataset)];
  const st: State = {
    ctx: context,
    compiled: compiledFor(context.options),
    patterns:
      context.options.has('cleanDescriptors') || context.options.has('retainPatientCharacteristics')
        ? identifyingPatterns(identifying)
        : [],
    report: { removed: 0, replaced: 0, remappedUids: 0, shiftedDates: 0, privateRemoved: 0 },
  };
  const out = processDataset(dataset, st, false);

  const chosen = deidOptions.filter((o) => context.options.has(o));
  const { patientName, patientId } = context.pseudonym;
  if (!('00080005' in out) && /[^\x00-\x7f]/.test(patientName + patientId)) out['00080005'] = { vr: 'CS', Value: ['ISO_IR 192'] };
  if (!('00100010' in out)) out['00100010'] = { vr: 'PN', Value: [{ Alphabetic: context.pseudonym.patientName }] };
  if (!('00100020' in out)) out['00100020'] = { vr: 'LO', Value: [context.pseudonym.patientId] };
  out['00120062'] = { vr: 'CS', Value: ['YES'] };
  out['00120063'] = {
    vr: 'LO',
    Value: [`DICOM PS3.15 E.1-1 (${TABLE_EDITION}) Basic Profile`, ...chosen.map((o) => methodText[o])],
  };
  out['00120064'] = {
    vr: 'SQ',
    Value: [
      code(deidMethodCodes.basic.value, deidMethodCodes.basic.meaning),
      ...chosen.map((o) => code(deidMethodCodes[o].value, deidMethodCodes[o].meaning)),
    ],
  };
  const longitudinal = context.options.has('retainLongitudinalModifiedDates');
  out['00280303'] = {
    vr: 'CS',
    Value: [longitudinal ? (context.dateOffsetDays !== 0 ? 'MODIFIED' : 'UNMODIFIED') : 'REMOVED'],
  };
  return { dataset: out, report: st.report };
}
