import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sharedData } from '../../test/dicom.js';
import { fileMetaProblem, FILE_META_PEEK_BYTES } from './file-meta.js';

const headOf = (file: Buffer) => file.subarray(0, Math.min(FILE_META_PEEK_BYTES, file.length));
const mrSmall = () => Buffer.from(readFileSync(join(sharedData, 'odd-encodings-pydicom/MR_small.dcm')));

function dicomFilesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return dicomFilesUnder(path);
    return /\.(dcm|DCM)$|^IM|^\d+$/.test(name) ? [path] : [];
  });
}

describe('fileMetaProblem (the guard that keeps Orthanc 1.10.1 from crashing)', () => {
  it('passes every readable DICOM file of the shared test data', () => {
    const files = ['odd-encodings-pydicom', 'ct-volume-pancreas-tcia', 'seg-dcmqi-ct3slice', 'ts-matrix-ct-cornerstone', 'odd-multiframe'].flatMap((d) => dicomFilesUnder(join(sharedData, d)));
    expect(files.length).toBeGreaterThan(30);
    for (const path of files) {
      const file = readFileSync(path);
      expect(fileMetaProblem(headOf(file), file.length), path).toBeNull();
    }
  });

  it('refuses an element whose declared length runs past the end of the file (the crash Orthanc has)', () => {
    const file = mrSmall();
    file.writeUInt32LE(0x7fffffff, 0x98); // (0002,0001) OB: 2 reserved bytes after the VR, then the length
    expect(fileMetaProblem(headOf(file), file.length)).toMatch(/element \(0002,0001\) declares 2147483647 bytes, past the end of the file/);
    // The same with the size unknown (a streamed STOW-RS part longer than the peek).
    expect(fileMetaProblem(headOf(file), null)).toMatch(/element \(0002,0001\) declares 2147483647 bytes/);
  });

  it('refuses an undefined length, a broken VR and a header cut short', () => {
    const undefinedLength = mrSmall();
    undefinedLength.writeUInt32LE(0xffffffff, 0x98);
    expect(fileMetaProblem(headOf(undefinedLength), undefinedLength.length)).toMatch(/undefined length/);
    const badVr = mrSmall();
    badVr.write('\u0001\u0002', 0x90 + 4, 'latin1');
    expect(fileMetaProblem(headOf(badVr), badVr.length)).toMatch(/no valid VR/);
    const cut = mrSmall().subarray(0, 0x9a);
    expect(fileMetaProblem(cut, cut.length)).toMatch(/cut short/);
  });

  it('leaves files without a preamble to Orthanc (it reads those safely)', () => {
    const file = readFileSync(join(sharedData, 'odd-encodings-pydicom/ExplVR_LitEndNoMeta.dcm'));
    expect(fileMetaProblem(headOf(file), file.length)).toBeNull();
    expect(fileMetaProblem(Buffer.from('not dicom at all'), 16)).toBeNull();
  });
});
