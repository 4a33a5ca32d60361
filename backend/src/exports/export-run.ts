// Builds one export ZIP into a temp file, streamed: instances are fetched from Orthanc a few
// ahead within a byte budget, de-identified if asked, and appended (hashed on the way) only as
// fast as the file takes them, so memory stays bounded whatever the export's size. An instance
// larger than the budget goes from Orthanc's response straight into the archive. ZIP64 when needed.
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { join } from 'node:path';
import { and, eq, inArray } from 'drizzle-orm';
import { writeAudit } from '../audit/audit.service.js';
import { exportJobs, exportLedger, groups, pseudonyms, segmentationResults, segments, series, studies, type ExportOptions } from '../db/schema.js';
import type { AppDeps } from '../lib/context.js';
import { channelValues, SeriesReadError, seriesSlices } from '../inference/volume/orthanc-series.js';
import { buildGrid, niftiFromLabels, niftiFromVolume, VolumeError, type VolumeGrid } from '../inference/volume/volume.js';
import { decodeSeg } from '../inference/seg/decode.js';
import { tempPath } from '../imports/spool.js';
import { isOrthancConnectionError, OrthancUnavailableError } from '../orthanc/client.js';
import { burnedInRisk, deidentifyPart10Parts, type DeidContext, type DeidOption } from './deid/deidentify.js';
import { ExportZip, type EntrySource, type FileEntry } from './export-zip.js';
import { loadAhead, type AheadLimits } from './load-ahead.js';

export const MANIFEST_SCHEMA_VERSION = 1;
/**
 * Instances fetched ahead of the one being appended, and the bytes they may hold together.
 * Each is read whole as soon as Orthanc answers rather than streamed at the disk's pace: Orthanc
 * closes a connection idle for 1 s after it sent the answer, and undici then fails a response
 * whose parser backpressure had paused ("other side closed"), so an answer must not wait. Only
 * an instance larger than the budget is streamed, alone (nothing else waits meanwhile).
 */
const FETCH_AHEAD: AheadLimits = { maxAhead: 4, maxHeldBytes: 32 * 1024 * 1024 };
/** How often the job row is read to notice a cancellation. */
const CANCEL_CHECK_MS = 250;

type StudyRow = typeof studies.$inferSelect;
type SeriesRow = typeof series.$inferSelect;
/** An instance of a series as Orthanc lists it: its id and its file's size (to budget memory). */
type InstanceFile = { id: string; fileSize: number };

/** Keeps file and folder names portable and free of separators. */
const safe = (text: string, fallback: string) => (text.replace(/[^\w.-]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 60) || fallback);
const pad = (n: number) => String(n).padStart(4, '0');

class ExportCancelled extends Error {}

/** The stable pseudonym and date offset of a patient within a group, created on first export. */
export function pseudonymFor(deps: AppDeps, groupId: string, patientKey: string): { pseudonym: string; dateOffsetDays: number } {
  const found = deps.db.select().from(pseudonyms).where(and(eq(pseudonyms.groupId, groupId), eq(pseudonyms.patientKey, patientKey))).get();
  if (found) return found;
  for (;;) {
    const candidate = { groupId, patientKey, pseudonym: `PD-${randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`, dateOffsetDays: -(1 + Math.floor(Math.random() * 3650)) };
    const inserted = deps.db.insert(pseudonyms).values(candidate).onConflictDoNothing().run();
    if (inserted.changes) return candidate;
    const raced = deps.db.select().from(pseudonyms).where(and(eq(pseudonyms.groupId, groupId), eq(pseudonyms.patientKey, patientKey))).get();
    if (raced) return raced;
  }
}

function shiftDate(date: string, days: number): string {
  if (!/^\d{8}$/.test(date)) return '';
  const d = new Date(Date.UTC(Number(date.slice(0, 4)), Number(date.slice(4, 6)) - 1, Number(date.slice(6, 8))));
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10).replace(/-/g, '');
}

