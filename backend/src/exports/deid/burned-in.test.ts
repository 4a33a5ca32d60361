import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { burnedInRisk } from './burned-in.js';
import { readPart10Dataset } from './part10.js';
import { DATA } from './test-support.js';

const dataset = (rel: string) => readPart10Dataset(readFileSync(join(DATA, rel))).dataset;
const cs = (v: string) => ({ vr: 'CS', Value: [v] });

describe('burnedInRisk', () => {
  it('flags real ultrasound and secondary-capture files, saying why', () => {
    const us = burnedInRisk(dataset('odd-encodings-pydicom/ExplVR_BigEnd.dcm'));
    expect(us.flagged).toBe(true);
    expect(us.reason).toMatch(/Ultrasound Image .*BurnedInAnnotation \(0028,0301\) is absent/);
    for (const rel of [
      'odd-encodings-pydicom/SC_rgb_jpeg_gdcm.dcm',
      'odd-encodings-pydicom/SC_rgb_jpeg_dcmtk.dcm',
      'odd-encodings-pydicom/SC_ybr_full_422_uncompressed.dcm',
      'odd-encodings-pydicom/image_dfl.dcm',
      'odd-encodings-pydicom/chrArab.dcm',
      'odd-encodings-pydicom/JPEG2000.dcm', // NM modality, stored as Secondary Capture
      'odd-multiframe/SC_rgb_rle_2frame.dcm', // the shared data's current copy: Secondary Capture, RLE, modality OT
    ]) {
      const risk = burnedInRisk(dataset(rel));
      expect(risk.flagged, rel).toBe(true);
      expect(risk.reason, rel).toMatch(/Secondary Capture Image \(SOP class 1\.2\.840\.10008\.5\.1\.4\.1\.1\.7\)/);
    }
  });

  it('does not flag CT, MR, SEG or SR', () => {
    for (const rel of [
      'ct-volume-pancreas-tcia/1-050.dcm',
      'mr-brain-t1-ge-refaced-40sl/00092.dcm',
      'seg-dcmqi-ct3slice/seg/liver.dcm',
      'odd-nonimage-dicom/test-SR.dcm',
      'odd-multiframe/philips_enhanced_mr_8frames.dcm',
      'odd-multiframe/legacy_converted_enhanced_ct_3frames.dcm',
    ]) {
      expect(burnedInRisk(dataset(rel)), rel).toEqual({ flagged: false, reason: null });
    }
  });

  it('flags BurnedInAnnotation YES on any modality, and recognizable faces', () => {
    expect(burnedInRisk({ '00080060': cs('CT'), '00280301': cs('YES') })).toEqual({
      flagged: true,
      reason: 'BurnedInAnnotation (0028,0301) is YES: the pixels carry identifying text',
    });
    expect(burnedInRisk({ '00080060': cs('MR'), '00280302': cs('YES') }).flagged).toBe(true);
    expect(burnedInRisk({ '00080060': cs('CT'), '00280301': cs('NO') }).flagged).toBe(false);
  });

  it('still flags ultrasound that says NO, by modality alone, in either dataset form', () => {
    const risk = burnedInRisk({ '00080060': cs('US'), '00280301': cs('NO'), '00080016': { vr: 'UI', Value: [] } });
    expect(risk.flagged).toBe(true);
    expect(risk.reason).toMatch(/modality US \(ultrasound\).*says NO/);
    expect(burnedInRisk({ Modality: 'SC' }).flagged).toBe(true);
    expect(burnedInRisk({ SOPClassUID: '1.2.840.10008.5.1.4.1.1.77.1.1.1' }).reason).toMatch(/Video Endoscopic/);
    expect(burnedInRisk({ Modality: 'CT', BurnedInAnnotation: 'YES' }).flagged).toBe(true);
    expect(burnedInRisk({})).toEqual({ flagged: false, reason: null });
  });
});
