import { describe, expect, it } from 'vitest';
import { cleanText, deidentifyDataset, deidOptions, shiftDate, shiftDateTime, type DeidContext, type DeidOption } from './profile.js';
import { deidentificationTable } from './table.js';
import { createUidMapper } from './uid.js';
import { dcmjs } from './dcmjs.js';
import { verifyDeidentified, values, text } from './test-support.js';

type Ds = Record<string, unknown>;

function context(options: DeidOption[] = [], extra: Partial<DeidContext> = {}): DeidContext {
  return {
    options: new Set(options),
    mapUid: createUidMapper('profile-test'),
    pseudonym: { patientName: 'PD-0001', patientId: 'PD-0001-ID' },
    dateOffsetDays: -45,
    ...extra,
  };
}

const el = (vr: string, ...v: unknown[]) => ({ vr, Value: v });
const pn = (s: string) => ({ Alphabetic: s });
const optionSets: DeidOption[][] = [[], ...deidOptions.map((o) => [o]), [...deidOptions]];

/** VRs of the rows that dcmjs 0.51's dictionary does not know yet (new in the 2024/2025 editions). */
const newRowVrs: Record<string, string> = {
  '00081301': 'SQ',
  '00081302': 'SQ',
  '00081303': 'SQ',
  '00081304': 'SQ',
  '0040B034': 'DT',
  '0040B036': 'DT',
  '0040B03B': 'LO',
  '0040B03F': 'LO',
};

function sampleValue(vr: string, tag: string): unknown[] {
  switch (vr) {
    case 'DA':
      return ['20200115'];
    case 'TM':
      return ['101010.5'];
    case 'DT':
      return ['20200115101010+0100'];
    case 'PN':
      return [pn('Doe^John')];
    case 'UI':
      return [`1.2.3.4.${Number.parseInt(tag, 16) % 100000}`];
    case 'AS':
      return ['045Y'];
    case 'AE':
      return ['SCANNER_AE'];
    case 'CS':
      return ['VALUE'];
    case 'UR':
      return ['https://hospital.example/patient/123456'];
    case 'AT':
      return [0x00100010];
    case 'DS':
    case 'IS':
    case 'US':
    case 'SS':
    case 'UL':
    case 'SL':
    case 'FL':
    case 'FD':
    case 'SV':
    case 'UV':
      return [7];
    case 'OB':
    case 'OW':
    case 'OD':
    case 'OF':
    case 'OL':
    case 'OV':
    case 'UN':
      return [new Uint8Array([1, 2, 3, 4]).buffer];
    case 'SQ':
      return [
        {
          '00081155': el('UI', '1.2.3.4.999'),
          '00100020': el('LO', 'inner-id'),
          '00080100': el('SH', 'CODE1'),
          '00081030': el('LO', 'Study of John Doe 20200115 MRN 1234567'),
        },
      ];
    default:
      return ['Note about Doe 2020-01-15, MRN 1234567, call 555-12345'];
  }
}

/** A dataset with an element for every single-tag row of the table, values typical for its VR. */
function everyRowDataset(): Ds {
  const dict = dcmjs.data.DicomMetaDictionary.dictionary;
  const ds: Ds = {};
  for (const row of deidentificationTable) {
    const m = /^\(([0-9A-F]{4}),([0-9A-F]{4})\)$/.exec(row.tag);
    if (!m) continue;
    const tag = `${m[1]}${m[2]}`;
    let vr = dict[row.tag]?.vr ?? newRowVrs[tag];
    if (!vr) throw new Error(`no VR for ${row.tag}`);
    vr = vr === 'ox' ? 'OB' : vr === 'xs' ? 'US' : vr.slice(0, 2);
    ds[tag] = el(vr, ...sampleValue(vr, tag));
  }
  return ds;
}

describe('deidentifyDataset on a dataset holding every row of Table E.1-1', () => {
  const base = everyRowDataset();
  const dataset: Ds = {
    ...base,
    // The same rows again one level down, in a sequence the table does not name.
    '00081115': el('SQ', { ...base }),
    // Private elements, a group length, a curve and an overlay.
    '00080000': el('UL', 1234),
    '00090010': el('LO', 'ACME 1.0'),
    '00091001': el('LO', 'secret'),
    '50000010': el('US', 2),
    '60000010': el('US', 512),
    '60003000': el('OW', new ArrayBuffer(8)),
    '60020010': el('US', 256),
  };
  expect(Object.keys(base).length).toBe(627);

  for (const options of optionSets) {
    it(`applies every row's action with options [${options.join(', ') || 'basic profile'}]`, () => {
      const ctx = context(options, { identifyingValues: ['555-12345'] });
      const { dataset: out, report } = deidentifyDataset(dataset, ctx);
      const v = verifyDeidentified(dataset, out, ctx);
      expect(v.failures).toEqual([]);
      expect(v.rowsChecked.size).toBe(627);
      expect(report.privateRemoved).toBe(2);
      expect(out['60020010']).toEqual(el('US', 256)); // an overlay group without Overlay Data is left alone
      expect(out['60000010']).toBeUndefined();
      expect(report.remappedUids).toBeGreaterThan(100);
    });
  }
});

