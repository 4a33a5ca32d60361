// dcmjs ships no type declarations; the part used by the de-identifier is typed here.
// @ts-ignore -- untyped module
import dcmjsUntyped from 'dcmjs';

/** A dataset in dcmjs's denaturalized form: 'GGGGEEEE' → { vr, Value }. */
export type DicomDataset = Record<string, unknown>;

type WriteStream = { getBuffer(): ArrayBuffer; size: number };

type DcmjsApi = {
  data: {
    DicomDict: new (meta: DicomDataset) => { meta: DicomDataset; dict: DicomDataset; write(options?: object): ArrayBuffer };
    DicomMessage: {
      readFile(buffer: ArrayBuffer, options?: object): { dict: DicomDataset; meta: DicomDataset };
      write(dict: DicomDataset, stream: WriteStream, syntax: string, options?: object): number;
    };
    WriteBufferStream: new (size?: number, isLittleEndian?: boolean) => WriteStream;
    DicomMetaDictionary: { dictionary: Record<string, { tag: string; vr: string; name: string } | undefined> };
  };
};

export const dcmjs = dcmjsUntyped as unknown as DcmjsApi;
