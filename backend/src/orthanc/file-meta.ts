// A guard in front of Orthanc's POST /instances. Orthanc 1.10.1 (DCMTK underneath) crashes
// with SIGSEGV on a Part 10 file whose File Meta Information (group 0002) declares an element
// longer than the file, e.g. MR_small.dcm with 0x7fffffff at offset 0x98. Nothing we can call
// checks just that group, so it is walked here by hand: preamble, "DICM", then explicit-VR
// little-endian elements while the group is 0002.

/** How much of a file the check reads; a real File Meta group is a few hundred bytes. */
export const FILE_META_PEEK_BYTES = 64 * 1024;

// VRs whose explicit-VR header has 2 reserved bytes and a 4-byte length (PS3.5 7.1.2).
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

/**
 * Why Orthanc must not be handed this file, or null when its File Meta group is sound (or
 * absent: files without a preamble are left to Orthanc, which reads those safely).
 * `head` is the first min(FILE_META_PEEK_BYTES, size) bytes; `fileSize` is the whole file's
 * size, or null when it is not known yet (a streamed STOW-RS part longer than `head`).
 */
export function fileMetaProblem(head: Buffer, fileSize: number | null): string | null {
  if (head.length < 132 || head.toString('latin1', 128, 132) !== 'DICM') return null;
  const end = fileSize ?? Number.POSITIVE_INFINITY;
  let offset = 132;
  while (offset + 8 <= head.length) {
    const group = head.readUInt16LE(offset);
    if (group !== 0x0002) break;
    const element = head.readUInt16LE(offset + 2);
    const tag = `(0002,${element.toString(16).padStart(4, '0').toUpperCase()})`;
    const vr = head.toString('latin1', offset + 4, offset + 6);
    if (!/^[A-Z]{2}$/.test(vr)) return `the file meta information is malformed: element ${tag} has no valid VR (it must be explicit VR little endian)`;
    let length: number;
    let valueStart: number;
    if (LONG_VRS.has(vr)) {
      if (offset + 12 > head.length) return `the file meta information is malformed: element ${tag} is cut short`;
      length = head.readUInt32LE(offset + 8);
      valueStart = offset + 12;
    } else {
      length = head.readUInt16LE(offset + 6);
      valueStart = offset + 8;
    }
    if (length === 0xffffffff) return `the file meta information is malformed: element ${tag} has an undefined length`;
    const valueEnd = valueStart + length;
    if (valueEnd > end) return `the file meta information is malformed: element ${tag} declares ${length} bytes, past the end of the file`;
    if (valueEnd > head.length) {
      if (head.length >= FILE_META_PEEK_BYTES) return `the file meta information is malformed: element ${tag} declares ${length} bytes, far more than any file meta header holds`;
      return `the file meta information is malformed: element ${tag} declares ${length} bytes, past the end of the file`;
    }
    offset = valueEnd;
  }
  return null;
}
