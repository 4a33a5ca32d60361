// The patient registry mirrors what Orthanc holds (patients, studies, series, counts) and
// adds what Orthanc cannot know: which group owns each study. Orthanc stays the source of
// truth for the DICOM; these functions copy its view of one study into the database.
import { randomUUID } from 'node:crypto';
import { and, eq, notInArray, sql } from 'drizzle-orm';
import { writeAudit, type AuditActor } from '../audit/audit.service.js';
import type { Db, DbReader } from '../db/client.js';
import { groups, patients, series, studies, type studySources } from '../db/schema.js';
import type { AppDeps } from '../lib/context.js';
import { OrthancError } from '../orthanc/client.js';

export const INBOX_GROUP_NAME = 'Unassigned';

type OrthancStudy = {
  ID: string;
  IsStable: boolean;
  ParentPatient: string;
  MainDicomTags: Record<string, string | undefined>;
  PatientMainDicomTags: Record<string, string | undefined>;
};
type OrthancSeries = { ID: string; Instances: string[]; MainDicomTags: Record<string, string | undefined> };

export type StudySnapshot = {
  orthancId: string;
  studyInstanceUid: string;
  isStable: boolean;
  /** One instance of the study, to ask Orthanc how the study arrived. */
  firstInstanceId: string | null;
  instanceIds: string[];
  patient: { key: string; patientId: string; patientName: string; birthDate: string; sex: string };
  studyDate: string;
  studyDescription: string;
  accessionNumber: string;
  series: { seriesInstanceUid: string; orthancId: string; modality: string; seriesNumber: number | null; seriesDescription: string; bodyPart: string; instanceCount: number }[];
};

export type StudySource = (typeof studySources)[number];

/** The group that receives unclaimed studies; created on first use. Only admins see it (it has no members). */
export function inboxGroupId(db: Db): string {
  const existing = db.select({ id: groups.id }).from(groups).where(eq(groups.kind, 'inbox')).get();
  if (existing) return existing.id;
  return db.transaction((tx) => {
    const raced = tx.select({ id: groups.id }).from(groups).where(eq(groups.kind, 'inbox')).get();
    if (raced) return raced.id;
    const taken = (name: string) => Boolean(tx.select({ id: groups.id }).from(groups).where(eq(groups.nameKey, name.toLowerCase())).get());
    let name = INBOX_GROUP_NAME;
    for (let n = 2; taken(name); n++) name = `${INBOX_GROUP_NAME} ${n}`;
    const id = randomUUID();
    tx.insert(groups).values({ id, name, nameKey: name.toLowerCase(), kind: 'inbox', description: 'Studies that reached Orthanc without an owner (e.g. C-STORE from an unmapped AE title). Only admins see them; move them to a group.' }).run();
    return id;
  });
}

/** What Orthanc holds of one study right now, or null when it holds nothing (deleted). */
export async function readStudyFromOrthanc(deps: Pick<AppDeps, 'orthanc'>, orthancStudyId: string): Promise<StudySnapshot | null> {
  let study: OrthancStudy;
  let seriesList: OrthancSeries[];
  try {
    study = await deps.orthanc.json<OrthancStudy>('GET', `/studies/${orthancStudyId}`);
    seriesList = await deps.orthanc.json<OrthancSeries[]>('GET', `/studies/${orthancStudyId}/series`);
  } catch (error) {
    if (error instanceof OrthancError && error.status === 404) return null;
    throw error;
  }
  const tags = study.MainDicomTags;
  const patientTags = study.PatientMainDicomTags;
  return {
    orthancId: study.ID,
    studyInstanceUid: tags.StudyInstanceUID ?? '',
    isStable: study.IsStable,
    firstInstanceId: seriesList.find((s) => s.Instances.length > 0)?.Instances[0] ?? null,
    instanceIds: seriesList.flatMap((s) => s.Instances),
    patient: {
      key: study.ParentPatient,
      patientId: patientTags.PatientID ?? '',
      patientName: patientTags.PatientName ?? '',
      birthDate: patientTags.PatientBirthDate ?? '',
      sex: patientTags.PatientSex ?? '',
    },
    studyDate: tags.StudyDate ?? '',
    studyDescription: tags.StudyDescription ?? '',
    accessionNumber: tags.AccessionNumber ?? '',
    series: seriesList
      .filter((s) => s.Instances.length > 0)
      .map((s) => {
        const number = Number.parseInt(s.MainDicomTags.SeriesNumber ?? '', 10);
        return {
          seriesInstanceUid: s.MainDicomTags.SeriesInstanceUID ?? s.ID,
          orthancId: s.ID,
          modality: s.MainDicomTags.Modality ?? '',
          seriesNumber: Number.isFinite(number) ? number : null,
          seriesDescription: s.MainDicomTags.SeriesDescription ?? '',
          bodyPart: s.MainDicomTags.BodyPartExamined ?? '',
          instanceCount: s.Instances.length,
        };
      }),
  };
}

export type Claim = { ownerGroupId: string; source: StudySource; createdBy: string | null; actor?: AuditActor; via?: string };