export async function runExport(deps: AppDeps, exportId: string): Promise<void> {
  const job = deps.db.select().from(exportJobs).where(eq(exportJobs.id, exportId)).get();
  if (!job) return;
  const options: ExportOptions = job.options;
  const zip = new ExportZip(tempPath(join(deps.config.tmpDir, 'exports'), '.zip'));
  const progress = { instancesDone: 0, filesWritten: 0 };
  const flush = () =>
    deps.db
      .update(exportJobs)
      .set({ instancesDone: progress.instancesDone, filesWritten: progress.filesWritten, bytesWritten: zip.bytesProduced, updatedAt: new Date() })
      .where(eq(exportJobs.id, exportId))
      .run();
  const timer = setInterval(flush, 300);
  timer.unref();
  const cancelledNow = () => deps.db.select({ status: exportJobs.status }).from(exportJobs).where(eq(exportJobs.id, exportId)).get()?.status === 'cancelled';
  let cancelCheckedAt = Date.now();
  const throwIfCancelled = () => {
    if (Date.now() - cancelCheckedAt < CANCEL_CHECK_MS) return;
    cancelCheckedAt = Date.now();
    if (cancelledNow()) throw new ExportCancelled();
  };

  const files: FileEntry[] = [];
  const append = async (name: string, source: EntrySource, appendOptions: { gzip?: boolean } = {}): Promise<FileEntry> => {
    const entry = await zip.append(name, source, appendOptions).catch((error: unknown) => {
      throw namingOrthanc(error);
    });
    files.push(entry);
    progress.filesWritten++;
    return entry;
  };

  try {
    const studyRows = deps.db.select().from(studies).where(inArray(studies.studyInstanceUid, job.studyUids)).all();
    const seriesRows = deps.db.select().from(series).where(inArray(series.studyInstanceUid, job.studyUids)).all();
    const uidMap = new Map<string, string>();
    const mapUid = (uid: string) => {
      let mapped = uidMap.get(uid);
      if (!mapped) {
        mapped = `2.25.${BigInt(`0x${randomUUID().replace(/-/g, '')}`).toString()}`;
        uidMap.set(uid, mapped);
      }
      return mapped;
    };
    const flagged: { seriesInstanceUid: string; reason: string; excluded: boolean }[] = [];
    const seriesInstances = new Map<string, InstanceFile[]>();
    for (const s of seriesRows) {
      // The same order as /series/{id}'s Instances, with each file's size.
      const listed = await deps.orthanc.json<{ ID: string; FileSize?: number }[]>('GET', `/series/${s.orthancId}/instances`);
      // Size unknown: treated as large (streamed, alone).
      const instances = listed.map((i) => ({ id: i.ID, fileSize: i.FileSize ?? FETCH_AHEAD.maxHeldBytes + 1 }));
      seriesInstances.set(s.seriesInstanceUid, instances);
      const first = instances[0] ? await deps.orthanc.json<Record<string, string | undefined>>('GET', `/instances/${instances[0].id}/simplified-tags`) : {};
      const risk = burnedInRisk({
        '00280301': { vr: 'CS', Value: first.BurnedInAnnotation ? [first.BurnedInAnnotation] : [] },
        '00080060': { vr: 'CS', Value: [s.modality] },
        '00080016': { vr: 'UI', Value: first.SOPClassUID ? [first.SOPClassUID] : [] },
      });
      if (risk.flagged) flagged.push({ seriesInstanceUid: s.seriesInstanceUid, reason: risk.reason ?? 'may show burned-in text', excluded: options.deidentify && !options.includeBurnedIn });
    }
    const excluded = new Set(flagged.filter((f) => f.excluded).map((f) => f.seriesInstanceUid));
    const total = seriesRows.filter((s) => !excluded.has(s.seriesInstanceUid)).reduce((n, s) => n + (seriesInstances.get(s.seriesInstanceUid)?.length ?? 0), 0);
    deps.db.update(exportJobs).set({ instancesTotal: total, flagged, updatedAt: new Date() }).where(eq(exportJobs.id, exportId)).run();

    const manifestPatients = new Map<string, { patientId: string; patientName: string; studies: unknown[] }>();
    const perGroup = new Map<string, { studies: number; instances: number; bytes: number }>();
    const segmentationManifest: unknown[] = [];
    const grids = new Map<string, VolumeGrid>();
    let studyIndex = 0;

    for (const study of studyRows.sort((a, b) => a.studyDate.localeCompare(b.studyDate) || a.studyInstanceUid.localeCompare(b.studyInstanceUid))) {
      studyIndex++;
      const pseudo = options.deidentify ? pseudonymFor(deps, study.ownerGroupId, study.patientKey ?? study.patientId) : null;
      const context: DeidContext | null = pseudo
        ? {
            options: new Set(options.deidOptions as DeidOption[]),
            mapUid,
            pseudonym: { patientName: pseudo.pseudonym, patientId: pseudo.pseudonym },
            dateOffsetDays: pseudo.dateOffsetDays,
            identifyingValues: [study.patientName, study.patientId, study.accessionNumber].filter((v) => v && v.length > 2),
          }
        : null;
      const keepDates = !pseudo || options.deidOptions.includes('retainLongitudinalModifiedDates');
      const patientFolder = pseudo ? pseudo.pseudonym : safe(study.patientId, 'patient');
      const studyFolder = pseudo ? `study-${studyIndex}` : `${safe(study.studyDate, 'nodate')}_${safe(study.studyDescription, study.studyInstanceUid.slice(-12))}`;
      const studyEntry = {
        studyInstanceUid: pseudo ? mapUid(study.studyInstanceUid) : study.studyInstanceUid,
        studyDate: pseudo ? (keepDates ? shiftDate(study.studyDate, pseudo.dateOffsetDays) : '') : study.studyDate,
        studyDescription: pseudo ? '' : study.studyDescription,
        accessionNumber: pseudo ? '' : study.accessionNumber,
        series: [] as unknown[],
      };
      const groupTotals = perGroup.get(study.ownerGroupId) ?? { studies: 0, instances: 0, bytes: 0 };
      groupTotals.studies++;
      const studySeries = seriesRows.filter((s) => s.studyInstanceUid === study.studyInstanceUid).sort((a, b) => (a.seriesNumber ?? 0) - (b.seriesNumber ?? 0) || a.seriesInstanceUid.localeCompare(b.seriesInstanceUid));
      let seriesIndex = 0;
      for (const s of studySeries) {
        seriesIndex++;
        const flag = flagged.find((f) => f.seriesInstanceUid === s.seriesInstanceUid);
        const seriesFolder = pseudo ? `series-${seriesIndex}_${safe(s.modality, 'OT')}` : `${s.seriesNumber ?? seriesIndex}_${safe(s.modality, 'OT')}_${safe(s.seriesDescription, 'series')}`;
        const seriesEntry = {
          seriesInstanceUid: pseudo ? mapUid(s.seriesInstanceUid) : s.seriesInstanceUid,
          modality: s.modality,
          seriesNumber: s.seriesNumber,
          seriesDescription: pseudo ? '' : s.seriesDescription,
          instanceCount: 0,
          burnedInRisk: flag ? { reason: flag.reason, excluded: flag.excluded } : null,
          files: [] as FileEntry[],
          nifti: null as FileEntry | { skipped: string } | null,
        };
        (studyEntry.series as unknown[]).push(seriesEntry);
        if (excluded.has(s.seriesInstanceUid)) continue;
        const instances = seriesInstances.get(s.seriesInstanceUid) ?? [];
        if (options.format !== 'nifti') {
          const deidentify = context ? (file: Buffer) => deidentifyPart10Parts(file, context).parts : null;
          const sources = loadAhead(
            instances,
            FETCH_AHEAD,
            (instance) => instance.fileSize,
            (instance) => instanceFile(deps, instance, deidentify),
            (source) => {
              if (!Buffer.isBuffer(source) && !Array.isArray(source)) source.destroy();
            },
          );
          let number = 0;
          for await (const source of sources) {
            const entry = await append(`${patientFolder}/${studyFolder}/${seriesFolder}/${pad(++number)}.dcm`, source);
            seriesEntry.files.push(entry);
            seriesEntry.instanceCount++;
            groupTotals.instances++;
            groupTotals.bytes += entry.bytes;
            progress.instancesDone++;
            throwIfCancelled();
          }
        } else {
          seriesEntry.instanceCount = instances.length;
          groupTotals.instances += instances.length;
          progress.instancesDone += instances.length;
        }
        if (options.format !== 'dicom') seriesEntry.nifti = await niftiEntry(deps, s, { grids, seriesFolder: `nifti/${patientFolder}/${studyFolder}/${seriesFolder}`, append });
      }
      perGroup.set(study.ownerGroupId, groupTotals);
      const patientKey = pseudo ? pseudo.pseudonym : study.patientKey ?? study.patientId;
      const patient = manifestPatients.get(patientKey) ?? { patientId: pseudo ? pseudo.pseudonym : study.patientId, patientName: pseudo ? pseudo.pseudonym : study.patientName, studies: [] };
      patient.studies.push(studyEntry);
      manifestPatients.set(patientKey, patient);

      const results = deps.db.select().from(segmentationResults).where(eq(segmentationResults.studyInstanceUid, study.studyInstanceUid)).all();
      for (const result of results) {
        const segs = deps.db.select({ number: segments.number, label: segments.label, color: segments.color, volumeCm3: segments.volumeCm3, voxelCount: segments.voxelCount }).from(segments).where(eq(segments.resultId, result.id)).all();
        segmentationManifest.push({
          ...(pseudo ? {} : { resultId: result.id }),
          studyInstanceUid: pseudo ? mapUid(result.studyInstanceUid) : result.studyInstanceUid,
          segSeriesInstanceUid: pseudo ? mapUid(result.segSeriesUid) : result.segSeriesUid,
          sourceSeriesInstanceUid: pseudo ? mapUid(result.sourceSeriesUid) : result.sourceSeriesUid,
          model: result.model,
          modelVersion: result.modelVersion,
          validation: { status: result.validationStatus, ...(pseudo ? {} : { comment: result.validationComment, by: result.validatedByEmail }) },
          segments: segs,
        });
      }
    }

    const groupNames = new Map(deps.db.select({ id: groups.id, name: groups.name }).from(groups).where(inArray(groups.id, [...perGroup.keys()])).all().map((g) => [g.id, g.name]));
    const manifest = {
      schemaVersion: MANIFEST_SCHEMA_VERSION,
      exportId,
      createdAt: job.createdAt.toISOString(),
      completedAt: new Date().toISOString(),
      exportedBy: job.createdByEmail,
      purpose: job.purpose,
      recipient: job.recipient,
      options: { format: options.format, deidentified: options.deidentify, includeBurnedIn: options.includeBurnedIn },
      deidentification: options.deidentify
        ? { profile: 'DICOM PS3.15 Annex E Basic Application Level Confidentiality Profile (Table E.1-1)', options: options.deidOptions, privateTags: options.deidOptions.includes('retainSafePrivate') ? 'safe private attributes retained' : 'removed', uids: 'remapped consistently across this export' }
        : null,
      patients: [...manifestPatients.values()],
      segmentations: segmentationManifest,
      files,
    };
    // The manifest lists every other file; it is not in its own list.
    await zip.append('manifest.json', Buffer.from(JSON.stringify(manifest, null, 2)));
    progress.filesWritten++;
    const bytes = await zip.finish();
    clearInterval(timer);
    if (cancelledNow()) throw new ExportCancelled();
    deps.db.transaction((tx) => {
      tx.update(exportJobs)
        .set({ status: 'completed', filePath: zip.path, instancesDone: progress.instancesDone, filesWritten: progress.filesWritten, bytesWritten: bytes, finishedAt: new Date(), updatedAt: new Date(), expiresAt: new Date(Date.now() + deps.config.exportTtlHours * 3600_000) })
        .where(eq(exportJobs.id, exportId))
        .run();
      for (const [groupId, totals] of perGroup) {
        tx.insert(exportLedger)
          .values({ exportId, groupId, groupName: groupNames.get(groupId) ?? '', at: new Date(), exportedBy: job.createdByEmail, recipient: job.recipient, purpose: job.purpose, deidentified: options.deidentify, studyCount: totals.studies, instanceCount: totals.instances, bytes: totals.bytes })
          .run();
      }
      writeAudit(tx, { userId: job.createdBy, role: null, email: job.createdByEmail, ip: null, requestId: null }, {
        action: 'export.complete',
        outcome: 'success',
        targetType: 'export',
        targetId: exportId,
        details: { studies: studyRows.length, instances: progress.instancesDone, bytes, deidentified: options.deidentify, excludedSeries: excluded.size },
      });
    });
  } catch (error) {
    clearInterval(timer);
    await zip.discard();
    const cancelled = error instanceof ExportCancelled;
    const reason = cancelled ? null : `The export stopped: ${(error as Error).message.replace(/\.$/, '')}. No partial ZIP is offered; start the export again.`;
    deps.db.transaction((tx) => {
      tx.update(exportJobs)
        .set({ status: cancelled ? 'cancelled' : 'failed', error: reason, finishedAt: new Date(), updatedAt: new Date() })
        .where(eq(exportJobs.id, exportId))
        .run();
      if (!cancelled) writeAudit(tx, { userId: job.createdBy, role: null, email: job.createdByEmail, ip: null, requestId: null }, { action: 'export.fail', outcome: 'failure', targetType: 'export', targetId: exportId, details: { reason } });
    });
    if (!cancelled) deps.log.warn({ err: error, exportId }, 'export failed');
  }
}

