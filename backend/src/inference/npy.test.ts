import { describe, expect, it } from 'vitest';
import { readNpy } from './npy.js';

function npy(descr: string, shape: number[], data: Buffer, major = 1): Buffer {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pre = major === 1 ? 10 : 12;
  while ((pre + header.length + 1) % 64) header += ' ';
  header += '\n';
  const head = Buffer.alloc(pre);
  head.writeUInt8(0x93, 0);
  head.write('NUMPY', 1, 'latin1');
  head.writeUInt8(major, 6);
  if (major === 1) head.writeUInt16LE(header.length, 8);
  else head.writeUInt32LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), data]);
}

describe('readNpy', () => {
  it('reads float32 and float64 arrays with their shape', () => {
    const f32 = Buffer.from(new Float32Array([1.5, -1024, 3]).buffer);
    expect(readNpy(npy('<f4', [1, 1, 3, 1], f32))).toEqual({ shape: [1, 1, 3, 1], values: new Float32Array([1.5, -1024, 3]) });
    const f64 = Buffer.from(new Float64Array([0.25, 7]).buffer);
    expect(Array.from(readNpy(npy('<f8', [2], f64, 2)).values)).toEqual([0.25, 7]);
  });

  it('refuses what it cannot read', () => {
    expect(() => readNpy(Buffer.from('not numpy at all'))).toThrow(/not a NumPy/);
    expect(() => readNpy(npy('<i2', [2], Buffer.alloc(4)))).toThrow(/unexpected .npy data type <i2/);
  });
});
