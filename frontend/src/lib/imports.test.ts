import { describe, expect, it } from 'vitest';
import type { ImportCounters, ImportJob, NiftiFields } from '../api/types';
import {
  batchItems,
  byPath,
  buildImportForm,
  counterItems,
  countersText,
  dateInputToDicom,
  dicomDateToInput,
  defaultGroupId,
  emptyNiftiFields,
  formatBytes,
  importFormParts,
  importLabel,
  isActiveImport,
  isNiftiName,
  isZipName,
  mayImport,
  mergeItems,
  newerJob,
  niftiFieldEntries,
  niftiProblems,
  outcomeFilter,
  pickedPath,
  progressPercent,
  selectionText,
  sentBytes,
  summarizeSelection,
  toDicomPersonName,
} from './imports';

const MB = 1024 * 1024;
const sized = (path: string, size: number) => ({ path, file: { size } });
const item = (path: string, text = 'x') => ({ path, file: new Blob([text]) });

const counters = (change: Partial<ImportCounters> = {}): ImportCounters => ({
  filesReceived: 0,
  bytesReceived: 0,
  instancesStored: 0,
  duplicates: 0,
  rejected: 0,
  skipped: 0,
  ...change,
});

const job = (change: Partial<ImportJob> = {}): ImportJob => ({
  id: 'j1',
  ownerGroup: { id: 'g1', name: 'Radiology' },
  createdBy: { id: 'u1', email: 'a@b.c' },
  status: 'open',
  createdAt: '2025-01-01T10:00:00.000Z',
  updatedAt: '2025-01-01T10:00:00.000Z',
  finishedAt: null,
  error: null,
  counters: counters(),
  warnings: [],
  studies: [],
  ...change,
});

const nifti: NiftiFields = {
  ...emptyNiftiFields,
  patientName: 'Doe, John',
  patientId: 'P1',
  studyDescription: 'Brain',
  modality: 'MR',
};

describe('who may import', () => {
  it('follows the study.import action: researchers and admins, not radiologists', () => {
    expect(mayImport('admin')).toBe(true);
    expect(mayImport('researcher')).toBe(true);
    expect(mayImport('radiologist')).toBe(false);
  });
});

describe('file names', () => {
  it('recognises NIfTI volumes and ZIP archives by name, in any case', () => {
    expect(isNiftiName('brain.nii')).toBe(true);
    expect(isNiftiName('dir/Brain.NII.GZ')).toBe(true);
    expect(isNiftiName('brain.nii.zip')).toBe(false);
    expect(isNiftiName('notes.nii.txt')).toBe(false);
    expect(isNiftiName('1-046.dcm')).toBe(false);
    expect(isZipName('export.ZIP')).toBe(true);
    expect(isZipName('zip.dcm')).toBe(false);
  });

  it('keeps the folder path of a picked folder, and the bare name of a picked file', () => {
    expect(pickedPath({ name: 'a.dcm', webkitRelativePath: 'ct/series/a.dcm' })).toBe('ct/series/a.dcm');
    expect(pickedPath({ name: 'a.dcm', webkitRelativePath: '' })).toBe('a.dcm');
    expect(pickedPath({ name: 'a.dcm' })).toBe('a.dcm');
  });

  it('orders files by path, numbers as numbers', () => {
    expect(byPath([item('s/10.dcm'), item('s/2.dcm'), item('a.zip'), item('s/1.dcm')]).map((i) => i.path)).toEqual(['a.zip', 's/1.dcm', 's/2.dcm', 's/10.dcm']);
  });

  it('replaces a file chosen twice in place, and keeps the others in order', () => {
    const merged = mergeItems([item('a', '1'), item('b')], [item('c'), item('a', '22')]);
    expect(merged.map((i) => i.path)).toEqual(['a', 'b', 'c']);
    expect(merged[0]!.file.size).toBe(2);
  });
});

describe('batchItems', () => {
  it('cuts at 100 files', () => {
    const items = Array.from({ length: 250 }, (_, i) => sized(`f${i}`, 10));
    expect(batchItems(items).map((b) => b.length)).toEqual([100, 100, 50]);
  });

  it('cuts before a file that would pass 64 MB, and sends a larger file on its own', () => {
    const items = [sized('a', 30 * MB), sized('b', 30 * MB), sized('c', 10 * MB), sized('huge', 200 * MB), sized('d', 1)];
    expect(batchItems(items).map((b) => b.map((i) => i.path))).toEqual([['a', 'b'], ['c'], ['huge'], ['d']]);
  });

  it('fills a batch exactly to the limit and keeps the order', () => {
    const items = [sized('a', 32 * MB), sized('b', 32 * MB), sized('c', 1)];
    expect(batchItems(items).map((b) => b.map((i) => i.path))).toEqual([['a', 'b'], ['c']]);
    expect(batchItems(items, 2, 100 * MB).map((b) => b.map((i) => i.path))).toEqual([['a', 'b'], ['c']]);
    expect(batchItems([])).toEqual([]);
  });
});