describe('deidentifyDataset rules', () => {
  it('does not modify its input', () => {
    const input: Ds = { '00100010': el('PN', pn('Doe^John')), '00080020': el('DA', '20200115'), '0020000D': el('UI', '1.2.3') };
    const copy = structuredClone(input);
    deidentifyDataset(input, context(['retainLongitudinalModifiedDates']));
    expect(input).toEqual(copy);
  });

  it('puts the pseudonym in PatientName and PatientID, adding them when absent', () => {
    const ctx = context();
    expect(deidentifyDataset({ '00100010': el('PN', pn('Doe^John')), '00100020': el('LO', '12345') }, ctx).dataset).toMatchObject({
      '00100010': el('PN', pn('PD-0001')),
      '00100020': el('LO', 'PD-0001-ID'),
    });
    expect(deidentifyDataset({}, ctx).dataset).toMatchObject({ '00100010': el('PN', pn('PD-0001')), '00100020': el('LO', 'PD-0001-ID') });
  });

  it('marks the result and lists exactly the chosen options', () => {
    const { dataset } = deidentifyDataset({}, context(['cleanDescriptors', 'retainSafePrivate']));
    expect(dataset['00120062']).toEqual(el('CS', 'YES'));
    expect(values(dataset['00120063'])).toEqual(['DICOM PS3.15 E.1-1 (2025a) Basic Profile', 'Clean Descriptors', 'Retain Safe Private']);
    const codes = values(dataset['00120064']).map((item) => values((item as Ds)['00080100'])[0]);
    expect(codes).toEqual(['113100', '113105', '113111']);
    expect(values(dataset['00280303'])).toEqual(['REMOVED']);
    expect(values(deidentifyDataset({}, context(['retainLongitudinalModifiedDates'])).dataset['00280303'])).toEqual(['MODIFIED']);
    expect(values(deidentifyDataset({}, context(['retainLongitudinalModifiedDates'], { dateOffsetDays: 0 })).dataset['00280303'])).toEqual(['UNMODIFIED']);
  });

  it('resolves combined codes without breaking conformance: a value gets a dummy, an empty element stays empty', () => {
    const { dataset } = deidentifyDataset(
      {
        '00080021': el('DA', '20200115'), // SeriesDate X/D
        '00080023': el('DA'), // ContentDate Z/D, empty
        '00080080': el('LO', 'General Hospital'), // InstitutionName X/Z/D
        '00080022': el('DA', '20200115'), // AcquisitionDate X/Z
        '00081111': el('SQ', { '00081155': el('UI', '1.2.3.4') }), // ReferencedPerformedProcedureStepSequence X/Z/D
      },
      context(),
    );
    expect(dataset['00080021']).toEqual(el('DA', '19000101'));
    expect(dataset['00080023']).toEqual(el('DA'));
    expect(dataset['00080080']).toEqual(el('LO', 'DEIDENTIFIED'));
    expect(dataset['00080022']).toEqual(el('DA'));
    expect(dataset['00081111']).toEqual(el('SQ'));
  });

  it('remaps UIDs everywhere, consistently, and leaves well-known DICOM UIDs alone', () => {
    const ctx = context();
    const input: Ds = {
      '00080016': el('UI', '1.2.840.10008.5.1.4.1.1.2'),
      '00080018': el('UI', '1.2.3.100'),
      '00200200': el('UI', '1.2.840.10008.15.1.1'), // Synchronization Frame of Reference: UTC, well known
      '00081115': el('SQ', { '0020000E': el('UI', '1.2.3.200'), '0008114A': el('SQ', { '00081150': el('UI', '1.2.840.10008.5.1.4.1.1.2'), '00081155': el('UI', '1.2.3.100') }) }),
      '00080008': el('CS', 'ORIGINAL'),
    };
    const out = deidentifyDataset(input, ctx).dataset;
    expect(values(out['00080016'])).toEqual(['1.2.840.10008.5.1.4.1.1.2']);
    expect(values(out['00200200'])).toEqual(['1.2.840.10008.15.1.1']);
    const sop = values(out['00080018'])[0] as string;
    expect(sop).toMatch(/^2\.25\.\d+$/);
    const series = values(out['00081115'])[0] as Ds;
    expect(values(series['0020000E'])[0]).toBe(ctx.mapUid('1.2.3.200'));
    const ref = values(series['0008114A'])[0] as Ds;
    expect(values(ref['00081155'])[0]).toBe(sop);
    expect(values(ref['00081150'])[0]).toBe('1.2.840.10008.5.1.4.1.1.2');
    expect(() => deidentifyDataset(input, context([], { mapUid: () => 'not a uid' }))).toThrow(/invalid UID/);
  });

  it('removes private attributes at every level, keeping only safe ones (and their creators) with Retain Safe Private', () => {
    const input: Ds = {
      '00190010': el('LO', 'SIEMENS MR HEADER'),
      '0019100C': el('IS', 1000),
      '00191008': el('CS', 'IMAGE NUM 4'),
      '00290010': el('LO', 'SIEMENS CSA HEADER'),
      '00291010': el('OB', new ArrayBuffer(4)),
      '52009229': el('SQ', { '00190010': el('LO', 'SIEMENS MR HEADER'), '0019100C': el('IS', 500), '00211001': el('LO', 'x') }),
    };
    const basic = deidentifyDataset(input, context());
    expect(Object.keys(basic.dataset).filter((k) => Number.parseInt(k.slice(0, 4), 16) % 2)).toEqual([]);
    const shared = values(basic.dataset['52009229'])[0] as Ds;
    expect(Object.keys(shared)).toEqual([]);
    expect(basic.report.privateRemoved).toBe(8);

    const safe = deidentifyDataset(input, context(['retainSafePrivate']));
    expect(Object.keys(safe.dataset).filter((k) => Number.parseInt(k.slice(0, 4), 16) % 2).sort()).toEqual(['00190010', '0019100C']);
    expect(Object.keys(values(safe.dataset['52009229'])[0] as Ds).sort()).toEqual(['00190010', '0019100C']);
    expect(safe.report.privateRemoved).toBe(4);
  });

  it('removes curves, overlay data and comments, and the rest of an overlay whose data is removed', () => {
    const { dataset, report } = deidentifyDataset(
      {
        '50000005': el('US', 1),
        '50003000': el('OW', new ArrayBuffer(2)),
        '60000010': el('US', 4),
        '60003000': el('OW', new ArrayBuffer(2)),
        '60004000': el('LT', 'John Doe'),
        '60020022': el('LO', 'overlay with its data in the pixels'),
        '7FE00010': el('OW', new ArrayBuffer(2)),
      },
      context(),
    );
    expect(Object.keys(dataset).filter((k) => k.startsWith('50') || k.startsWith('60'))).toEqual(['60020022']);
    expect(dataset['7FE00010']).toBeDefined();
    expect(report.removed).toBe(5);
  });

  it('keeps patient characteristics only with that option', () => {
    const input: Ds = { '00100040': el('CS', 'F'), '00101010': el('AS', '045Y'), '00101030': el('DS', 70), '001021A0': el('CS', 'NO'), '00102110': el('LO', 'Penicillin (noted 2019-03-02 by Dr Who)') };
    const basic = deidentifyDataset(input, context()).dataset;
    expect(basic['00100040']).toEqual(el('CS'));
    expect(basic['00101010']).toBeUndefined();
    expect(basic['00101030']).toBeUndefined();
    const kept = deidentifyDataset(input, context(['retainPatientCharacteristics'], { identifyingValues: ['Who'] })).dataset;
    expect(kept['00100040']).toEqual(el('CS', 'F'));
    expect(kept['00101010']).toEqual(el('AS', '045Y'));
    expect(kept['00101030']).toEqual(el('DS', 70));
    expect(kept['001021A0']).toEqual(el('CS', 'NO'));
    expect(values(kept['00102110'])).toEqual(['Penicillin (noted by Dr )']);
  });

  it('shifts dates with Retain Longitudinal Temporal Information Modified Dates, and dummies them without', () => {
    const input: Ds = {
      '00080020': el('DA', '20240301'),
      '00080030': el('TM', '101011.123'),
      '0008002A': el('DT', '20240301101011.123456+0100'),
      '00400244': el('DA', '20240229', '20231231'),
      '00080201': el('SH', '+0100'),
    };
    const shifted = deidentifyDataset(input, context(['retainLongitudinalModifiedDates'], { dateOffsetDays: -1 }));
    expect(shifted.dataset).toMatchObject({
      '00080020': el('DA', '20240229'),
      '00080030': el('TM', '101011.123'),
      '0008002A': el('DT', '20240229101011.123456+0100'),
      '00400244': el('DA', '20240228', '20231230'),
      '00080201': el('SH', '+0100'),
    });
    expect(shifted.report.shiftedDates).toBe(4);
    const basic = deidentifyDataset(input, context()).dataset;
    expect(basic['00080020']).toEqual(el('DA'));
    expect(basic['0008002A']).toEqual(el('DT', '19000101000000'));
    expect(basic['00400244']).toBeUndefined();
    expect(basic['00080201']).toBeUndefined();
  });

  it('cleans descriptors with Clean Descriptors, and removes them without', () => {
    const input: Ds = {
      '00100010': el('PN', pn('Doe^Jane')),
      '00100020': el('LO', 'MRN778899'),
      '00081030': el('LO', 'CT abdomen for Jane Doe (MRN778899) 2024-03-01'),
      '0008103E': el('LO', 'Planning AX 3mm'),
      '00204000': el('LT', 'Call jdoe@example.org or 0612345678'),
    };
    const cleaned = deidentifyDataset(input, context(['cleanDescriptors'], { identifyingValues: ['Ann'] })).dataset;
    expect(values(cleaned['00081030'])).toEqual(['CT abdomen for ( )']);
    expect(values(cleaned['0008103E'])).toEqual(['Planning AX 3mm']);
    expect(values(cleaned['00204000'])).toEqual(['Call or']);
    const basic = deidentifyDataset(input, context()).dataset;
    expect(basic['00081030']).toBeUndefined();
    expect(basic['0008103E']).toBeUndefined();
  });

  it('keeps only what the table names inside the items of a D sequence', () => {
    const { dataset } = deidentifyDataset(
      {
        '0040A073': el('SQ', {
          '0040A075': el('PN', pn('Smith^Ann')),
          '0040A027': el('LO', 'General Hospital'),
          '0040A030': el('DT', '20240301101010'),
          '0040A088': el('SQ', { '00080100': el('SH', 'E123') }),
          '00081199': el('SQ', { '00081155': el('UI', '1.2.3') }),
        }),
        '0040A730': el('SQ', { '0040A040': el('CS', 'TEXT'), '0040A160': el('UT', 'Patient John Doe, seen 2024-03-01'), '0040A124': el('UI', '1.2.3.4') }),
      },
      context(),
    );
    expect(values(dataset['0040A073'])).toEqual([
      { '0040A075': el('PN', pn('ANONYMOUS')), '0040A027': el('LO', 'DEIDENTIFIED'), '0040A030': el('DT', '19000101000000'), '0040A088': el('SQ') },
    ]);
    const content = values(dataset['0040A730'])[0] as Ds;
    expect(Object.keys(content)).toEqual(['0040A124']);
    expect(text(values(content['0040A124'])[0])).toMatch(/^2\.25\./);
  });

  it('removes stale group lengths', () => {
    const { dataset } = deidentifyDataset({ '00080000': el('UL', 10), '00080060': el('CS', 'CT') }, context());
    expect(dataset['00080000']).toBeUndefined();
    expect(dataset['00080060']).toEqual(el('CS', 'CT'));
  });
});

