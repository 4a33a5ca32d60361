import type { Readable } from 'node:stream';
import Dicer from 'dicer';
import type { OrthancClient } from '../orthanc/client.js';

/** What Orthanc said about one part of a STOW-RS body, stored as its own instance. */
export type StoredPart =
  | { ok: true; orthancId: string; orthancStudyId: string; newlyStored: boolean; sopClassUid: string; sopInstanceUid: string; seriesInstanceUid: string; studyInstanceUid: string }
  | { ok: false; reason: string };

import type { OrthancStoreAnswer } from '../studies/study-claims.js';

export function boundaryOf(contentType: string): string | null {
  const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return match ? (match[1] ?? match[2] ?? null) : null;
}

/**
 * Splits a multipart/related body and posts each part to Orthanc's /instances as it
 * arrives, streamed, so Orthanc reports per instance whether it was new. (Orthanc's own
 * STOW does not say, and the gateway must be able to undo only what this request added.)
 */
export function storeParts(orthanc: OrthancClient, body: Readable, boundary: string, onStored: (answer: OrthancStoreAnswer) => void, track: <T>(post: Promise<T>) => Promise<T>): Promise<StoredPart[]> {
  return new Promise((resolveAll, reject) => {
    const parser = new Dicer({ boundary });
    const results: Promise<StoredPart>[] = [];
    parser.on('part', (part) => {
      results.push(
        new Promise<StoredPart>((resolvePart) => {
          part.once('error', (error) => resolvePart({ ok: false, reason: `unreadable part: ${error.message}` }));
          part.once('header', () => {
            track(orthanc.raw('POST', '/instances', { headers: { 'content-type': 'application/dicom' }, body: part }))
              .then(async (response) => {
                const text = await response.body.text();
                if (response.statusCode >= 400) return resolvePart({ ok: false, reason: text.includes('Bad file format') ? 'not a readable DICOM instance' : `archive answered ${response.statusCode}` });
                const answer = JSON.parse(text) as OrthancStoreAnswer;
                onStored(answer);
                resolvePart(await describeStored(orthanc, answer));
              })
              .catch((error: Error) => resolvePart({ ok: false, reason: `archive unreachable: ${error.message}` }));
          });
        }),
      );
    });
    parser.once('finish', () => void Promise.all(results).then(resolveAll));
    parser.once('error', (error) => reject(error));
    body.once('error', (error) => reject(error));
    body.pipe(parser);
  });
}

async function describeStored(orthanc: OrthancClient, stored: OrthancStoreAnswer): Promise<StoredPart> {
  const instance = await orthanc.json<{ MainDicomTags: { SOPInstanceUID: string } }>('GET', `/instances/${stored.ID}`);
  const series = await orthanc.json<{ MainDicomTags: { SeriesInstanceUID: string } }>('GET', `/series/${stored.ParentSeries}`);
  const study = await orthanc.json<{ MainDicomTags: { StudyInstanceUID: string } }>('GET', `/studies/${stored.ParentStudy}`);
  const sopClass = await orthanc.raw('GET', `/instances/${stored.ID}/metadata/SopClassUid`);
  return {
    ok: true,
    orthancId: stored.ID,
    orthancStudyId: stored.ParentStudy,
    newlyStored: stored.Status === 'Success',
    sopClassUid: sopClass.statusCode === 200 ? (await sopClass.body.text()).trim() : (await sopClass.body.text(), ''),
    sopInstanceUid: instance.MainDicomTags.SOPInstanceUID,
    seriesInstanceUid: series.MainDicomTags.SeriesInstanceUID,
    studyInstanceUid: study.MainDicomTags.StudyInstanceUID,
  };
}
