// De-identifies real files from /work/shared/data (read in place, never written) with the basic
// profile and each option, reads the result back and checks every table row present in the input.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deidOptions, type DeidContext, type DeidOption } from './profile.js';
import { deidentifyPart10, deidentifyPart10Parts, deidentifyPart10WithReport, DeidentificationError, encapsulatedPixelDataElement, readPart10Dataset } from './part10.js';
import { isSafePrivate } from './safe-private.js';
import { createUidMapper } from './uid.js';
import { allElements, DATA, shiftYmd, text, values, verifyDeidentified } from './test-support.js';

type Ds = Record<string, unknown>;

const out = mkdtempSync(join(tmpdir(), 'deid-test-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const files = {
  ct: 'ct-volume-pancreas-tcia/1-050.dcm',
  mr: 'mr-brain-t1-ge-refaced-40sl/00092.dcm',
  japanese: 'odd-encodings-pydicom/chrJapMulti.dcm',
  seg: 'seg-dcmqi-ct3slice/seg/liver.dcm',
  segSource: 'seg-dcmqi-ct3slice/ct/01.dcm',
  sr: 'odd-nonimage-dicom/test-SR.dcm',
  srReport: 'odd-nonimage-dicom/reportsi.dcm',
  srNoPixels: 'odd-nonimage-dicom/no-pixel-data_SR.dcm',
  rtPlan: 'odd-nonimage-dicom/rtplan.dcm',
  enhancedMr: 'odd-multiframe/philips_enhanced_mr_8frames.dcm',
  legacyEnhancedCt: 'odd-multiframe/legacy_converted_enhanced_ct_3frames.dcm',
  jpegFragments: 'odd-multiframe/CT0012.fragmented_no_bot_jpeg_baseline.51.dcm',
  jpeg2000: 'odd-encodings-pydicom/JPEG2000.dcm',
  rle: 'odd-encodings-pydicom/MR_small_RLE.dcm',
  deflated: 'odd-encodings-pydicom/image_dfl.dcm',
  implicit: 'odd-encodings-pydicom/MR_small_implicit.dcm',
  bigEndian: 'odd-encodings-pydicom/MR_small_bigendian.dcm',
} as const;

const read = (rel: string) => readFileSync(join(DATA, rel));
const ENCAPSULATED = new Set(['jpegFragments', 'jpeg2000', 'rle']);

function context(options: readonly DeidOption[], secret = 'part10-test'): DeidContext {
  return {
    options: new Set(options),
    mapUid: createUidMapper(secret),
    pseudonym: { patientName: 'PD-7F3A', patientId: 'PD-7F3A' },
    dateOffsetDays: -137,
  };
}

const optionSets: DeidOption[][] = [[], ...deidOptions.map((o) => [o]), [...deidOptions]];
const rowsSeen = new Set<string>();

function first(ds: Ds, tag: string): string {
  return text(values(ds[tag])[0]);
}

describe.each(Object.entries(files))('%s', (name, rel) => {
  const input = read(rel);
  const parsed = readPart10Dataset(input);

  it.each(optionSets.map((o) => [o.join('+') || 'basic', o] as const))('meets Table E.1-1 with %s', (_label, options) => {
    const ctx = context(options);
    const result = deidentifyPart10(input, ctx);
    writeFileSync(join(out, `${name}-${_label}.dcm`), result);
    const back = readPart10Dataset(result);

    // Every row present in the input, at any depth, against its action.
    const v = verifyDeidentified(parsed.dataset, back.dataset, ctx);
    expect(v.failures).toEqual([]);
    for (const tag of v.rowsChecked.keys()) rowsSeen.add(tag);

    // No private attribute left, unless it is a safe one and the option was chosen.
    for (const [path, tag, el] of allElements(back.dataset)) {
      const group = Number.parseInt(tag.slice(0, 4), 16);
      if (group % 2 === 0) continue;
      expect(options.includes('retainSafePrivate'), `${path} is private`).toBe(true);
      if (Number.parseInt(tag.slice(4), 16) >= 0x1000) expect(el.vr).not.toBe('SQ');
    }

    // Marked as de-identified, with exactly the chosen options.
    expect(first(back.dataset, '00120062')).toBe('YES');
    const codes = values(back.dataset['00120064']).map((item) => ({
      value: first(item as Ds, '00080100'),
      scheme: first(item as Ds, '00080102'),
      meaning: first(item as Ds, '00080104'),
    }));
    const expected = ['113100', ...deidOptions.filter((o) => options.includes(o)).map((o) => ({ retainLongitudinalModifiedDates: '113107', retainPatientCharacteristics: '113108', cleanDescriptors: '113105', retainSafePrivate: '113111' })[o])];
    expect(codes.map((c) => c.value)).toEqual(expected);
    expect(new Set(codes.map((c) => c.scheme))).toEqual(new Set(['DCM']));
    expect(first(back.dataset, '00280303')).toBe(options.includes('retainLongitudinalModifiedDates') ? 'MODIFIED' : 'REMOVED');
    expect(first(back.dataset, '00100010')).toBe('PD-7F3A');
    expect(first(back.dataset, '00100020')).toBe('PD-7F3A');

    // The meta header follows the remapped instance; the transfer syntax is kept only when encapsulated.
    expect(first(back.meta, '00020003')).toBe(first(back.dataset, '00080018'));
    expect(first(back.dataset, '00080018')).toBe(ctx.mapUid(first(parsed.dataset, '00080018')));
    expect(first(back.meta, '00020002')).toBe(first(parsed.dataset, '00080016'));
    expect(back.transferSyntax).toBe(ENCAPSULATED.has(name) ? parsed.transferSyntax : '1.2.840.10008.1.2.1');

    // Pixel data byte for byte.
    if (parsed.dataset['7FE00010']) {
      if (ENCAPSULATED.has(name)) {
        const element = encapsulatedPixelDataElement(input);
        expect(result.subarray(result.length - element.length).equals(element)).toBe(true);
      } else {
        const a = values(parsed.dataset['7FE00010']).map((b) => Buffer.from(b as ArrayBuffer));
        const b = values(back.dataset['7FE00010']).map((x) => Buffer.from(x as ArrayBuffer));
        expect(Buffer.concat(b).equals(Buffer.concat(a))).toBe(true);
      }
    }
  });
});

describe('real files, specific guarantees', () => {
  it('checked a broad part of the table on real data', () => {
    // Filled in by the runs above (same file, run in order).
    expect(rowsSeen.size).toBeGreaterThan(60);
    console.log(`Table E.1-1 rows found in the real test files and checked: ${rowsSeen.size}`);
  });

  it('keeps a SEG pointing at its de-identified source CT (same mapUid)', () => {
    const ctx = context(['retainLongitudinalModifiedDates']);
    const ctDir = join(DATA, 'seg-dcmqi-ct3slice/ct');
    const cts = readdirSync(ctDir)
      .filter((f) => f.endsWith('.dcm'))
      .map((f) => readPart10Dataset(deidentifyPart10(readFileSync(join(ctDir, f)), ctx)).dataset);
    const seg = readPart10Dataset(deidentifyPart10(read(files.seg), ctx)).dataset;
    const ctSops = new Set(cts.map((d) => first(d, '00080018')));
    expect(ctSops.size).toBe(3);
    const ctSeries = new Set(cts.map((d) => first(d, '0020000E')));
    expect(ctSeries.size).toBe(1);

    expect(first(seg, '0020000D')).toBe(first(cts[0]!, '0020000D'));
    expect(first(seg, '00200052')).toBe(first(cts[0]!, '00200052'));
    const refSeries = values(seg['00081115']) as Ds[];
    expect(refSeries.map((s) => first(s, '0020000E'))).toEqual([...ctSeries]);
    const refInstances = refSeries.flatMap((s) => (values(s['0008114A']) as Ds[]).map((i) => first(i, '00081155')));
    expect(new Set(refInstances)).toEqual(ctSops);
    // Per-frame Derivation Image / Source Image references.
    const frames = values(seg['52009230']) as Ds[];
    expect(frames.length).toBe(3);
    for (const frame of frames) {
      const derivation = values(frame['00089124'])[0] as Ds;
      const source = values(derivation['00082112'])[0] as Ds;
      expect(ctSops.has(first(source, '00081155'))).toBe(true);
      expect(first(source, '00081150')).toBe('1.2.840.10008.5.1.4.1.1.2');
    }
    // Dimension organization UID, shared by the two places that carry it.
    expect(first(values(seg['00209221'])[0] as Ds, '00209164')).toBe(first(values(seg['00209222'])[0] as Ds, '00209164'));
    expect(first(values(seg['00209221'])[0] as Ds, '00209164')).toMatch(/^2\.25\./);
  });

  it('gives the same output for the same input and mapUid, and unrelated UIDs for another secret', () => {
    const input = read(files.mr);
    const a = deidentifyPart10(input, context([...deidOptions]));
    const b = deidentifyPart10(input, context([...deidOptions]));
    expect(a.equals(b)).toBe(true);
    const c = readPart10Dataset(deidentifyPart10(input, context([...deidOptions], 'another secret'))).dataset;
    const da = readPart10Dataset(a).dataset;
    for (const tag of ['00080018', '0020000D', '0020000E', '00200052']) {
      expect(first(c, tag)).not.toBe(first(da, tag));
      expect(first(c, tag)).toMatch(/^2\.25\.\d+$/);
    }
  });

  it('shifts dates by exactly the offset with the option, and not otherwise', () => {
    const input = readPart10Dataset(read(files.mr)).dataset;
    const shifted = readPart10Dataset(deidentifyPart10(read(files.mr), context(['retainLongitudinalModifiedDates']))).dataset;
    for (const tag of ['00080020', '00080021', '00080022', '00080023']) {
      expect(first(input, tag)).toBe('20240425');
      expect(first(shifted, tag)).toBe(shiftYmd('20240425', -137));
      expect(first(shifted, tag)).toBe('20231210');
    }
    expect(first(shifted, '00080030')).toBe(first(input, '00080030'));
    const basic = readPart10Dataset(deidentifyPart10(read(files.mr), context([]))).dataset;
    expect(first(basic, '00080020')).toBe('');
    expect(first(basic, '00080021')).toBe('19000101');
  });

  it('removes the MR accession number and the hashed institution and station values', () => {
    const input = readPart10Dataset(read(files.mr)).dataset;
    expect(first(input, '00080050')).toBe('2819497684894126');
    const result = readPart10Dataset(deidentifyPart10(read(files.mr), context([...deidOptions]))).dataset;
    expect(first(result, '00080050')).toBe('');
    expect(first(result, '00080080')).toBe('DEIDENTIFIED');
    expect(first(result, '00081010')).toBe('DEIDENTIFIED');
    expect(first(result, '00181000')).toBe('DEIDENTIFIED');
    // Safe private attributes of this GE file stay with Retain Safe Private, with their creators.
    expect(first(result, '0019109E')).toBe('EFGRE3D');
    expect(first(result, '00190010')).toBe('GEMS_ACQU_01');
    const privateTags = Object.keys(result).filter((k) => Number.parseInt(k.slice(0, 4), 16) % 2 === 1);
    for (const tag of privateTags.filter((t) => Number.parseInt(t.slice(4), 16) >= 0x1000)) {
      expect(isSafePrivate(first(result, `${tag.slice(0, 4)}00${tag.slice(4, 6)}`), Number.parseInt(tag.slice(0, 4), 16), Number.parseInt(tag.slice(4), 16))).toBe(true);
    }
  });

  it('reads ISO 2022 Japanese names, replaces them, and cleans them out of descriptors', () => {
    const input = readPart10Dataset(read(files.japanese)).dataset;
    expect(first(input, '00100010')).toBe('やまだ^たろう');
    expect(first(input, '001021B0')).toBe('たろう');
    const cleaned = readPart10Dataset(deidentifyPart10(read(files.japanese), context(['cleanDescriptors']))).dataset;
    expect(first(cleaned, '00100010')).toBe('PD-7F3A');
    expect(first(cleaned, '00080005')).toBe('ISO_IR 192');
    expect(cleaned['001021B0']).toBeDefined();
    expect(first(cleaned, '001021B0')).toBe('');
    expect(cleaned['00101001']).toBeUndefined(); // Other Patient Names: X
    const basic = readPart10Dataset(deidentifyPart10(read(files.japanese), context([]))).dataset;
    expect(basic['001021B0']).toBeUndefined();
  });

  it('turns big-endian pixel data into the same little-endian pixel values', () => {
    const little = readPart10Dataset(read('odd-encodings-pydicom/MR_small.dcm')).dataset;
    const fromBig = readPart10Dataset(deidentifyPart10(read(files.bigEndian), context([]))).dataset;
    const a = Buffer.from(values(little['7FE00010'])[0] as ArrayBuffer);
    const b = Buffer.from(values(fromBig['7FE00010'])[0] as ArrayBuffer);
    expect(b.length).toBe(64 * 64 * 2);
    expect(b.equals(a)).toBe(true);
  });

  it('passes a trailing Pixel Data element on from the input, without a copy', () => {
    // Implicit VR (CT), explicit VR (MR) and encapsulated (JPEG 2000): the last piece is a view of the input.
    for (const rel of [files.ct, files.mr, files.jpeg2000]) {
      const input = read(rel);
      const { parts } = deidentifyPart10Parts(input, context([]));
      const pixels = parts.at(-1)!;
      expect(pixels.buffer, rel).toBe(input.buffer);
      expect(input.subarray(input.length - pixels.length).equals(pixels), rel).toBe(true);
    }
  });

  it('reads a file with elements after its Pixel Data as a whole, and drops the trailing padding', () => {
    // The CT slice is implicit VR little endian: (FFFC,FFFC) Data Set Trailing Padding, 4 bytes.
    const input = read(files.ct);
    const padding = Buffer.alloc(12);
    padding.writeUInt16LE(0xfffc, 0);
    padding.writeUInt16LE(0xfffc, 2);
    padding.writeUInt32LE(4, 4);
    const padded = Buffer.concat([input, padding]);
    const plain = deidentifyPart10(input, context([]));
    const fromPadded = deidentifyPart10(padded, context([]));
    expect(readPart10Dataset(fromPadded).dataset['FFFCFFFC']).toBeUndefined();
    expect(fromPadded.equals(plain)).toBe(true);
  });

  it('refuses what it cannot read or write back, quickly and with a DeidentificationError', () => {
    const t0 = performance.now();
    expect(() => deidentifyPart10(read('odd-nonimage-dicom/rtstruct.dcm'), context([]))).toThrow(DeidentificationError); // no preamble/meta
    expect(() => deidentifyPart10(read('odd-multiframe/rtdose_rle.dcm'), context([]))).toThrow(DeidentificationError); // misread UN value
    expect(() => deidentifyPart10(Buffer.from('not dicom'), context([]))).toThrow(DeidentificationError);
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it.skipIf(!existsSync('/usr/bin/dciodvfy'))('adds no dciodvfy errors to a CT slice, an MR slice or a SEG', () => {
    // dciodvfy reports on stderr and exits non-zero when it finds errors.
    const errors = (path: string) => {
      const run = spawnSync('/usr/bin/dciodvfy', [path], { encoding: 'utf8' });
      return `${run.stdout}\n${run.stderr}`.split('\n').filter((l) => l.startsWith('Error -'));
    };
    // The check sees errors where there are some: the GE MR slice has a few of its own.
    expect(errors(join(DATA, files.mr)).length).toBeGreaterThan(0);
    for (const rel of [files.ct, files.mr, files.seg]) {
      const before = new Set(errors(join(DATA, rel)));
      for (const options of [[], [...deidOptions]]) {
        const path = join(out, `dciodvfy-${rel.replace(/\W+/g, '_')}-${options.length}.dcm`);
        writeFileSync(path, deidentifyPart10(read(rel), context(options)));
        const added = errors(path).filter((l) => !before.has(l));
        expect(added, `${rel} with [${options.join(', ')}]`).toEqual([]);
      }
    }
  });
});

describe('performance', () => {
  it('de-identifies a 512×512 CT slice in a few milliseconds', () => {
    const dir = join(DATA, 'ct-volume-pancreas-tcia');
    const slices = readdirSync(dir)
      .filter((f) => f.endsWith('.dcm'))
      .map((f) => readFileSync(join(dir, f)));
    const ctx = context([...deidOptions]);
    for (const s of slices) deidentifyPart10(s, ctx); // warm up
    const t0 = performance.now();
    let bytes = 0;
    for (let i = 0; i < 100; i++) bytes += deidentifyPart10WithReport(slices[i % slices.length]!, ctx).file.length;
    const ms = performance.now() - t0;
    console.log(`de-identified 100 CT slices (512×512, ${(bytes / 1e6).toFixed(1)} MB out) in ${ms.toFixed(0)} ms: ${(ms / 100).toFixed(2)} ms per slice`);
    expect(ms / 100).toBeLessThan(25);
  });
});
