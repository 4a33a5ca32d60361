// Who may keep what they just stored in Orthanc. Imports and STOW-RS store first (that is
// how Orthanc tells us which study an instance belongs to), then ask here, once per study:
// a registered study must be readable by the caller; an unregistered one is claimed for the
// caller's group only if every instance Orthanc holds of it came with this very upload.
import { canReadStudy, type Caller } from '../access/policy.js';
import type { AppDeps } from '../lib/context.js';
import { applySnapshot, readStudyFromOrthanc, registeredStudy, type Claim } from './registry.service.js';
import { groups } from '../db/schema.js';
import { eq } from 'drizzle-orm';
import { claimLeftByEndedImport, dropPendingClaims, notePendingClaim } from './pending-claims.js';

export type OrthancStoreAnswer = { ID: string; ParentStudy: string; ParentSeries: string; ParentPatient: string; Status: 'Success' | 'AlreadyStored' | string };

export type StudyAccess = { allowed: true; studyInstanceUid: string } | { allowed: false; studyInstanceUid: string | null; reason: string };

export class StudyClaims {
  private readonly decisions = new Map<string, Promise<StudyAccess>>();
  private readonly newlyStored = new Set<string>();
  private readonly posts = new Set<Promise<unknown>>();
  private readonly prepared = new Set<string>();
  readonly warnings: string[] = [];

  constructor(
    private readonly deps: AppDeps,
    private readonly caller: Caller,
    private readonly claim: Claim,
    /** Set for imports: their new studies get a durable pending claim before the first store. */
    private readonly importJobId?: string,
  ) {}

  /**
   * Called before an instance of `studyInstanceUid` is posted. For a study the registry does
   * not know, writes the pending claim first, so a crash right after Orthanc stores it
   * cannot leave the study without its owner.
   */
  prepare(studyInstanceUid: string): void {
    if (!this.importJobId || this.prepared.has(studyInstanceUid)) return;
    this.prepared.add(studyInstanceUid);
    if (registeredStudy(this.deps.db, studyInstanceUid)) return;
    notePendingClaim(this.deps.db, { studyInstanceUid, ownerGroupId: this.claim.ownerGroupId, importJobId: this.importJobId, createdBy: this.claim.createdBy });
  }

  /** Wraps a POST /instances so a claim decision can wait for every store already under way. */
  track<T>(post: Promise<T>): Promise<T> {
    this.posts.add(post);
    void post.finally(() => this.posts.delete(post)).catch(() => undefined);
    return post;
  }

  noteStored(answer: OrthancStoreAnswer): void {
    if (answer.Status === 'Success') this.newlyStored.add(answer.ID);
  }

  /** The decision for one Orthanc study, made once per upload. */
  access(orthancStudyId: string): Promise<StudyAccess> {
    let decision = this.decisions.get(orthancStudyId);
    if (!decision) {
      decision = this.decide(orthancStudyId);
      this.decisions.set(orthancStudyId, decision);
      // A decision that could not be made (Orthanc failed) is asked again by the next file.
      decision.catch(() => this.decisions.delete(orthancStudyId));
    }
    return decision;
  }

  studyUids(): Promise<string[]> {
    return Promise.all(this.decisions.values()).then((all) => [...new Set(all.filter((a) => a.allowed).map((a) => a.studyInstanceUid!))]);
  }

  private warn(message: string): void {
    if (!this.warnings.includes(message) && this.warnings.length < 200) this.warnings.push(message);
  }

  private async decide(orthancStudyId: string): Promise<StudyAccess> {
    // Stores already sent may belong to this study too: count them before comparing.
    await Promise.allSettled([...this.posts]);
    const snapshot = await readStudyFromOrthanc(this.deps, orthancStudyId);
    if (!snapshot) return { allowed: false, studyInstanceUid: null, reason: 'the archive no longer holds the study (deleted meanwhile)' };
    const uid = snapshot.studyInstanceUid;
    let registered = registeredStudy(this.deps.db, uid);
    if (!registered) {
      let foreign = snapshot.instanceIds.filter((id) => !this.newlyStored.has(id));
      // Stores that started after the wait above may have landed before the read: let them finish.
      while (foreign.length && this.posts.size) {
        await Promise.allSettled([...this.posts]);
        foreign = foreign.filter((id) => !this.newlyStored.has(id));
      }
      // Instances left by an earlier import of this group that died before claiming the study are its own.
      if (foreign.length && !claimLeftByEndedImport(this.deps.db, uid, this.claim.ownerGroupId)) {
        if (this.importJobId) dropPendingClaims(this.deps.db, uid, { ownerGroupId: this.claim.ownerGroupId, importJobId: this.importJobId });
        return { allowed: false, studyInstanceUid: uid, reason: 'the study is already in the archive without an owning group; ask an admin to assign it' };
      }
      const result = applySnapshot(this.deps.db, { orthancId: orthancStudyId, snapshot, claim: this.claim });
      dropPendingClaims(this.deps.db, uid);
      if (result.kind === 'created' || result.kind === 'updated') {
        if (result.patientNameConflict) this.warn(result.patientNameConflict);
      }
      registered = registeredStudy(this.deps.db, uid);
      if (!registered) return { allowed: false, studyInstanceUid: uid, reason: 'the study could not be registered' };
    } else {
      if (!canReadStudy(this.deps.db, this.caller, uid)) return { allowed: false, studyInstanceUid: uid, reason: 'the study belongs to a group you cannot access' };
      const result = applySnapshot(this.deps.db, { orthancId: orthancStudyId, snapshot });
      if ((result.kind === 'created' || result.kind === 'updated') && result.patientNameConflict) this.warn(result.patientNameConflict);
      if (this.importJobId) dropPendingClaims(this.deps.db, uid);
    }
    if (!canReadStudy(this.deps.db, this.caller, uid)) return { allowed: false, studyInstanceUid: uid, reason: 'the study belongs to a group you cannot access' };
    if (registered.ownerGroupId !== this.claim.ownerGroupId) {
      const owner = this.deps.db.select({ name: groups.name }).from(groups).where(eq(groups.id, registered.ownerGroupId)).get();
      this.warn(`Study ${uid} already belongs to group ${owner?.name ?? registered.ownerGroupId}; its new instances were added there.`);
    }
    return { allowed: true, studyInstanceUid: uid };
  }
}
