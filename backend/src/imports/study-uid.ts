import { dcmjs } from '../exports/deid/dcmjs.js';

/**
 * The StudyInstanceUID of a Part 10 file from its first bytes, or null when they do not
 * tell (no preamble, an odd encoding, or the UID lies past them). dcmjs stops reading at
 * the tag, so this costs a few microseconds, not a parse of the pixels.
 */
export function studyUidFromHead(head: Buffer): string | null {
  if (head.length < 132 || head.toString('latin1', 128, 132) !== 'DICM') return null;
  try {
    const copy = new Uint8Array(head).buffer as ArrayBuffer;
    const file = dcmjs.data.DicomMessage.readFile(copy, { untilTag: '0020000D', includeUntilTagValue: true, noCopy: true });
    const value = (file.dict['0020000D'] as { Value?: unknown[] } | undefined)?.Value?.[0];
    if (typeof value !== 'string') return null;
    const uid = value.replace(/\0/g, '').trim();
    return /^[0-9.]{1,64}$/.test(uid) ? uid : null;
  } catch {
    return null;
  }
}