/** A NIfTI volume for an image series, or a label map for a SEG made here; otherwise why not. */
async function niftiEntry(
  deps: AppDeps,
  s: SeriesRow,
  ctx: { grids: Map<string, VolumeGrid>; seriesFolder: string; append: (name: string, data: Buffer, options: { gzip: true }) => Promise<FileEntry> },
): Promise<FileEntry | { skipped: string }> {
  try {
    if (s.modality === 'SEG') {
      const result = deps.db.select().from(segmentationResults).where(eq(segmentationResults.segSeriesUid, s.seriesInstanceUid)).get();
      const grid = result ? (ctx.grids.get(result.sourceSeriesUid) ?? (await gridOf(deps, result.sourceSeriesUid)).grid) : null;
      if (!result || !grid) return { skipped: 'label maps are exported for segmentations made here (whose source series is known)' };
      const instances = (await deps.orthanc.json<{ Instances: string[] }>('GET', `/series/${s.orthancId}`)).Instances;
      const segFile = Buffer.from(await (await deps.orthanc.raw('GET', `/instances/${instances[0]}/file`)).body.arrayBuffer());
      const segs = deps.db.select({ number: segments.number, labelValue: segments.labelValue }).from(segments).where(eq(segments.resultId, result.id)).all();
      const decoded = decodeSeg(segFile, grid, segs);
      return await ctx.append(`${ctx.seriesFolder}_labels.nii.gz`, niftiFromLabels(grid, decoded.data), { gzip: true });
    }
    const { grid, values } = await gridOf(deps, s.seriesInstanceUid);
    ctx.grids.set(s.seriesInstanceUid, grid);
    // Gzipped as it goes into the archive: no compressed copy of the volume in memory.
    return await ctx.append(`${ctx.seriesFolder}.nii.gz`, niftiFromVolume(grid, [values!]), { gzip: true });
  } catch (error) {
    if (error instanceof VolumeError || error instanceof SeriesReadError) return { skipped: `not a volume: ${error.message}` };
    throw error;
  }
}

