import { describe, expect, it } from 'vitest';
import { collectEntries, entryPath, type DirectoryEntryLike, type EntryLike, type FileEntryLike } from './fileDrop';

// Stand-ins for the browser's FileSystemEntry objects.
function fileEntry(fullPath: string, content = 'x', unreadable = false): FileEntryLike {
  const name = fullPath.split('/').pop()!;
  return {
    isFile: true,
    isDirectory: false,
    name,
    fullPath,
    file: (success, failure) => (unreadable ? failure?.(new Error('NotReadableError')) : success(new File([content], name))),
  };
}

/** A folder whose reader answers in batches of `batchSize`, as Chromium does (100 at a time). */
function dirEntry(fullPath: string, children: EntryLike[], batchSize = 100): DirectoryEntryLike {
  return {
    isFile: false,
    isDirectory: true,
    name: fullPath.split('/').pop()!,
    fullPath,
    createReader: () => {
      let offset = 0;
      return {
        readEntries: (success) => {
          const batch = children.slice(offset, offset + batchSize);
          offset += batch.length;
          setTimeout(() => success(batch), 0);
        },
      };
    },
  };
}

describe('entryPath', () => {
  it('drops the virtual root of a drop', () => {
    expect(entryPath({ fullPath: '/ct/1-046.dcm', name: '1-046.dcm' })).toBe('ct/1-046.dcm');
    expect(entryPath({ fullPath: '', name: 'a.dcm' })).toBe('a.dcm');
  });
});

describe('collectEntries', () => {
  it('walks dropped folders recursively, keeping relative paths', async () => {
    const tree = dirEntry('/study', [fileEntry('/study/b.dcm'), dirEntry('/study/series 2', [fileEntry('/study/series 2/c.dcm', 'abc')]), fileEntry('/study/a.dcm')]);
    const { items, unreadable } = await collectEntries([tree, fileEntry('/loose.zip')]);
    expect(items.map((i) => i.path)).toEqual(['study/a.dcm', 'study/b.dcm', 'study/series 2/c.dcm', 'loose.zip']);
    expect(items[2]!.file.size).toBe(3);
    expect(unreadable).toEqual([]);
  });

  it('keeps reading a folder until the reader answers an empty batch', async () => {
    const children = Array.from({ length: 250 }, (_, i) => fileEntry(`/big/${i}.dcm`));
    const { items } = await collectEntries([dirEntry('/big', children, 100)]);
    expect(items).toHaveLength(250);
    // In natural order, so 2.dcm comes before 10.dcm.
    expect(items.slice(0, 3).map((i) => i.path)).toEqual(['big/0.dcm', 'big/1.dcm', 'big/2.dcm']);
  });

  it('lists files it could not read instead of failing the drop', async () => {
    const { items, unreadable } = await collectEntries([fileEntry('/ok.dcm'), fileEntry('/locked.dcm', 'x', true)]);
    expect(items.map((i) => i.path)).toEqual(['ok.dcm']);
    expect(unreadable).toEqual(['locked.dcm']);
  });
});