describe('selection summary', () => {
  it('counts files, bytes, archives and NIfTI volumes', () => {
    const summary = summarizeSelection([item('a.dcm', 'abc'), item('b.zip'), item('brain.nii.gz')]);
    expect(summary).toEqual({ files: 3, bytes: 5, nifti: 1, zips: 1 });
    expect(selectionText(summary)).toBe('3 files (5 B), 1 ZIP archive, 1 NIfTI volume');
    expect(selectionText({ files: 1, bytes: 2048, nifti: 0, zips: 0 })).toBe('1 file (2 KB)');
  });

  it('names the job after the one folder, the one file, or the count', () => {
    expect(importLabel([{ path: 'ct/a.dcm' }, { path: 'ct/sub/b.dcm' }])).toBe('ct/ (2 files)');
    expect(importLabel([{ path: 'a.zip' }])).toBe('a.zip');
    expect(importLabel([{ path: 'ct/a.dcm' }, { path: 'b.dcm' }])).toBe('2 files');
    expect(importLabel([])).toBe('');
  });
});

describe('formatBytes', () => {
  it('uses binary units with one decimal below ten', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KB');
    expect(formatBytes(11 * MB + 200_000)).toBe('11 MB');
    expect(formatBytes(64 * MB)).toBe('64 MB');
    expect(formatBytes(3 * 1024 * MB)).toBe('3 GB');
    expect(formatBytes(Number.NaN)).toBe('0 B');
  });
});

describe('progress', () => {
  it('is a whole percent, clamped, and complete when there is nothing to send', () => {
    expect(progressPercent(0, 200)).toBe(0);
    expect(progressPercent(199, 200)).toBe(99);
    expect(progressPercent(250, 200)).toBe(100);
    expect(progressPercent(0, 0)).toBe(100);
  });

  it('adds the current batch’s share of its file bytes to the finished batches', () => {
    expect(sentBytes(1000, 400, 55, 110)).toBe(1200);
    expect(sentBytes(1000, 400, 0, 0)).toBe(1000);
    expect(sentBytes(0, 400, 500, 110)).toBe(400);
  });
});

describe('NIfTI form', () => {
  it('requires patient name, ID, study description and a modality of CT or MR', () => {
    expect(niftiProblems(emptyNiftiFields)).toEqual({
      patientName: 'Enter the patient name.',
      patientId: 'Enter the patient ID.',
      studyDescription: 'Enter the study description.',
      modality: 'Choose the modality: CT or MR.',
    });
    expect(niftiProblems(nifti)).toEqual({});
  });

  it('refuses values DICOM cannot hold', () => {
    expect(niftiProblems({ ...nifti, patientId: 'x'.repeat(65) }).patientId).toMatch(/at most 64/);
    expect(niftiProblems({ ...nifti, seriesDescription: 'a\\b' }).seriesDescription).toMatch(/backslash/);
    expect(niftiProblems({ ...nifti, patientBirthDate: '2020-01-01' }).patientBirthDate).toBeDefined();
    expect(niftiProblems({ ...nifti, patientBirthDate: '20200101', patientSex: 'F' })).toEqual({});
  });

  it('writes a typed name as a DICOM person name', () => {
    expect(toDicomPersonName('  Doe,   John ')).toBe('Doe^John');
    expect(toDicomPersonName('DOE^JANE')).toBe('DOE^JANE');
    expect(toDicomPersonName('Anonymous 7')).toBe('Anonymous 7');
    expect(toDicomPersonName('van der Berg, Anna Maria')).toBe('van der Berg^Anna Maria');
  });

  it('turns a date input into a DICOM date and back', () => {
    expect(dicomDateToInput('19800229')).toBe('1980-02-29');
    expect(dicomDateToInput('1980')).toBe('');
    expect(dateInputToDicom('1980-02-29')).toBe('19800229');
    expect(dateInputToDicom('')).toBe('');
    expect(dateInputToDicom('29/02/1980')).toBe('');
  });

  it('sends the required fields in a fixed order and leaves out blank optional ones', () => {
    expect(niftiFieldEntries(nifti)).toEqual([
      ['patientName', 'Doe^John'],
      ['patientId', 'P1'],
      ['studyDescription', 'Brain'],
      ['modality', 'MR'],
    ]);
    expect(niftiFieldEntries({ ...nifti, seriesDescription: ' T1 ', patientBirthDate: '19800229', patientSex: 'M' }).slice(4)).toEqual([
      ['seriesDescription', 'T1'],
      ['patientBirthDate', '19800229'],
      ['patientSex', 'M'],
    ]);
  });
});

