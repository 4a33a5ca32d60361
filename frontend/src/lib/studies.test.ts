import { describe, expect, it } from 'vitest';
import { canShareStudy, shareCandidates, viewerHref } from './studies';

const radiology = { id: 'g1', name: 'Radiology' };
const oncology = { id: 'g2', name: 'Oncology' };
const cardiology = { id: 'g3', name: 'Cardiology' };

describe('viewerHref', () => {
  it('opens the one study in OHIF', () => {
    expect(viewerHref('1.2.840.113619.2.1')).toBe('/viewer/viewer?StudyInstanceUIDs=1.2.840.113619.2.1');
  });
});

describe('canShareStudy', () => {
  it('lets admins and members of the owning group share', () => {
    const study = { ownerGroup: radiology };
    expect(canShareStudy({ role: 'admin', groups: [] }, study)).toBe(true);
    expect(canShareStudy({ role: 'radiologist', groups: [oncology, radiology] }, study)).toBe(true);
    expect(canShareStudy({ role: 'researcher', groups: [oncology] }, study)).toBe(false);
  });
});

describe('shareCandidates', () => {
  it('offers the remaining groups by name', () => {
    const study = { ownerGroup: radiology, sharedWith: [oncology] };
    expect(shareCandidates([radiology, oncology, cardiology, { id: 'g4', name: 'Alpha' }], study).map((g) => g.name)).toEqual(['Alpha', 'Cardiology']);
    expect(shareCandidates([radiology, oncology], study)).toEqual([]);
  });
});
