import { describe, expect, it } from 'vitest';
import { deidentificationTable, optionColumns, PRIVATE_ATTRIBUTES_TAG, TABLE_EDITION } from './table.js';
import { deidMethodCodes } from './profile.js';
import { dcmjs } from './dcmjs.js';

const byKeyword = new Map(deidentificationTable.map((r) => [r.keyword, r]));
const row = (keyword: string) => {
  const r = byKeyword.get(keyword);
  if (!r) throw new Error(`no row ${keyword}`);
  return r;
};

describe('Table E.1-1 as data', () => {
  it('has every row of the 2025a edition, each tag once', () => {
    expect(TABLE_EDITION).toBe('2025a');
    expect(deidentificationTable).toHaveLength(631);
    const tags = deidentificationTable.map((r) => r.tag);
    expect(new Set(tags).size).toBe(tags.length);
    const single = tags.filter((t) => /^\([0-9A-F]{4},[0-9A-F]{4}\)$/.test(t));
    expect(single).toHaveLength(627);
    expect(tags.filter((t) => /x/.test(t) && t !== PRIVATE_ATTRIBUTES_TAG).sort()).toEqual(['(50xx,xxxx)', '(60xx,3000)', '(60xx,4000)']);
    expect(tags).toContain(PRIVATE_ATTRIBUTES_TAG);
  });

  it('uses only the action codes of Table E.1-1a', () => {
    const basic = new Set(['D', 'Z', 'X', 'K', 'C', 'U', 'Z/D', 'X/Z', 'X/D', 'X/Z/D', 'X/Z/U*']);
    for (const r of deidentificationTable) {
      expect(basic.has(r.basic), `${r.tag} ${r.basic}`).toBe(true);
      for (const col of optionColumns) if (r[col] !== undefined) expect(['K', 'C']).toContain(r[col]);
      expect(r.name.length).toBeGreaterThan(2);
    }
  });

  it('names each single-tag row with the PS3.6 keyword of its tag (where dcmjs knows the tag)', () => {
    const dict = dcmjs.data.DicomMetaDictionary.dictionary;
    let known = 0;
    for (const r of deidentificationTable) {
      const entry = dict[r.tag];
      if (!/^\([0-9A-F]{4},[0-9A-F]{4}\)$/.test(r.tag) || !entry) continue;
      known += 1;
      expect(entry.name.replace(/^RETIRED_/, ''), r.tag).toBe(r.keyword);
      // The standard's name and the keyword are the same words.
      expect(r.name.replace(/'s\b/g, '').replace(/[^A-Za-z0-9]/g, '').toLowerCase(), r.tag).toBe(r.keyword.toLowerCase());
    }
    expect(known).toBeGreaterThan(600);
  });

  it('says what the standard says for well-known rows', () => {
    expect(row('PatientName')).toMatchObject({ tag: '(0010,0010)', basic: 'Z' });
    expect(row('PatientID')).toMatchObject({ tag: '(0010,0020)', basic: 'Z/D' });
    expect(row('PatientBirthDate')).toMatchObject({ basic: 'Z' });
    expect(row('PatientSex')).toMatchObject({ basic: 'Z', retainPatientCharacteristics: 'K' });
    expect(row('PatientAge')).toMatchObject({ basic: 'X', retainPatientCharacteristics: 'K' });
    expect(row('PatientWeight')).toMatchObject({ basic: 'X', retainPatientCharacteristics: 'K' });
    expect(row('Allergies')).toMatchObject({ basic: 'X', retainPatientCharacteristics: 'C', cleanDescriptors: 'C' });
    expect(row('AccessionNumber')).toMatchObject({ tag: '(0008,0050)', basic: 'Z' });
    expect(row('StudyInstanceUID')).toMatchObject({ basic: 'U', retainUids: 'K' });
    expect(row('FrameOfReferenceUID')).toMatchObject({ basic: 'U', retainUids: 'K' });
    expect(row('ReferencedSOPInstanceUID')).toMatchObject({ basic: 'U', retainUids: 'K' });
    expect(row('SourceImageSequence')).toMatchObject({ basic: 'X/Z/U*', retainUids: 'K' });
    expect(row('ReferencedImageSequence')).toMatchObject({ basic: 'X/Z/U*', retainUids: 'K' });
    expect(row('StudyDate')).toMatchObject({ basic: 'Z', retainLongitudinalFullDates: 'K', retainLongitudinalModifiedDates: 'C' });
    expect(row('SeriesDate')).toMatchObject({ basic: 'X/D', retainLongitudinalModifiedDates: 'C' });
    expect(row('ContentDate')).toMatchObject({ basic: 'Z/D', retainLongitudinalModifiedDates: 'C' });
    expect(row('AcquisitionDateTime')).toMatchObject({ basic: 'X/Z/D', retainLongitudinalModifiedDates: 'C' });
    expect(row('InstitutionName')).toMatchObject({ basic: 'X/Z/D', retainInstitutionIdentity: 'K' });
    expect(row('DeviceSerialNumber')).toMatchObject({ basic: 'X/Z/D', retainDeviceIdentity: 'K' });
    expect(row('StudyDescription')).toMatchObject({ basic: 'X', cleanDescriptors: 'C' });
    expect(row('SeriesDescription')).toMatchObject({ basic: 'X', cleanDescriptors: 'C' });
    expect(row('ContentSequence')).toMatchObject({ basic: 'D', cleanStructuredContent: 'C' });
    expect(row('OverlayData')).toMatchObject({ tag: '(60xx,3000)', basic: 'X', cleanGraphics: 'C' });
    expect(row('CurveData')).toMatchObject({ tag: '(50xx,xxxx)', basic: 'X' });
    expect(deidentificationTable.find((r) => r.tag === PRIVATE_ATTRIBUTES_TAG)).toMatchObject({ basic: 'X', retainSafePrivate: 'C' });
    // Rows new in 2025a.
    expect(row('PrincipalDiagnosisCodeSequence')).toMatchObject({ tag: '(0008,1301)', basic: 'X', cleanDescriptors: 'C' });
    expect(row('EthnicGroupCodeSequence')).toMatchObject({ tag: '(0010,2161)', basic: 'X', retainPatientCharacteristics: 'K' });
  });

  it('codes the methods with CID 7050', () => {
    expect(deidMethodCodes).toEqual({
      basic: { value: '113100', meaning: 'Basic Application Confidentiality Profile' },
      retainLongitudinalModifiedDates: { value: '113107', meaning: 'Retain Longitudinal Temporal Information Modified Dates Option' },
      retainPatientCharacteristics: { value: '113108', meaning: 'Retain Patient Characteristics Option' },
      cleanDescriptors: { value: '113105', meaning: 'Clean Descriptors Option' },
      retainSafePrivate: { value: '113111', meaning: 'Retain Safe Private Option' },
    });
  });
});
