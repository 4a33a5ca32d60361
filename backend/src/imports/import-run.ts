// One import in progress: stores each instance in Orthanc as soon as it is read, with a
// small bounded concurrency, keeps counters and per-file results, and writes them to the
// database a few times a second so progress can be watched (polling or SSE) and survives
// a page reload.
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BufferList } from 'bl';
import { eq } from 'drizzle-orm';
import { z } from 'zod';
import { importFiles, importJobs, type ImportOutcome } from '../db/schema.js';
import type { AppDeps } from '../lib/context.js';
import type { OrthancStoreAnswer, StudyClaims } from '../studies/study-claims.js';
import type { StoreBody } from '../orthanc/client.js';
import { syncStudy } from '../studies/registry.service.js';
import { fileMetaProblem, FILE_META_PEEK_BYTES } from '../orthanc/file-meta.js';
import { isOrthancConnectionError, OrthancUnavailableError } from '../orthanc/client.js';
import { AppError } from '../lib/errors.js';
import { classifyFile, CLASSIFY_BYTES } from './classify.js';
import { studyUidFromHead } from './study-uid.js';
import { niftiToDicom, type NiftiSeriesForm } from './nifti/nifti-to-dicom.js';
import { NiftiRejection, openNifti } from './nifti/nifti-volume.js';
import { discard, formatBytes, spool, spooledBody, tempPath, TooLargeError, type Spooled } from './spool.js';
import { GrowingFile } from './growing-file.js';
import { liveZipEntries, readZip, ZipRejection, type ZipItem } from './zip-archive.js';

/** Files up to this size are held in memory while they are stored; bigger ones go through a temp file. */
export const MEMORY_FILE_BYTES = 32 * 1024 * 1024;
/** What is kept of each file's start: enough to classify it and to check its File Meta group. */
export const HEAD_BYTES = Math.max(CLASSIFY_BYTES, FILE_META_PEEK_BYTES);

export type ImportCounters = { filesReceived: number; bytesReceived: number; instancesStored: number; duplicates: number; rejected: number; skipped: number };
type FileRow = { name: string; outcome: ImportOutcome; reason: string | null; instances: number; studyInstanceUid: string | null };
type StoreOutcome = { outcome: ImportOutcome; reason: string | null; studyInstanceUid: string | null };

const dicomText = z
  .string()
  .trim()
  .max(64)
  .regex(/^[^\\\u0000-\u001f]*$/, 'must not contain backslashes or control characters');
export const niftiFormSchema = z.object({
  patientName: dicomText.min(1, 'is required'),
  patientId: dicomText.min(1, 'is required'),
  studyDescription: dicomText.min(1, 'is required'),
  modality: z.enum(['CT', 'MR'], { error: 'must be CT or MR' }),
  seriesDescription: dicomText.optional(),
  patientBirthDate: z
    .string()
    .regex(/^(\d{8})?$/, 'must be YYYYMMDD')
    .optional(),
  patientSex: z.enum(['M', 'F', 'O', '']).optional(),
});

/** A counting semaphore: the bound on instances in flight to Orthanc (and files held in memory). */
class Slots {
  private waiting: (() => void)[] = [];
  private free: number;
  constructor(size: number) {
    this.free = size;
  }
  async acquire(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}

function orthancRefusal(status: number, text: string): string {
  let details = '';
  try {
    const body = JSON.parse(text) as { Details?: string; Message?: string };
    details = body.Details || body.Message || '';
  } catch {
    details = text.slice(0, 200);
  }
  if (status === 404 && /inexistent tag/i.test(details)) return 'the file lacks a required DICOM attribute (Patient ID, or the Study, Series or SOP Instance UID)';
  if (/bad file format|invalid DICOM/i.test(details)) return `not a readable DICOM file (corrupt or truncated: ${details})`;
  return `the archive refused it (${status}${details ? `: ${details}` : ''})`;
}

/**
 * One limit on stores to Orthanc shared by every import of a backend: five imports at once
 * once took all of Orthanc's two cores, and the viewers' requests waited seconds behind them.
 */
const storeLimits = new WeakMap<object, Slots>();
function storeSlots(deps: AppDeps): Slots {
  let slots = storeLimits.get(deps.orthanc);
  if (!slots) {
    slots = new Slots(deps.config.imports.storeConcurrency);
    storeLimits.set(deps.orthanc, slots);
  }
  return slots;
}

export class ImportRun {
  readonly counters: ImportCounters = { filesReceived: 0, bytesReceived: 0, instancesStored: 0, duplicates: 0, rejected: 0, skipped: 0 };
  readonly abort = new AbortController();
  /** Set when the run had to stop for a reason the caller must hear (the archive is unreachable). */
  failure: AppError | null = null;
  private readonly slots: Slots;
  private readonly inflight = new Set<Promise<void>>();
  private readonly ownWarnings: string[] = [];
  private readonly touchedStudies = new Set<string>();
  private pendingRows: (FileRow & { seq: number })[] = [];
  private seq: number;
  private dirty = false;
  private flushTimer: NodeJS.Timeout;