async function gridOf(deps: AppDeps, seriesUid: string): Promise<{ grid: VolumeGrid; values: Float32Array }> {
  const source = await seriesSlices(deps, seriesUid);
  const grid = buildGrid(source.metas);
  return { grid, values: await channelValues(deps, grid, source.byUid) };
}

/**
 * One instance's file exactly as Orthanc stores it (its chunks as they came: no copy), or
 * de-identified; or, when it is larger than the fetch budget and not to be de-identified,
 * Orthanc's response itself, to stream.
 */
async function instanceFile(deps: AppDeps, instance: InstanceFile, deidentify: ((file: Buffer) => Buffer[]) | null): Promise<Readable | Buffer | Buffer[]> {
  const response = await deps.orthanc.raw('GET', `/instances/${instance.id}/file`);
  if (response.statusCode !== 200) {
    await response.body.dump().catch(() => undefined);
    throw new Error(`Orthanc answered ${response.statusCode} for instance ${instance.id}`);
  }
  if (!deidentify && instance.fileSize > FETCH_AHEAD.maxHeldBytes) return response.body;
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of response.body) chunks.push(chunk as Buffer);
  } catch (error) {
    throw namingOrthanc(error);
  }
  return deidentify ? deidentify(Buffer.concat(chunks)) : chunks;
}

/** A connection that broke while a file was read (undici: "other side closed") says it was Orthanc's. */
function namingOrthanc(error: unknown): unknown {
  if (error instanceof OrthancUnavailableError || !isOrthancConnectionError(error)) return error;
  const { code, message } = error as { code?: string; message?: string };
  return new OrthancUnavailableError(`the connection broke in the middle of a file: ${code ?? message}`);
}
