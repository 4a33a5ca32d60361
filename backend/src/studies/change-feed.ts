// Keeps the registry in step with Orthanc: follows Orthanc's change feed (/changes) for
// objects that arrive another way than our imports (C-STORE to the DICOM port, another
// REST client), and compares Orthanc's study list with the registry at start and every
// PD_REGISTRY_RECONCILE_SECONDS (Orthanc's feed does not report deletions).
import { eq } from 'drizzle-orm';
import { groups, series, studies, systemState } from '../db/schema.js';
import type { AppDeps } from '../lib/context.js';
import { claimLeftByEndedImport, dropPendingClaims } from './pending-claims.js';
import { applySnapshot, inboxGroupId, readStudyFromOrthanc, type ApplyResult, type Claim, type StudySnapshot } from './registry.service.js';

const SEQ_KEY = 'orthanc.changes.seq';

type Change = { ChangeType: string; ResourceType: string; ID: string; Seq: number };
type ChangesPage = { Changes: Change[]; Done: boolean; Last: number };
type InstanceOrigin = { Origin?: string; RemoteAET?: string };

function storedSeq(deps: AppDeps): number | null {
  const row = deps.db.select({ value: systemState.value }).from(systemState).where(eq(systemState.key, SEQ_KEY)).get();
  return row ? Number(row.value) : null;
}

function saveSeq(deps: AppDeps, seq: number): void {
  deps.db.insert(systemState).values({ key: SEQ_KEY, value: String(seq) }).onConflictDoUpdate({ target: systemState.key, set: { value: String(seq) } }).run();
}

/**
 * Who owns a study nobody claimed. C-STORE: the group configured for the calling AE title,
 * else the inbox. Stored over REST (our imports and STOW claim their studies as the first
 * instance lands): wait until Orthanc calls the study stable, then the inbox.
 */
async function attribution(deps: AppDeps, snapshot: StudySnapshot): Promise<Claim | null> {
  // An import that died between storing and claiming left a note saying whose the study is.
  const pending = claimLeftByEndedImport(deps.db, snapshot.studyInstanceUid);
  if (pending) return { ownerGroupId: pending.ownerGroupId, source: 'import', createdBy: pending.createdBy, via: `import ${pending.importJobId}, registered after it ended before claiming the study` };
  const origin = snapshot.firstInstanceId ? await deps.orthanc.json<InstanceOrigin>('GET', `/instances/${snapshot.firstInstanceId}/metadata?expand`) : {};
  if (origin.Origin === 'DicomProtocol') {
    const aet = (origin.RemoteAET ?? '').trim();
    const groupName = deps.config.dicomAeGroups[aet];
    const group = groupName ? deps.db.select({ id: groups.id }).from(groups).where(eq(groups.nameKey, groupName.toLowerCase())).get() : undefined;
    if (groupName && !group) deps.log.warn({ aet, groupName }, 'PD_DICOM_AE_GROUPS names a group that does not exist; the study goes to the inbox');
    return { ownerGroupId: group?.id ?? inboxGroupId(deps.db), source: 'dicom', createdBy: null, via: `C-STORE from AE title "${aet}"` };
  }
  if (!snapshot.isStable) return null;
  return { ownerGroupId: inboxGroupId(deps.db), source: 'archive', createdBy: null, via: `found in Orthanc (origin ${origin.Origin ?? 'unknown'})` };
}

/** Brings one Orthanc study into the registry: update if known, attribute if new and its owner can be told. */
export async function refreshStudy(deps: AppDeps, orthancStudyId: string): Promise<ApplyResult> {
  const snapshot = await readStudyFromOrthanc(deps, orthancStudyId);
  const known = snapshot && deps.db.select({ uid: studies.studyInstanceUid }).from(studies).where(eq(studies.studyInstanceUid, snapshot.studyInstanceUid)).get();
  const claim = snapshot && !known && snapshot.series.length > 0 ? await attribution(deps, snapshot) : null;
  const result = applySnapshot(deps.db, { orthancId: orthancStudyId, snapshot, claim: claim ?? undefined });
  if (result.kind === 'created') dropPendingClaims(deps.db, result.studyInstanceUid);
  return result;
}

async function parentStudyOfSeries(deps: AppDeps, orthancSeriesId: string): Promise<string | null> {
  try {
    return (await deps.orthanc.json<{ ParentStudy: string }>('GET', `/series/${orthancSeriesId}`)).ParentStudy;
  } catch {
    return null;
  }
}

