import type { ImportItem } from './imports';

// What the browser hands over for a drop: `DataTransferItem.webkitGetAsEntry()` entries, which
// reach into dropped folders. Only the few members used here, so tests can stand in for them.

export type FileEntryLike = {
  isFile: true;
  isDirectory: false;
  name: string;
  fullPath: string;
  file: (success: (file: File) => void, failure?: (error: unknown) => void) => void;
};

export type DirectoryReaderLike = { readEntries: (success: (entries: EntryLike[]) => void, failure?: (error: unknown) => void) => void };

export type DirectoryEntryLike = {
  isFile: false;
  isDirectory: true;
  name: string;
  fullPath: string;
  createReader: () => DirectoryReaderLike;
};

export type EntryLike = FileEntryLike | DirectoryEntryLike;

export type Collected = { items: ImportItem[]; unreadable: string[] };

/** The path below the drop: entries' full paths start at a virtual root ("/folder/a.dcm"). */
export function entryPath(entry: { fullPath: string; name: string }): string {
  return entry.fullPath.replace(/^\/+/, '') || entry.name;
}

function readFile(entry: FileEntryLike): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

/** Every entry of a folder: one `readEntries` call answers at most a batch (100 in Chromium), so read until empty. */
async function readAll(directory: DirectoryEntryLike): Promise<EntryLike[]> {
  const reader = directory.createReader();
  const entries: EntryLike[] = [];
  for (;;) {
    const batch = await new Promise<EntryLike[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return entries;
    entries.push(...batch);
  }
}

/** The files under the dropped entries, folders walked depth-first, each with its path relative to the drop. */
export async function collectEntries(entries: EntryLike[]): Promise<Collected> {
  const result: Collected = { items: [], unreadable: [] };
  const visit = async (entry: EntryLike): Promise<void> => {
    if (entry.isDirectory) {
      let children: EntryLike[];
      try {
        children = await readAll(entry);
      } catch {
        result.unreadable.push(`${entryPath(entry)}/`);
        return;
      }
      children.sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
      for (const child of children) await visit(child);
      return;
    }
    try {
      result.items.push({ file: await readFile(entry), path: entryPath(entry) });
    } catch {
      result.unreadable.push(entryPath(entry));
    }
  };
  for (const entry of entries) await visit(entry);
  return result;
}

/**
 * Takes what a drop carries. The entries must be taken while the drop event runs (the browser
 * empties the data transfer afterwards); the folders are read afterwards. Browsers without
 * entries get the plain file list (no folders).
 */
export function takeDrop(dataTransfer: DataTransfer): () => Promise<Collected> {
  const entries: EntryLike[] = [];
  for (const item of Array.from(dataTransfer.items ?? [])) {
    if (item.kind !== 'file') continue;
    const entry = typeof item.webkitGetAsEntry === 'function' ? (item.webkitGetAsEntry() as unknown as EntryLike | null) : null;
    if (entry) entries.push(entry);
  }
  if (entries.length > 0) return () => collectEntries(entries);
  const files = Array.from(dataTransfer.files ?? []);
  return () => Promise.resolve({ items: files.map((file) => ({ file, path: file.name })), unreadable: [] });
}
