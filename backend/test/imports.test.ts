// Imports against real Orthanc and Redis: files, folders, ZIPs, NIfTI, bad input, and the registry they fill.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it, beforeAll } from 'vitest';
import { createUser, sameOrigin, signIn, useTestBackend } from './harness.js';
import { sharedData } from './dicom.js';

type Job = {
  id: string;
  status: string;
  counters: { filesReceived: number; instancesStored: number; duplicates: number; rejected: number; skipped: number; bytesReceived: number };
  warnings: string[];
  studies: { studyInstanceUid: string; patientKey: string | null; patientName: string }[];
};
type FileResult = { name: string; outcome: string; reason: string | null; instances: number };

export function folderFiles(folder: string): { name: string; data: Buffer }[] {
  const root = join(sharedData, folder);
  const walk = (dir: string): string[] => readdirSync(dir).flatMap((name) => (statSync(join(dir, name)).isDirectory() ? walk(join(dir, name)) : [join(dir, name)]));
  return walk(root)
    .filter((p) => !p.split('/').pop()!.startsWith('SOURCE'))
    .sort()
    .map((p) => ({ name: relative(sharedData, p), data: readFileSync(p) }));
}

export function form(files: { name: string; data: Buffer }[], fields: Record<string, string> = {}): FormData {
  const body = new FormData();
  for (const [key, value] of Object.entries(fields)) body.append(key, value);
  for (const file of files) body.append('file', new Blob([new Uint8Array(file.data)]), file.name);
  return body;
}

describe('imports', () => {
  const env = useTestBackend();
  let cookie: string;
  let groupId: string;

  const api = (path: string, init: RequestInit & { cookie?: string } = {}) =>
    env.backend.app.request(path, { ...init, headers: { origin: sameOrigin.origin, cookie: init.cookie ?? cookie, ...(init.headers as Record<string, string>) } });
  const oneShot = async (files: { name: string; data: Buffer }[], fields: Record<string, string> = {}, who = cookie) => {
    const response = await api(`/api/imports?groupId=${groupId}`, { method: 'POST', body: form(files, fields), cookie: who });
    return { response, job: response.status === 201 ? ((await response.json()) as { import: Job }).import : null };
  };
  const fileResults = async (id: string) => ((await (await api(`/api/imports/${id}/files?limit=500`)).json()) as { files: FileResult[] }).files;

  beforeAll(async () => {
    const user = await createUser(env.backend.deps, { email: 'importer@example.test', role: 'researcher', groups: ['Imaging Lab'] });
    groupId = user.groupIds[0]!;
    cookie = (await signIn(env.backend, user.email, user.password)).cookie;
  });

  it('imports a folder of DICOM files into Orthanc and the registry, and counts a second import as duplicates', async () => {
    const files = folderFiles('ct-volume-pancreas-tcia');
    const first = await oneShot(files);
    expect(first.response.status).toBe(201);
    expect(first.job!.status).toBe('completed');
    expect(first.job!.counters).toMatchObject({ filesReceived: 20, instancesStored: 20, duplicates: 0, rejected: 0 });
    expect(first.job!.studies).toHaveLength(1);
    const study = first.job!.studies[0]!;

    const detail = (await (await api(`/api/studies/${study.studyInstanceUid}`)).json()) as { study: { instanceCount: number; series: { instanceCount: number; modality: string }[]; ownerGroup: { id: string } } };
    expect(detail.study.instanceCount).toBe(20);
    expect(detail.study.series).toEqual([expect.objectContaining({ instanceCount: 20, modality: 'CT' })]);
    expect(detail.study.ownerGroup.id).toBe(groupId);

    const again = await oneShot(files);
    expect(again.job!.counters).toMatchObject({ instancesStored: 0, duplicates: 20, rejected: 0 });
  });
});