/** Registry rows against Orthanc's list: adds what is missing, removes what Orthanc no longer has. */
export async function reconcileRegistry(deps: AppDeps): Promise<void> {
  const inOrthanc = new Set(await deps.orthanc.json<string[]>('GET', '/studies'));
  const registered = deps.db.select({ uid: studies.studyInstanceUid, orthancId: studies.orthancId }).from(studies).all();
  const registeredIds = new Set(registered.map((r) => r.orthancId).filter(Boolean));
  for (const row of registered) {
    if (row.orthancId && !inOrthanc.has(row.orthancId)) await refreshStudy(deps, row.orthancId);
    if (!row.orthancId) {
      // Rows from before the registry tracked Orthanc ids: find them by UID.
      const lookup = await deps.orthanc.raw('POST', '/tools/lookup', { headers: { 'content-type': 'text/plain' }, body: row.uid });
      const found = (JSON.parse(await lookup.body.text()) as { Type: string; ID: string }[]).find((entry) => entry.Type === 'Study');
      if (found) await refreshStudy(deps, found.ID);
      else deps.db.delete(studies).where(eq(studies.studyInstanceUid, row.uid)).run();
    }
  }
  for (const id of inOrthanc) if (!registeredIds.has(id)) await refreshStudy(deps, id);
}

/** Applies one page of changes; returns whether the feed is drained. */
async function applyChanges(deps: AppDeps): Promise<boolean> {
  let since = storedSeq(deps);
  const last = (await deps.orthanc.json<ChangesPage>('GET', '/changes?last')).Last;
  if (since === null || since > last) {
    // First start, or a fresh Orthanc index behind an old database: compare everything once.
    await reconcileRegistry(deps);
    saveSeq(deps, last);
    return true;
  }
  const page = await deps.orthanc.json<ChangesPage>('GET', `/changes?since=${since}&limit=500`);
  const toRefresh = new Set<string>();
  for (const change of page.Changes) {
    if (change.ResourceType === 'Study') toRefresh.add(change.ID);
    else if (change.ResourceType === 'Series' && change.ChangeType !== 'Deleted') {
      const parent = await parentStudyOfSeries(deps, change.ID);
      if (parent) toRefresh.add(parent);
    } else if (change.ResourceType === 'Series' && change.ChangeType === 'Deleted') {
      const row = deps.db.select({ study: studies.orthancId }).from(series).innerJoin(studies, eq(studies.studyInstanceUid, series.studyInstanceUid)).where(eq(series.orthancId, change.ID)).get();
      if (row?.study) toRefresh.add(row.study);
    } else if (change.ResourceType === 'Patient' && change.ChangeType === 'Deleted') {
      for (const row of deps.db.select({ id: studies.orthancId }).from(studies).where(eq(studies.patientKey, change.ID)).all()) if (row.id) toRefresh.add(row.id);
    }
  }
  for (const id of toRefresh) await refreshStudy(deps, id);
  since = page.Changes.length ? page.Last : since;
  saveSeq(deps, since);
  return page.Done;
}

export type RegistrySync = {
  /** Processes every change Orthanc has right now and compares the study lists (tests wait on this). */
  drain(): Promise<void>;
  stop(): Promise<void>;
};

export function startRegistrySync(deps: AppDeps): RegistrySync {
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | null = null;
  let failing = false;

  let lastReconcile = Date.now();
  const runOnce = async (reconcile = false): Promise<void> => {
    try {
      while (!stopped && !(await applyChanges(deps)));
      // Orthanc's feed does not report deletions made through its REST API: compare lists now and then.
      if (!stopped && (reconcile || Date.now() - lastReconcile > deps.config.registryReconcileSeconds * 1000)) {
        await reconcileRegistry(deps);
        lastReconcile = Date.now();
      }
      if (failing) deps.log.info('registry sync with Orthanc restored');
      failing = false;
    } catch (error) {
      if (!failing) deps.log.warn({ err: error }, 'registry sync with Orthanc failed; retrying');
      failing = true;
    }
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = running.then(() => runOnce()).finally(schedule);
    }, deps.config.registryPollMs);
    timer.unref();
  };
  running = running.then(() => runOnce()).finally(schedule);

  return {
    drain: () => {
      running = running.then(() => runOnce(true));
      return running;
    },
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running.catch(() => undefined);
    },
  };
}