  constructor(
    private readonly deps: AppDeps,
    readonly jobId: string,
    private readonly claims: StudyClaims,
    startCounters: ImportCounters,
    startSeq: number,
  ) {
    Object.assign(this.counters, startCounters);
    this.seq = startSeq;
    this.slots = new Slots(deps.config.imports.concurrency);
    this.flushTimer = setInterval(() => this.flush(), 250);
    this.flushTimer.unref();
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  warnings(): string[] {
    return [...this.claims.warnings, ...this.ownWarnings];
  }

  acquire(): Promise<() => void> {
    return this.slots.acquire();
  }

  /** Runs `task` in the background; `idle()` waits for all of them. */
  spawn(task: () => Promise<void>): void {
    const running = task().catch((error: unknown) => {
      this.deps.log.error({ err: error, jobId: this.jobId }, 'import task failed');
    });
    this.inflight.add(running);
    void running.finally(() => this.inflight.delete(running));
  }

  async idle(): Promise<void> {
    while (this.inflight.size) await Promise.allSettled([...this.inflight]);
  }

  record(row: FileRow): void {
    this.counters.filesReceived++;
    if (row.outcome === 'rejected') this.counters.rejected++;
    if (row.outcome === 'skipped') this.counters.skipped++;
    this.pendingRows.push({ ...row, seq: ++this.seq });
    this.dirty = true;
  }

  /**
   * Ends the whole run because the archive cannot be reached: every later file would fail the
   * same way, so the upload stops and the caller is told so (503) instead of a list of rejections.
   */
  failRun(error: AppError): void {
    this.failure ??= error;
    if (!this.abort.signal.aborted) this.abort.abort(error);
  }

  /** Posts one instance to Orthanc and settles whether the caller may keep it. */
  async storeInstance(body: StoreBody, size: number, maybeNotDicom = false): Promise<StoreOutcome> {
    // The whole store, answer read and noted, is one tracked operation, so a claim decision
    // that waits for stores under way also sees what they stored.
    const posted = await this.claims.track(
      (async (): Promise<OrthancStoreAnswer | StoreOutcome> => {
        const releaseStore = await storeSlots(this.deps).acquire();
        try {
          const { statusCode, text } = await this.deps.orthanc.storeInstance(body, { 'content-type': 'application/dicom', 'content-length': String(size) });
          if (statusCode >= 400) {
            if (maybeNotDicom && statusCode === 400) return { outcome: 'skipped', reason: 'not a DICOM file', studyInstanceUid: null };
            return { outcome: 'rejected', reason: orthancRefusal(statusCode, text), studyInstanceUid: null };
          }
          const answer = JSON.parse(text) as OrthancStoreAnswer;
          this.claims.noteStored(answer);
          return answer;
        } catch (error) {
          return this.unreachable(error);
        } finally {
          releaseStore();
        }
      })(),
    );
    if ('outcome' in posted) return posted;
    const answer = posted;
    let access;
    try {
      access = await this.claims.access(answer.ParentStudy);
      if (!access.allowed && answer.Status === 'Success') {
        await this.deps.orthanc.raw('DELETE', `/instances/${answer.ID}`).then((r) => r.body.dump());
        // The registry may have counted it meanwhile (change feed); count again.
        await syncStudy(this.deps, answer.ParentStudy).catch(() => undefined);
      }
    } catch (error) {
      // Stored, but whether it may stay could not be settled: the pending claim keeps its owner.
      return this.unreachable(error, 'it reached the archive, but the archive stopped answering before the study could be registered');
    }
    if (!access.allowed) return { outcome: 'rejected', reason: `refused: ${access.reason}`, studyInstanceUid: null };
    this.touchedStudies.add(answer.ParentStudy);
    if (answer.Status === 'Success') this.counters.instancesStored++;
    else this.counters.duplicates++;
    this.dirty = true;
    return { outcome: answer.Status === 'Success' ? 'stored' : 'duplicate', reason: null, studyInstanceUid: access.studyInstanceUid };
  }

  /** The outcome of a file whose store failed on the way; an unreachable archive ends the run. */
  private unreachable(error: unknown, what = 'the archive could not be reached'): StoreOutcome {
    if (isOrthancConnectionError(error)) {
      this.failRun(error instanceof OrthancUnavailableError ? error : new OrthancUnavailableError((error as Error).message));
      return { outcome: 'rejected', reason: `${what} (${(error as Error).message}); import the file again later`, studyInstanceUid: null };
    }
    return { outcome: 'rejected', reason: `${what} (${(error as Error).message}); import the file again later`, studyInstanceUid: null };
  }

  /**
   * Handles one received file (an upload part or a ZIP entry), then frees its slot.
   * Takes ownership of `spooled` (temp files are removed).
   */
  async processFile(name: string, spooled: Spooled, release: () => void, options: { insideZip: boolean; nifti: Record<string, string> }): Promise<void> {
    let released = false;
    const done = () => {
      if (!released) release();
      released = true;
    };
    try {
      const kind = classifyFile(name, spooled.head);
      switch (kind.kind) {
        case 'empty':
          return this.record({ name, outcome: 'rejected', reason: 'the file is empty', instances: 0, studyInstanceUid: null });
        case 'dicomdir':
          return this.record({ name, outcome: 'skipped', reason: 'a DICOMDIR (an index of files, not an image); the files it lists are imported on their own', instances: 0, studyInstanceUid: null });
        case 'misnamed':
          return this.record({ name, outcome: 'rejected', reason: `${kind.what}`, instances: 0, studyInstanceUid: null });
        case 'not-dicom':
          return this.record({ name, outcome: 'skipped', reason: `not DICOM: ${kind.what}`, instances: 0, studyInstanceUid: null });
        case 'zip':
          if (options.insideZip) return this.record({ name, outcome: 'skipped', reason: 'a ZIP inside a ZIP is not unpacked; upload it on its own', instances: 0, studyInstanceUid: null });
          done(); // entries take their own slots
          return await this.processZip(name, spooled);
        case 'nifti':
          if (options.insideZip) return this.record({ name, outcome: 'skipped', reason: 'a NIfTI volume inside an archive is not converted; import it on its own with the NIfTI form', instances: 0, studyInstanceUid: null });
          done();
          return await this.processNifti(name, spooled, options.nifti);
        case 'dicom':
        case 'maybe-dicom': {
          if (this.failure) return this.record({ name, outcome: 'rejected', reason: `not stored: ${this.failure.message}`, instances: 0, studyInstanceUid: null });
          const metaProblem = fileMetaProblem(spooled.head, spooled.size);
          if (metaProblem) return this.record({ name, outcome: 'rejected', reason: `not a readable DICOM file (${metaProblem})`, instances: 0, studyInstanceUid: null });
          const studyUid = studyUidFromHead(spooled.head);
          if (studyUid) this.claims.prepare(studyUid);
          const result = await this.storeInstance(spooledBody(spooled), spooled.size, kind.kind === 'maybe-dicom');
          return this.record({ name, ...result, instances: result.outcome === 'stored' ? 1 : 0 });
        }
      }
    } catch (error) {
      // Whatever went wrong, the file keeps an outcome: nothing received may vanish from the report.
      if (isOrthancConnectionError(error)) this.failRun(error instanceof OrthancUnavailableError ? error : new OrthancUnavailableError((error as Error).message));
      this.deps.log.error({ err: error, jobId: this.jobId, file: name }, 'import of one file failed');
      this.record({ name, outcome: 'rejected', reason: `it could not be imported (${(error as Error).message})`, instances: 0, studyInstanceUid: null });
    } finally {
      done();
      await discard(spooled);
    }
  }

  private async processZip(name: string, spooled: Spooled): Promise<void> {
    let path: string;
    let ownsPath = false;
    if (spooled.where === 'disk') path = spooled.path;
    else {
      path = tempPath(this.deps.config.tmpDir, '.zip');
      ownsPath = true;
      await pipeline(Readable.from(spooled.data), createWriteStream(path, { mode: 0o600 }));
    }
    try {
      await this.importZipEntries(name, readZip(path, this.deps.config.imports.zip));
    } catch (error) {
      if (!(error instanceof ZipRejection)) throw error;
      this.record({ name, outcome: 'rejected', reason: error.message, instances: 0, studyInstanceUid: null });
    } finally {
      // Entries still being stored read from memory or their own temp files, not the archive.
      if (ownsPath) await rm(path, { force: true });
    }
  }

  /**
   * A ZIP upload part: its entries are stored as they arrive, then the directory at its end is
   * read (from the temp file, which holds what was not stored on the way) for whatever was not,
   * and to refuse an archive over the limits. Resolves once the part is received; the rest runs
   * in the background.
   */
  async receiveZip(name: string, stream: Readable, limit: { maxBytes: number; exceeded: () => boolean }): Promise<void> {
    const file = await GrowingFile.create(tempPath(this.deps.config.tmpDir, '.zip'));
    const filled = file.fill(stream, limit.maxBytes).then((bytes) => {
      if (limit.exceeded()) throw new TooLargeError(`larger than the ${formatBytes(limit.maxBytes)} per-file limit (PD_IMPORT_MAX_FILE_BYTES)`);
      return bytes;
    });
    filled.catch(() => undefined);
    const handled = new Set<number>();
    const live = this.importZipEntries(name, liveZipEntries(file, this.deps.config.imports.zip, this.signal, { keepStoredUpTo: MEMORY_FILE_BYTES }), handled).catch((error: unknown) => {
      // Live reading is only a head start; the directory pass below decides.
      this.deps.log.warn({ err: error, jobId: this.jobId, file: name }, 'reading a ZIP while it arrived failed; falling back to its directory');
    });
    this.spawn(async () => {
      try {
        const size = await filled.then(
          (bytes) => bytes,
          (error: Error) => error,
        );
        await live;
        if (size instanceof Error) {
          const reason = size instanceof TooLargeError ? `the file is ${size.message}` : `the upload of the archive broke off (${size.message})`;
          return this.record({ name, outcome: 'rejected', reason: handled.size ? `${reason}; the ${handled.size} entries received before were imported` : reason, instances: 0, studyInstanceUid: null });
        }
        this.counters.bytesReceived += size;
        try {
          await file.spillRest();
        } catch (error) {
          return this.record({ name, outcome: 'rejected', reason: `the archive could not be kept for reading its directory (${(error as Error).message})${handled.size ? `; the ${handled.size} entries read while it arrived were imported` : ''}`, instances: 0, studyInstanceUid: null });
        }
        try {
          await this.importZipEntries(name, readZip(file.path, this.deps.config.imports.zip, { skipOffsets: handled }));
        } catch (error) {
          if (!(error instanceof ZipRejection)) throw error;
          const reason = handled.size ? `${error.message} (the ${handled.size} entries read while it arrived were imported)` : error.message;
          this.record({ name, outcome: 'rejected', reason, instances: 0, studyInstanceUid: null });
        }
      } finally {
        await file.close();
      }
    });
    await filled.catch(() => undefined);
  }

  /** Stores each entry as its own file, a few at a time; notes which local headers it handled. */
  private async importZipEntries(name: string, items: AsyncIterable<ZipItem>, handled?: Set<number>): Promise<void> {
    for await (const item of items) {
      if (this.signal.aborted) break;
      handled?.add(item.offset);
      const entryName = `${name}!${item.name}`;
      if (!item.ok) {
        this.record({ name: entryName, outcome: item.outcome, reason: item.reason, instances: 0, studyInstanceUid: null });
        continue;
      }
      const release = await this.acquire();
      let entry: Spooled;
      try {
        if (item.stored && item.size <= MEMORY_FILE_BYTES) {
          const data = await item.stored();
          const bytes = new BufferList(data);
          entry = { where: 'memory', data, size: bytes.length, head: bytes.slice(0, Math.min(HEAD_BYTES, bytes.length)) };
        } else entry = await spool(await item.open(), { maxBytes: this.deps.config.imports.zip.maxEntryBytes, memoryBytes: MEMORY_FILE_BYTES, tmpDir: this.deps.config.tmpDir, headBytes: HEAD_BYTES });
      } catch (error) {
        release();
        const reason = error instanceof TooLargeError ? `the entry is ${error.message}` : `the entry is corrupt (${(error as Error).message})`;
        this.record({ name: entryName, outcome: 'rejected', reason, instances: 0, studyInstanceUid: null });
        continue;
      }
      this.spawn(() => this.processFile(entryName, entry, release, { insideZip: true, nifti: {} }));
    }
  }

  private async processNifti(name: string, spooled: Spooled, fields: Record<string, string>): Promise<void> {
    const form = niftiFormSchema.safeParse(fields);
    if (!form.success) {
      const problems = form.error.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ');
      return this.record({ name, outcome: 'rejected', reason: `a NIfTI volume needs patient name, patient ID, study description and modality (CT or MR) sent before it: ${problems}`, instances: 0, studyInstanceUid: null });
    }
    let path: string;
    if (spooled.where === 'disk') path = spooled.path;
    else {
      path = tempPath(this.deps.config.tmpDir, name.toLowerCase().endsWith('.gz') ? '.nii.gz' : '.nii');
      await pipeline(Readable.from(spooled.data), createWriteStream(path, { mode: 0o600 }));
    }
    let volume;
    try {
      volume = await openNifti({ path, tmpDir: this.deps.config.tmpDir, limits: { maxUncompressedBytes: this.deps.config.imports.niftiMaxBytes } });
    } catch (error) {
      if (spooled.where === 'memory') await rm(path, { force: true });
      if (error instanceof NiftiRejection) return this.record({ name, outcome: 'rejected', reason: error.message, instances: 0, studyInstanceUid: null });
      throw error;
    }
    const seriesForm: NiftiSeriesForm = { ...form.data, seriesDescription: form.data.seriesDescription || name.split('/').pop()!.replace(/\.nii(\.gz)?$/i, '') };
    let stored = 0;
    let studyInstanceUid: string | null = null;
    const refusals: string[] = [];
    const slices: Promise<void>[] = [];
    try {
      for await (const instance of niftiToDicom(volume, seriesForm)) {
        if (this.signal.aborted) break;
        const release = await this.acquire();
        slices.push(
          this.storeInstance(instance.part10, instance.part10.length)
            .then((result) => {
              if (result.outcome === 'stored' || result.outcome === 'duplicate') {
                stored++;
                studyInstanceUid = result.studyInstanceUid;
              } else refusals.push(result.reason ?? 'refused');
            })
            .finally(release),
        );
      }
      await Promise.all(slices);
      if (volume.volumes > 1) this.ownWarnings.push(`${name} is a 4-D volume: it became ${volume.volumes} series, one per volume.`);
      if (refusals.length && !stored) this.record({ name, outcome: 'rejected', reason: refusals[0]!, instances: 0, studyInstanceUid: null });
      else this.record({ name, outcome: 'stored', reason: refusals.length ? `${refusals.length} slices were refused: ${refusals[0]}` : null, instances: stored, studyInstanceUid });
    } catch (error) {
      await Promise.allSettled(slices);
      if (!(error instanceof NiftiRejection)) throw error;
      this.record({ name, outcome: 'rejected', reason: error.message, instances: stored, studyInstanceUid });
    } finally {
      await volume.close();
      if (spooled.where === 'memory') await rm(path, { force: true });
    }
  }

  /** Brings the registry's counts for every study this run touched up to date. */
  async resyncStudies(): Promise<void> {
    for (const id of this.touchedStudies) await syncStudy(this.deps, id).catch((error: unknown) => this.deps.log.warn({ err: error, study: id }, 'registry refresh after import failed'));
  }

  /** Writes counters and new per-file rows in one transaction. */
  flush(extra: Partial<typeof importJobs.$inferInsert> = {}): void {
    if (!this.dirty && !Object.keys(extra).length) return;
    this.dirty = false;
    const rows = this.pendingRows;
    this.pendingRows = [];
    const studyUids = [...new Set(rows.map((r) => r.studyInstanceUid).filter((u): u is string => Boolean(u)))];
    this.deps.db.transaction((tx) => {
      const job = tx.select({ studyUids: importJobs.studyUids }).from(importJobs).where(eq(importJobs.id, this.jobId)).get();
      if (!job) return;
      const known = new Set(job.studyUids);
      for (const uid of studyUids) known.add(uid);
      tx.update(importJobs)
        .set({ ...this.counters, warnings: this.warnings().slice(0, 200), studyUids: [...known].slice(0, 1000), updatedAt: new Date(), ...extra })
        .where(eq(importJobs.id, this.jobId))
        .run();
      for (let i = 0; i < rows.length; i += 200) {
        tx.insert(importFiles)
          .values(rows.slice(i, i + 200).map((row) => ({ jobId: this.jobId, ...row, name: row.name.slice(0, 1024), reason: row.reason?.slice(0, 1000) ?? null })))
          .run();
      }
    });
  }

  close(): void {
    clearInterval(this.flushTimer);
  }
}