describe('date shifting', () => {
  it('shifts DA values across month, year and leap days, ranges and the old dotted form', () => {
    expect(shiftDate('20240301', -1)).toBe('20240229');
    expect(shiftDate('20230301', -1)).toBe('20230228');
    expect(shiftDate('20241231', 1)).toBe('20250101');
    expect(shiftDate('2024.03.01', -1)).toBe('20240229');
    expect(shiftDate('20240101-20240131', 10)).toBe('20240111-20240210');
    expect(shiftDate('-20240131', 1)).toBe('-20240201');
    expect(shiftDate('20240230', 1)).toBeNull();
    expect(shiftDate('yesterday', 1)).toBeNull();
    expect(shiftDate('19000101', -3650)).toBe('18900103');
  });

  it('shifts the date part of DT values and keeps time, fraction and offset', () => {
    expect(shiftDateTime('20240301101011.123456+0100', -1)).toBe('20240229101011.123456+0100');
    expect(shiftDateTime('20240301', -1)).toBe('20240229');
    expect(shiftDateTime('202403', -1)).toBe('202402');
    expect(shiftDateTime('2024', -1)).toBe('2023');
    expect(shiftDateTime('20240301-0500', 1)).toBe('20240302-0500');
    expect(shiftDateTime('20240301-20240302', 1)).toBe('20240302-20240303');
    expect(shiftDateTime('2024030110', 0)).toBe('2024030110');
    expect(shiftDateTime('not a date', 1)).toBeNull();
  });
});

describe('cleanText', () => {
  it('removes dates, long digit runs and e-mail addresses, and keeps the rest', () => {
    expect(cleanText('Seen 03/01/2024 and 1 March 2024, ID 1234567, mail a.b@c.org; 3 mm slices', [])).toBe('Seen and , ID , mail ; 3 mm slices');
    expect(cleanText('T1 3D 1.2mm', [])).toBe('T1 3D 1.2mm');
  });
});
