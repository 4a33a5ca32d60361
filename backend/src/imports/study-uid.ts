import dicomParser from 'dicom-parser';

/**
 * The StudyInstanceUID of a Part 10 file from its first bytes, or null when they do not
 * tell (no preamble, an odd encoding, or the UID lies past them). dicom-parser stops at the
 * tag (a few microseconds; dcmjs takes milliseconds here, a third of an import's time).
 */
export function studyUidFromHead(head: Buffer): string | null {
  if (head.length < 132 || head.toString('latin1', 128, 132) !== 'DICM') return null;
  try {
    const dataSet = dicomParser.parseDicom(new Uint8Array(head.buffer, head.byteOffset, head.length), { untilTag: 'x0020000d' });
    const uid = dataSet.string('x0020000d')?.replace(/\0/g, '').trim();
    return uid && /^[0-9.]{1,64}$/.test(uid) ? uid : null;
  } catch {
    return null;
  }
}