describe('the upload request', () => {
  it('puts the NIfTI fields right before the first NIfTI file, and nowhere else', () => {
    const parts = importFormParts([{ path: 'a.dcm' }, { path: 'b.nii.gz' }, { path: 'c.dcm' }, { path: 'd.nii' }], nifti);
    expect(parts.map((p) => (p.kind === 'field' ? `${p.name}=${p.value}` : p.item.path))).toEqual([
      'a.dcm',
      'patientName=Doe^John',
      'patientId=P1',
      'studyDescription=Brain',
      'modality=MR',
      'b.nii.gz',
      'c.dcm',
      'd.nii',
    ]);
  });

  it('sends no fields in a batch without NIfTI files, or without NIfTI values', () => {
    expect(importFormParts([{ path: 'a.dcm' }, { path: 'b.zip' }], nifti).every((p) => p.kind === 'file')).toBe(true);
    expect(importFormParts([{ path: 'b.nii' }], null).every((p) => p.kind === 'file')).toBe(true);
  });

  it('builds multipart parts named "file" with the relative path as file name', () => {
    const form = buildImportForm([item('ct/a.dcm', 'abc'), item('vol/b.nii')], nifti);
    const entries = [...form.entries()];
    expect(entries.map(([name]) => name)).toEqual(['file', 'patientName', 'patientId', 'studyDescription', 'modality', 'file']);
    const first = entries[0]![1] as File;
    expect(first.name).toBe('ct/a.dcm');
    expect(first.size).toBe(3);
    expect((entries[5]![1] as File).name).toBe('vol/b.nii');
    expect(entries[1]![1]).toBe('Doe^John');
  });
});

describe('job reports', () => {
  it('knows which statuses still change', () => {
    expect(isActiveImport('open')).toBe(true);
    expect(isActiveImport('processing')).toBe(true);
    expect(isActiveImport('completed')).toBe(false);
    expect(isActiveImport('cancelled')).toBe(false);
    expect(isActiveImport('failed')).toBe(false);
  });

  it('keeps the later report of a job, whatever order they arrive in', () => {
    const early = job({ updatedAt: '2025-01-01T10:00:01.000Z', counters: counters({ filesReceived: 5 }) });
    const late = job({ updatedAt: '2025-01-01T10:00:02.000Z', status: 'completed' });
    expect(newerJob(null, early)).toBe(early);
    expect(newerJob(early, late)).toBe(late);
    expect(newerJob(late, early)).toBe(late);
    const same = job({ updatedAt: late.updatedAt, status: 'completed', warnings: ['w'] });
    expect(newerJob(late, same)).toBe(same);
    const other = job({ id: 'j2', updatedAt: '2020-01-01T00:00:00.000Z' });
    expect(newerJob(late, other)).toBe(other);
  });

  it('lists the counters with names for test ids and tones that flag problems', () => {
    const items = counterItems(counters({ filesReceived: 22, instancesStored: 20, skipped: 2 }));
    expect(items.map((c) => [c.name, c.label, c.value])).toEqual([
      ['filesReceived', 'Files read', 22],
      ['instancesStored', 'Instances stored', 20],
      ['duplicates', 'Duplicates', 0],
      ['rejected', 'Rejected', 0],
      ['skipped', 'Skipped', 2],
    ]);
    expect(items.find((c) => c.name === 'skipped')!.tone).toBe('warn');
    expect(counterItems(counters({ rejected: 1 })).find((c) => c.name === 'rejected')!.tone).toBe('bad');
  });

  it('sums a job up in one line', () => {
    expect(countersText(counters({ filesReceived: 22, instancesStored: 20, skipped: 2 }))).toBe('20 stored, 2 skipped');
    expect(countersText(counters({ filesReceived: 20, duplicates: 20 }))).toBe('20 duplicates');
    expect(countersText(counters({ filesReceived: 1, duplicates: 1 }))).toBe('1 duplicate');
    expect(countersText(counters({ filesReceived: 3 }))).toBe('3 files read, nothing stored');
    expect(countersText(counters())).toBe('Nothing received yet');
  });

  it('shows rejected files first unless the address asks for another outcome', () => {
    expect(outcomeFilter(null, counters({ rejected: 2 }))).toBe('rejected');
    expect(outcomeFilter(null, counters())).toBe('all');
    expect(outcomeFilter(null, null)).toBe('all');
    expect(outcomeFilter('all', counters({ rejected: 2 }))).toBe('all');
    expect(outcomeFilter('duplicate', counters())).toBe('duplicate');
    expect(outcomeFilter('bogus', counters())).toBe('all');
  });
});

describe('defaultGroupId', () => {
  const a = { id: 'a', name: 'Alpha' };
  const b = { id: 'b', name: 'Beta' };
  it("takes the user's first group that is offered, else the first offered", () => {
    expect(defaultGroupId([b, a], [a, b])).toBe('b');
    expect(defaultGroupId([], [a, b])).toBe('a');
    expect(defaultGroupId([{ id: 'gone', name: 'Gone' }], [b])).toBe('b');
    expect(defaultGroupId([], [])).toBe('');
  });
});
