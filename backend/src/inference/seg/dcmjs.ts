// dcmjs ships no type declarations; the part used by the SEG writer and its decoder is typed here.
// @ts-ignore -- untyped module
import dcmjsUntyped from 'dcmjs';

/** A dataset in dcmjs's "naturalized" form: keyword → value, sequences as arrays of datasets. */
export type NaturalDataset = Record<string, unknown>;

type DcmjsApi = {
  data: {
    DicomDict: new (meta: object) => { dict: object; write(options?: object): ArrayBuffer };
    DicomMessage: { readFile(buffer: ArrayBuffer, options?: object): { dict: object; meta: object } };
    DicomMetaDictionary: {
      denaturalizeDataset(dataset: NaturalDataset): object;
      naturalizeDataset(dataset: object): NaturalDataset;
    };
    Colors: { rgb2DICOMLAB(rgb: number[]): number[]; dicomlab2RGB(lab: number[]): number[] };
  };
  log: { getLogger(name: string): { setLevel(level: string): void } };
};

export const dcmjs = dcmjsUntyped as unknown as DcmjsApi;

/** The bytes of a Buffer as a standalone ArrayBuffer (no copy when the Buffer spans its whole ArrayBuffer). */
export function arrayBufferOf(buf: Buffer): ArrayBuffer {
  if (buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength && buf.buffer instanceof ArrayBuffer) return buf.buffer;
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
}

/** Reads a Part-10 file into naturalized meta + dataset. */
export function readPart10(buf: Buffer): { meta: NaturalDataset; dataset: NaturalDataset } {
  const message = dcmjs.data.DicomMessage.readFile(arrayBufferOf(buf));
  return {
    meta: dcmjs.data.DicomMetaDictionary.naturalizeDataset(message.meta),
    dataset: dcmjs.data.DicomMetaDictionary.naturalizeDataset(message.dict),
  };
}
