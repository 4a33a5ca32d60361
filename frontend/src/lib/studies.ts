import type { GroupRef, SessionUser, Study } from '../api/types';

/** The viewer opens one study by UID; a plain link, since OHIF lives outside this app. */
export function viewerHref(studyInstanceUid: string): string {
  return `/viewer/viewer?StudyInstanceUIDs=${encodeURIComponent(studyInstanceUid)}`;
}

/** Admins and members of the owning group may share a study (the server checks again). */
export function canShareStudy(user: Pick<SessionUser, 'role' | 'groups'>, study: Pick<Study, 'ownerGroup'>): boolean {
  return user.role === 'admin' || user.groups.some((group) => group.id === study.ownerGroup.id);
}

/** Groups a study could still be shared with: not its owner, not already shared, by name. */
export function shareCandidates(groups: GroupRef[], study: Pick<Study, 'ownerGroup' | 'sharedWith'>): GroupRef[] {
  const taken = new Set([study.ownerGroup.id, ...study.sharedWith.map((group) => group.id)]);
  return groups.filter((group) => !taken.has(group.id)).sort((a, b) => a.name.localeCompare(b.name));
}