export type ApplyResult =
  | { kind: 'updated'; studyInstanceUid: string; ownerGroupId: string; patientNameConflict: string | null }
  | { kind: 'created'; studyInstanceUid: string; ownerGroupId: string; patientNameConflict: string | null }
  | { kind: 'removed'; studyInstanceUid: string | null }
  | { kind: 'unclaimed' };

/**
 * Writes one study's snapshot into the registry. An unregistered study is only entered
 * with a claim (who owns it); without one it is left out and `unclaimed` returned.
 * A null snapshot (gone from Orthanc) removes the study and its series.
 */
export function applySnapshot(db: Db, input: { orthancId: string; snapshot: StudySnapshot | null; claim?: Claim }): ApplyResult {
  const { snapshot, claim } = input;
  return db.transaction((tx) => {
    const existing = tx
      .select({ uid: studies.studyInstanceUid, owner: studies.ownerGroupId })
      .from(studies)
      .where(snapshot ? eq(studies.studyInstanceUid, snapshot.studyInstanceUid) : eq(studies.orthancId, input.orthancId))
      .get();
    if (!snapshot || snapshot.series.length === 0) {
      // No registry row may point at nothing.
      if (existing) {
        tx.delete(studies).where(eq(studies.studyInstanceUid, existing.uid)).run();
        tx.run(sql`DELETE FROM patients WHERE key NOT IN (SELECT patient_key FROM studies WHERE patient_key IS NOT NULL)`);
      }
      return { kind: 'removed' as const, studyInstanceUid: existing?.uid ?? null };
    }
    if (!existing && !claim) return { kind: 'unclaimed' as const };

    const knownPatient = tx.select({ name: patients.patientName }).from(patients).where(eq(patients.key, snapshot.patient.key)).get();
    const patientNameConflict =
      knownPatient && knownPatient.name && snapshot.patient.patientName && knownPatient.name !== snapshot.patient.patientName
        ? `PatientID ${snapshot.patient.patientId} is registered as ${knownPatient.name}, but study ${snapshot.studyInstanceUid} names the patient ${snapshot.patient.patientName}.`
        : null;
    const now = new Date();
    const { key, ...patientFields } = snapshot.patient;
    // The first name seen stays the registry's; a differing one is reported, not silently taken.
    tx.insert(patients)
      .values({ key, ...patientFields, updatedAt: now })
      .onConflictDoUpdate({ target: patients.key, set: knownPatient?.name ? { birthDate: patientFields.birthDate, sex: patientFields.sex, updatedAt: now } : { ...patientFields, updatedAt: now } })
      .run();

    const modalities = [...new Set(snapshot.series.map((s) => s.modality).filter(Boolean))].sort();
    const fields = {
      orthancId: snapshot.orthancId,
      patientKey: key,
      patientId: snapshot.patient.patientId,
      patientName: snapshot.patient.patientName,
      studyDate: snapshot.studyDate,
      studyDescription: snapshot.studyDescription,
      accessionNumber: snapshot.accessionNumber,
      modalities,
      instanceCount: snapshot.series.reduce((sum, s) => sum + s.instanceCount, 0),
      syncedAt: now,
    };
    let ownerGroupId: string;
    if (existing) {
      tx.update(studies).set(fields).where(eq(studies.studyInstanceUid, existing.uid)).run();
      ownerGroupId = existing.owner;
    } else {
      ownerGroupId = claim!.ownerGroupId;
      tx.insert(studies)
        .values({ studyInstanceUid: snapshot.studyInstanceUid, ownerGroupId, createdBy: claim!.createdBy, source: claim!.source, ...fields })
        .run();
      writeAudit(tx, claim!.actor ?? { userId: null, role: 'system', email: null, ip: null, requestId: null }, {
        action: 'study.register',
        outcome: 'success',
        targetType: 'study',
        targetId: snapshot.studyInstanceUid,
        details: { ownerGroupId, source: claim!.source, ...(claim!.via ? { via: claim!.via } : {}) },
      });
    }
    const uids = snapshot.series.map((s) => s.seriesInstanceUid);
    tx.delete(series).where(and(eq(series.studyInstanceUid, snapshot.studyInstanceUid), notInArray(series.seriesInstanceUid, uids))).run();
    for (const s of snapshot.series) {
      const { seriesInstanceUid, ...rest } = s;
      tx.insert(series)
        .values({ seriesInstanceUid, studyInstanceUid: snapshot.studyInstanceUid, ...rest })
        .onConflictDoUpdate({ target: series.seriesInstanceUid, set: { studyInstanceUid: snapshot.studyInstanceUid, ...rest } })
        .run();
    }
    return { kind: existing ? ('updated' as const) : ('created' as const), studyInstanceUid: snapshot.studyInstanceUid, ownerGroupId, patientNameConflict };
  });
}

/** Reads a study from Orthanc and applies it (see applySnapshot). */
export async function syncStudy(deps: Pick<AppDeps, 'orthanc' | 'db'>, orthancStudyId: string, claim?: Claim): Promise<ApplyResult> {
  const snapshot = await readStudyFromOrthanc(deps, orthancStudyId);
  return applySnapshot(deps.db, { orthancId: orthancStudyId, snapshot, claim });
}

export function registeredStudy(db: DbReader, studyInstanceUid: string) {
  return db.select().from(studies).where(eq(studies.studyInstanceUid, studyInstanceUid)).get();
}
