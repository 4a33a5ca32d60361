import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sharedData } from '../../test/dicom.js';
import { dcmjs } from '../exports/deid/dcmjs.js';
import { studyUidFromHead } from './study-uid.js';

describe('studyUidFromHead', () => {
  it('reads the StudyInstanceUID dcmjs reads from the whole file, from the first 64 KiB of each shared test file', () => {
    const dirs = ['odd-encodings-pydicom', 'ct-volume-pancreas-tcia', 'seg-dcmqi-ct3slice', 'odd-multiframe'];
    let checked = 0;
    for (const dir of dirs) {
      for (const name of readdirSync(join(sharedData, dir)).filter((n) => n.endsWith('.dcm'))) {
        const file = readFileSync(join(sharedData, dir, name));
        let expected: string | null = null;
        try {
          const parsed = dcmjs.data.DicomMessage.readFile(new Uint8Array(file).buffer as ArrayBuffer, { ignoreErrors: true });
          expected = ((parsed.dict['0020000D'] as { Value?: string[] } | undefined)?.Value?.[0] ?? null)?.replace(/\0/g, '').trim() ?? null;
        } catch {
          expected = null;
        }
        const found = studyUidFromHead(file.subarray(0, 65536));
        // Null is allowed (the caller then skips the pending claim); a wrong UID never is.
        if (found !== null) {
          expect(found, `${dir}/${name}`).toBe(expected);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(25);
  });

  it('says null for what is not a Part 10 file or is cut before the UID', () => {
    expect(studyUidFromHead(Buffer.from('hello'))).toBeNull();
    const file = readFileSync(join(sharedData, 'ct-volume-pancreas-tcia', readdirSync(join(sharedData, 'ct-volume-pancreas-tcia')).find((n) => n.endsWith('.dcm'))!));
    expect(studyUidFromHead(file.subarray(0, 300))).toBeNull();
  });
});
