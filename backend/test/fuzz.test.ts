// Deterministic fuzzing of the backend, run as its own process against real Orthanc, Redis
// and the reference inference service. Well over a thousand hostile inputs, generated from
// one seed: mutated DICOM files (imports and STOW-RS), mutated and bomb ZIPs, mutated NIfTI
// headers, malformed JSON bodies and hostile query strings and path parameters on every route
// of /api/openapi.json (as a signed-in admin and anonymously), and broken multipart bodies.
// What must hold: no 5xx for a client's mistake, no request left without an answer, the
// process stays up (liveness after every batch) and its memory stays bounded.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateRawSync, gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Agent, fetch as undiciFetch } from 'undici';
import yazl from 'yazl';
import { startInferenceServer } from '../../infra/inference/server.js';
import { findFreePorts } from '../../infra/src/ports.js';
import { tailFile } from '../../infra/src/process.js';
import { openDatabase, type Db } from '../src/db/client.js';
import type { AppDeps } from '../src/lib/context.js';
import { createUser, startTestServices, type TestServices } from './harness.js';
import { dicomFiles, form, rewriteDicom, sharedData, stowBody } from './dicom.js';

const SEED = Number(process.env.PD_FUZZ_SEED ?? 20261122);
/** PD_FUZZ_DUMP=<folder> writes every generated file there, to replay one input on its own. */
const DUMP_DIR = process.env.PD_FUZZ_DUMP ?? '';
function dump(name: string, data: Buffer): void {
  if (!DUMP_DIR) return;
  mkdirSync(DUMP_DIR, { recursive: true });
  writeFileSync(join(DUMP_DIR, name), data);
}
const ORIGIN = 'http://gateway.test';
const RSS_GROWTH_LIMIT_MB = 300;
const backendDir = join(import.meta.dirname, '..');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const uid = () => `2.25.${Array.from({ length: 3 }, () => String(int(100_000_000, 999_999_999))).join('')}`;
  return { next, int, pick, uid };
}
type Rng = ReturnType<typeof prng>;

type Finding = { category: string; input: string; status: number; answer: string };
type Sent = { status: number; text: string; ms: number };

// ---------------------------------------------------------------- DICOM mutations

/** Positions of the value-length fields of an explicit VR little endian dataset (meta group and, if explicit, the rest). */
function lengthFields(file: Buffer): { at: number; bytes: 2 | 4 }[] {
  const fields: { at: number; bytes: 2 | 4 }[] = [];
  if (file.length < 132 || file.toString('latin1', 128, 132) !== 'DICM') return fields;
  const long = new Set(['OB', 'OW', 'OF', 'SQ', 'UT', 'UN', 'OD', 'OL', 'OV', 'SV', 'UV', 'UC', 'UR']);
  let pos = 132;
  while (pos + 8 <= file.length && fields.length < 200) {
    const vr = file.toString('latin1', pos + 4, pos + 6);
    if (!/^[A-Z]{2}$/.test(vr)) break;
    if (long.has(vr)) {
      const length = file.readUInt32LE(pos + 8);
      fields.push({ at: pos + 8, bytes: 4 });
      if (length === 0xffffffff) break;
      pos += 12 + length;
    } else {
      fields.push({ at: pos + 6, bytes: 2 });
      pos += 8 + file.readUInt16LE(pos + 6);
    }
  }
  return fields;
}

/** Whether an element of the file meta group (0002,xxxx) declares a value longer than the rest of the file. */
function metaLengthOverflow(file: Buffer): boolean {
  if (file.length < 132 || file.toString('latin1', 128, 132) !== 'DICM') return false;
  const long = new Set(['OB', 'OW', 'OF', 'SQ', 'UT', 'UN', 'OD', 'OL', 'OV', 'SV', 'UV', 'UC', 'UR']);
  let pos = 132;
  while (pos + 8 <= file.length && file.readUInt16LE(pos) === 0x0002) {
    const vr = file.toString('latin1', pos + 4, pos + 6);
    const length = long.has(vr) ? (pos + 12 <= file.length ? file.readUInt32LE(pos + 8) : 0) : file.readUInt16LE(pos + 6);
    const start = pos + (long.has(vr) ? 12 : 8);
    if (length !== 0xffffffff && start + length > file.length) return true;
    pos = start + length;
  }
  return false;
}

function mutateDicom(rng: Rng, base: Buffer): { data: Buffer; how: string } {
  const data = Buffer.from(base);
  const kind = rng.pick(['bitflip', 'truncate', 'length', 'huge-length', 'insert', 'splice', 'magic', 'header-noise'] as const);
  switch (kind) {
    case 'bitflip': {
      const flips = rng.int(1, 24);
      const within = rng.next() < 0.7 ? Math.min(data.length, 4096) : data.length;
      for (let i = 0; i < flips; i++) {
        const at = rng.int(0, within - 1);
        data[at]! ^= 1 << rng.int(0, 7);
      }
      return { data, how: `${flips} bit flips` };
    }
    case 'truncate': {
      const at = rng.int(0, data.length - 1);
      return { data: data.subarray(0, at), how: `truncated at ${at}/${base.length}` };
    }
    case 'length':
    case 'huge-length': {
      const fields = lengthFields(data);
      if (!fields.length) return { data: data.subarray(0, rng.int(0, 200)), how: 'no length fields: truncated' };
      const field = rng.pick(fields);
      const value = kind === 'huge-length' ? rng.pick([0xffffffff, 0xfffffffe, 0x7fffffff, 0x80000000, 0xfffffff0]) : rng.int(0, field.bytes === 2 ? 0xffff : 0xfffff);
      if (field.bytes === 2) data.writeUInt16LE(value & 0xffff, field.at);
      else data.writeUInt32LE(value >>> 0, field.at);
      return { data, how: `${kind} ${value} at ${field.at}` };
    }
    case 'insert': {
      const at = rng.int(132, data.length);
      const noise = Buffer.from(Array.from({ length: rng.int(1, 64) }, () => rng.int(0, 255)));
      return { data: Buffer.concat([data.subarray(0, at), noise, data.subarray(at)]), how: `${noise.length} random bytes inserted at ${at}` };
    }
    case 'splice': {
      const from = rng.int(0, data.length - 1);
      const to = rng.int(132, data.length - 1);
      const length = rng.int(1, 512);
      data.copy(data, to, from, Math.min(data.length, from + length));
      return { data, how: `${length} bytes copied from ${from} to ${to}` };
    }
    case 'magic':
      data.write(rng.pick(['DICN', '\0\0\0\0', 'PK\x03\x04', '\x1f\x8b\x08\0']), 128, 'latin1');
      return { data, how: 'magic overwritten' };
    case 'header-noise': {
      const at = rng.int(132, Math.min(data.length - 16, 1024));
      for (let i = 0; i < 16; i++) data[at + i] = rng.int(0, 255);
      return { data, how: `16 random bytes at ${at}` };
    }
  }
}

// ---------------------------------------------------------------- ZIP construction and mutations

async function zipOf(entries: { name: string; data: Buffer; compress?: boolean }[]): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const entry of entries) zip.addBuffer(entry.data, entry.name, { compress: entry.compress ?? true });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

const EOCD = 0x06054b50;
const CDH = 0x02014b50;
const LFH = 0x04034b50;
function eocdAt(zip: Buffer): number {
  for (let i = zip.length - 22; i >= 0; i--) if (zip.readUInt32LE(i) === EOCD) return i;
  return -1;
}
function centralEntries(zip: Buffer): number[] {
  const end = eocdAt(zip);
  if (end < 0) return [];
  const at: number[] = [];
  let pos = zip.readUInt32LE(end + 16);
  while (pos + 46 <= zip.length && zip.readUInt32LE(pos) === CDH && at.length < 100_000) {
    at.push(pos);
    pos += 46 + zip.readUInt16LE(pos + 28) + zip.readUInt16LE(pos + 30) + zip.readUInt16LE(pos + 32);
  }
  return at;
}
function localHeaders(zip: Buffer): number[] {
  const at: number[] = [];
  for (let i = 0; i + 4 <= zip.length; i++) if (zip.readUInt32LE(i) === LFH) at.push(i);
  return at;
}
/** Renames entries in place (names of equal length), so hostile names yazl would refuse can be made. */
function renameInPlace(zip: Buffer, from: string, to: Buffer): Buffer {
  const data = Buffer.from(zip);
  let at = data.indexOf(from, 0, 'latin1');
  while (at >= 0) {
    to.copy(data, at);
    at = data.indexOf(from, at + 1, 'latin1');
  }
  return data;
}
/** The same central-directory record repeated `times` (overlapping entries, all pointing at one local header). */
function overlapping(zip: Buffer, times: number): Buffer {
  const end = eocdAt(zip);
  const cdStart = zip.readUInt32LE(end + 16);
  const record = zip.subarray(cdStart, end);
  const cd = Buffer.concat(Array.from({ length: times }, () => record));
  const eocd = Buffer.from(zip.subarray(end));
  eocd.writeUInt16LE(Math.min(times, 0xffff), 8);
  eocd.writeUInt16LE(Math.min(times, 0xffff), 10);
  eocd.writeUInt32LE(cd.length, 12);
  return Buffer.concat([zip.subarray(0, cdStart), cd, eocd]);
}

function mutateZip(rng: Rng, base: Buffer): { data: Buffer; how: string } {
  const data = Buffer.from(base);
  const end = eocdAt(data);
  const cds = centralEntries(data);
  const lfhs = localHeaders(data);
  const kind = rng.pick(['cd-noise', 'lfh-noise', 'eocd-noise', 'cd-sizes', 'lfh-sizes', 'eocd-count', 'cd-offset', 'truncate', 'random-bytes', 'name-length'] as const);
  const u32 = () => rng.pick([0, 1, 0xffffffff, 0x7fffffff, rng.int(0, 0xffffffff), rng.int(0, 4096)]);
  switch (kind) {
    case 'cd-noise': {
      const at = rng.pick(cds) + rng.int(0, 45);
      for (let i = 0; i < rng.int(1, 8); i++) if (at + i < data.length) data[at + i] = rng.int(0, 255);
      return { data, how: `central directory noise at ${at}` };
    }
    case 'lfh-noise': {
      const at = rng.pick(lfhs) + rng.int(0, 29);
      for (let i = 0; i < rng.int(1, 8); i++) if (at + i < data.length) data[at + i] = rng.int(0, 255);
      return { data, how: `local header noise at ${at}` };
    }
    case 'eocd-noise': {
      const at = end + rng.int(4, 21);
      data[at] = rng.int(0, 255);
      return { data, how: `end record noise at ${at}` };
    }
    case 'cd-sizes': {
      const cd = rng.pick(cds);
      const compressed = u32();
      const uncompressed = u32();
      data.writeUInt32LE(compressed >>> 0, cd + 20);
      data.writeUInt32LE(uncompressed >>> 0, cd + 24);
      return { data, how: `central directory sizes lie: compressed ${compressed}, uncompressed ${uncompressed}` };
    }
    case 'lfh-sizes': {
      const lfh = rng.pick(lfhs);
      const value = u32();
      data.writeUInt32LE(value >>> 0, lfh + rng.pick([18, 22]));
      return { data, how: `local header size lies: ${value}` };
    }
    case 'eocd-count': {
      const count = rng.pick([0, 0xffff, rng.int(0, 0xffff)]);
      data.writeUInt16LE(count, end + 8);
      data.writeUInt16LE(count, end + 10);
      return { data, how: `end record claims ${count} entries` };
    }
    case 'cd-offset': {
      const value = u32();
      if (rng.next() < 0.5) data.writeUInt32LE(value >>> 0, end + 16);
      else data.writeUInt32LE(value >>> 0, rng.pick(cds) + 42);
      return { data, how: `directory or entry offset ${value}` };
    }
    case 'truncate': {
      const at = rng.int(0, data.length - 1);
      return { data: data.subarray(0, at), how: `truncated at ${at}/${data.length}` };
    }
    case 'random-bytes': {
      for (let i = 0; i < rng.int(1, 32); i++) data[rng.int(0, data.length - 1)] = rng.int(0, 255);
      return { data, how: 'random bytes anywhere' };
    }
    case 'name-length': {
      const cd = rng.pick(cds);
      const value = rng.pick([0, 0xffff, rng.int(0, 0xffff)]);
      data.writeUInt16LE(value, cd + rng.pick([28, 30, 32]));
      return { data, how: `name/extra/comment length ${value}` };
    }
  }
}

// ---------------------------------------------------------------- NIfTI header mutations

type NiftiBase = { name: string; data: Buffer; version: 1 | 2; le: boolean };
function niftiBase(name: string, raw: Buffer): NiftiBase {
  const data = raw[0] === 0x1f && raw[1] === 0x8b ? gunzipSync(raw) : raw;
  const le1 = data.readInt32LE(0);
  const be1 = data.readInt32BE(0);
  if (le1 === 348 || be1 === 348) return { name, data, version: 1, le: le1 === 348 };
  return { name, data, version: 2, le: le1 === 540 };
}

function mutateNifti(rng: Rng, base: NiftiBase): { data: Buffer; how: string; gz: boolean } {
  const data = Buffer.from(base.data);
  const le = base.le;
  const i16 = (at: number, v: number) => (le ? data.writeInt16LE(v, at) : data.writeInt16BE(v, at));
  const i32 = (at: number, v: number) => (le ? data.writeInt32LE(v, at) : data.writeInt32BE(v, at));
  const i64 = (at: number, v: bigint) => (le ? data.writeBigInt64LE(v, at) : data.writeBigInt64BE(v, at));
  const f32 = (at: number, v: number) => (le ? data.writeFloatLE(v, at) : data.writeFloatBE(v, at));
  const f64 = (at: number, v: number) => (le ? data.writeDoubleLE(v, at) : data.writeDoubleBE(v, at));
  const odd = () => rng.pick([0, -1, 1, 2, 3, 7, 8, 9, 255, 32767, -32768, rng.int(-32768, 32767)]);
  const oddFloat = () => rng.pick([NaN, Infinity, -Infinity, 0, -0, 1e38, -1e38, 1e-38, rng.next() * 1e6 - 5e5]);
  const n1 = base.version === 1;
  const kind = rng.pick(['dim0', 'dims', 'huge-dims', 'datatype', 'bitpix', 'vox_offset', 'pixdim', 'scl', 'sform', 'qform', 'sizeof_hdr', 'magic', 'truncate', 'noise'] as const);
  let how: string = kind;
  switch (kind) {
    case 'dim0': {
      const v = odd();
      n1 ? i16(40, v) : i64(16, BigInt(v));
      how = `dim[0]=${v}`;
      break;
    }
    case 'dims': {
      const which = rng.int(1, 7);
      const v = odd();
      n1 ? i16(40 + which * 2, v) : i64(16 + which * 8, BigInt(v));
      how = `dim[${which}]=${v}`;
      break;
    }
    case 'huge-dims': {
      const v = rng.pick([32767, 30000, 65535 & 0x7fff]);
      for (let d = 1; d <= 3; d++) n1 ? i16(40 + d * 2, v) : i64(16 + d * 8, rng.next() < 0.5 ? BigInt(v) : 2n ** 40n);
      how = `dims 1..3 = ${v} (or 2^40)`;
      break;
    }
    case 'datatype': {
      const v = rng.pick([0, 1, 32, 128, 1536, 2304, 3, 5, 4096, -1, rng.int(-32768, 32767)]);
      n1 ? i16(70, v) : i16(12, v);
      how = `datatype=${v}`;
      break;
    }
    case 'bitpix': {
      const v = odd();
      n1 ? i16(72, v) : i16(14, v);
      how = `bitpix=${v}`;
      break;
    }
    case 'vox_offset': {
      if (n1) {
        const v = rng.pick([-1, 0, 1, 347, 349, 1e9, 3.5, NaN, Infinity, -Infinity, 2 ** 31]);
        f32(108, v);
        how = `vox_offset=${v}`;
      } else {
        const v = rng.pick([-1n, 0n, 1n, 539n, 541n, 2n ** 62n, -(2n ** 62n)]);
        i64(168, v);
        how = `vox_offset=${v}`;
      }
      break;
    }
    case 'pixdim': {
      const which = rng.int(0, 7);
      const v = oddFloat();
      n1 ? f32(76 + which * 4, v) : f64(104 + which * 8, v);
      how = `pixdim[${which}]=${v}`;
      break;
    }
    case 'scl': {
      const v = oddFloat();
      n1 ? f32(rng.pick([112, 116]), v) : f64(rng.pick([176, 184]), v);
      how = `scl=${v}`;
      break;
    }
    case 'sform': {
      n1 ? i16(254, rng.pick([1, 2, 3, 4, 5, -1])) : i32(348, rng.pick([1, 2, 3, 4, 5, -1]));
      for (let r = 0; r < 12; r++) (n1 ? f32(280 + r * 4, oddFloat()) : f64(400 + r * 8, oddFloat()));
      how = 'sform garbage';
      break;
    }
    case 'qform': {
      n1 ? i16(252, rng.pick([1, 2, 9, -3])) : i32(344, rng.pick([1, 2, 9, -3]));
      for (let r = 0; r < 6; r++) (n1 ? f32(256 + r * 4, oddFloat()) : f64(352 + r * 8, oddFloat()));
      how = 'qform garbage';
      break;
    }
    case 'sizeof_hdr':
      i32(0, rng.pick([0, 347, 349, 540, 348, -1]));
      how = 'sizeof_hdr';
      break;
    case 'magic':
      data.write(rng.pick(['ni1\0', 'n+2\0', 'xxxx', '\0\0\0\0']), n1 ? 344 : 4, 'latin1');
      how = 'magic';
      break;
    case 'truncate': {
      const at = rng.int(0, Math.min(data.length, 1200));
      return { data: data.subarray(0, at), how: `truncated at ${at}`, gz: rng.next() < 0.5 };
    }
    case 'noise':
      for (let i = 0; i < 8; i++) data[rng.int(0, n1 ? 347 : 539)] = rng.int(0, 255);
      how = 'header noise';
      break;
  }
  return { data, how, gz: rng.next() < 0.4 };
}

// ---------------------------------------------------------------- JSON bodies, queries, paths

/** A plausible body per route, which the mutators then break in many ways. */
function baseBody(path: string, method: string): Record<string, unknown> {
  const table: [RegExp, Record<string, unknown>][] = [
    [/auth\/login/, { email: 'someone@example.test', password: 'a-password-long-enough' }],
    [/change-password/, { currentPassword: 'wrong-password-x', newPassword: 'another-long-password-1' }],
    [/admin\/users$/, { email: 'new.user@example.test', displayName: 'New', role: 'researcher', groupIds: [] }],
    [/admin\/users\/\{id\}/, { displayName: 'x', role: 'admin', isActive: true, groupIds: [] }],
    [/admin\/groups/, { name: 'G', description: 'd' }],
    [/admin\/invitations/, { email: 'invitee@example.test', role: 'researcher', groupIds: [] }],
    [/tokens/, { name: 't', scope: 'read', expiresInDays: 1 }],
    [/shares/, { groupId: '00000000-0000-4000-8000-000000000000' }],
    [/share-links/, { expiresInHours: 1 }],
    [/imports/, { groupId: '00000000-0000-4000-8000-000000000000', label: 'x' }],
    [/studies\/\{uid\}$/, { ownerGroupId: '00000000-0000-4000-8000-000000000000' }],
    [/inference\/jobs$/, { seriesInstanceUids: ['1.2.3'], model: 'ct_body_lungs_bone', params: {} }],
    [/validation/, { decision: 'rejected', comment: 'c' }],
    [/exports$/, { studyInstanceUids: ['1.2.3'], patientKeys: [], search: { q: 'x' }, format: 'dicom', deidentify: true, deidOptions: [], purpose: 'p-p', recipient: 'rr' }],
    [/accept/, { displayName: 'x', password: 'a-long-enough-password-1' }],
  ];
  void method;
  return table.find(([pattern]) => pattern.test(path))?.[1] ?? {};
}

function hostileBodies(rng: Rng, base: Record<string, unknown>): { body: string; contentType: string; how: string }[] {
  const json = 'application/json';
  const fields = Object.keys(base);
  const field = () => (fields.length ? rng.pick(fields) : 'x');
  const text = JSON.stringify(base);
  const depth = rng.pick([2_000, 20_000, 200_000]);
  const deepObject = (d: number) => '{"a":'.repeat(d) + '1' + '}'.repeat(d);
  const wrong = [123, -1, 1e308, true, null, [], {}, '', ['x', 1, null], { $ne: null }];
  const withWrongTypes = Object.fromEntries(Object.keys(base).map((k) => [k, rng.pick(wrong)]));
  const proto = `{${text.slice(1, -1)}${fields.length ? ',' : ''}"__proto__":{"role":"admin","isAdmin":true,"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes","role":"admin"}},"prototype":{"polluted":"yes"}}`;
  return [
    { body: text.slice(0, rng.int(0, Math.max(0, text.length - 1))), contentType: json, how: 'truncated JSON' },
    { body: '['.repeat(depth) + ']'.repeat(depth), contentType: json, how: `arrays nested ${depth} deep` },
    { body: `{${text.slice(1, -1)}${fields.length ? ',' : ''}"${field()}":${deepObject(depth)}}`, contentType: json, how: `a field nested ${depth} deep` },
    { body: JSON.stringify({ ...base, [field()]: 'A'.repeat(rng.pick([70_000, 1_000_000, 4_000_000])) }), contentType: json, how: 'a huge string' },
    { body: JSON.stringify(withWrongTypes), contentType: json, how: `wrong types ${JSON.stringify(withWrongTypes).slice(0, 120)}` },
    { body: proto, contentType: json, how: 'prototype pollution keys' },
    { body: JSON.stringify({ ...base, [field()]: rng.pick(['\u0000', '\ud800', '\u202e\u0000admin', '😀'.repeat(1000), 'x\r\nSet-Cookie: a=b', '<script>alert(1)</script>', "'; DROP TABLE users; --"]) }), contentType: json, how: 'control, surrogate and injection characters' },
    { body: rng.pick(['', 'null', '1', '"str"', '[]', 'true', '{', '}', 'garbage', '\ufeff{}', '{"a":1}{"b":2}', '{"a":1e400}', '{"a":-0}', `{"a":${'9'.repeat(400)}}`]), contentType: json, how: 'not an object' },
    { body: text, contentType: rng.pick(['text/plain', 'application/json; charset=utf-16', 'multipart/form-data', 'application/x-www-form-urlencoded', 'application/json;;;', '']), how: 'content type mismatch' },
    { body: `{${fields.map((k) => `"${k}":1,"${k}":{"$gt":""}`).join(',')}}`, contentType: json, how: 'duplicate keys' },
    { body: Buffer.from(text).toString('utf16le'), contentType: json, how: 'UTF-16 bytes' },
  ];
}

function hostileQueries(rng: Rng, params: string[]): { query: string; how: string }[] {
  const names = [...params, 'limit', 'offset', 'q'];
  const each = (value: () => string) => names.map((n) => `${encodeURIComponent(n)}=${value()}`).join('&');
  return [
    { query: each(() => 'A'.repeat(rng.pick([2_000, 6_000]))), how: 'very long values' },
    { query: names.map((n) => `${n}=1&${n}=x&${n}=-1`).join('&'), how: 'repeated keys' },
    { query: each(() => rng.pick(['%00', 'a%00b', '%00%00%00'])), how: 'encoded nulls' },
    { query: each(() => rng.pick(['%F0%9F%98%80', '%E2%80%AE', '%EF%BF%BF', '%ED%A0%80'])), how: 'unicode and lone surrogates' },
    { query: each(() => rng.pick(['%FF%FE', '%', '%G0', '%C0%AF', '%E0%A4%A', '%%'])), how: 'invalid percent-encoding' },
    { query: each(() => rng.pick(['-1', '0', '1e309', '9007199254740993', 'NaN', '0x10', '-0', '1.5', 'Infinity'])), how: 'numeric edges' },
    { query: 'limit[]=1&q[$gt]=&__proto__[polluted]=1&constructor[prototype][polluted]=1&toString=1&hasOwnProperty=1', how: 'array/object syntax and prototype keys' },
    { query: Array.from({ length: 1000 }, (_, i) => `p${i}=${i}`).join('&'), how: '1000 parameters' },
  ];
}

const hostilePathValues = ['x', '%00', '%FF', '..%2F..%2Fetc%2Fpasswd', 'A'.repeat(300), '1.2.3.4', '-1', '%F0%9F%98%80', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '0'.repeat(64), '%2e%2e', '1.2.840.10008.5.1.4.1.1.2%00', '__proto__', 'constructor', '%E0%A4%A'];

// ---------------------------------------------------------------- the backend process

class BackendProcess {
  child: ChildProcess | null = null;
  constructor(
    readonly env: Record<string, string>,
    readonly url: string,
    readonly logPath: string,
  ) {}
  async start(): Promise<void> {
    const log = openSync(this.logPath, 'a');
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], { cwd: backendDir, env: { ...process.env, ...this.env }, stdio: ['ignore', log, log] });
    closeSync(log);
    this.child = child;
    for (let i = 0; i < 150; i++) {
      if (child.exitCode !== null) throw new Error(`backend exited at start: see ${this.logPath}`);
      if (await fetch(`${this.url}/api/health/live`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.ok).catch(() => false)) return;
      await sleep(200);
    }
    throw new Error('backend did not start within 30 s');
  }
  get alive(): boolean {
    return this.child !== null && this.child.exitCode === null && this.child.signalCode === null;
  }
  /** Resident set size of the backend process, in MB (from /proc). */
  rssMb(): number {
    const status = readFileSync(`/proc/${this.child!.pid}/status`, 'utf8');
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
  }
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || !this.alive) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

describe('fuzz: over a thousand hostile inputs (backend as its own process)', () => {
  let services: TestServices;
  let inference: { port: number; close(): Promise<void> };
  let backend: BackendProcess;
  let db: Db;
  let base = '';
  let adminCookie = '';
  let researcherCookie = '';
  /** A new admin session of its own, for the requests that may end the session they come with (sign-out). */
  let freshAdminCookie: () => Promise<string> = async () => '';
  let groupId = '';
  let rssStart = 0;
  let rssMax = 0;
  let inputs = 0;
  const findings: Finding[] = [];
  const statusCounts: Record<string, Record<string, number>> = {};
  // One stream per category, so running a single test (-t) generates the same inputs as a full run.
  const streams = { ip: prng(SEED), dicom: prng(SEED + 1), zip: prng(SEED + 2), nifti: prng(SEED + 3), routes: prng(SEED + 4) };
  /** Broken invariants other than status codes (e.g. a file without an outcome), per test. */
  let violations: string[] = [];
  beforeEach(() => {
    violations = [];
  });

  /**
   * Sends one request; a missing answer within the timeout is status 0. Each request gets its
   * own connection: a server that answers early (413 before reading a big body) closes the
   * connection, and a keep-alive pool would then fail the next, unrelated request with
   * "other side closed". When the server closes the connection while a big body is still
   * being sent, that is recorded as status -1 (an early refusal), not as a missing answer.
   */
  async function send(path: string, init: { method?: string; cookie?: string; body?: BodyInit; contentType?: string; headers?: Record<string, string>; timeoutMs?: number }): Promise<Sent> {
    const headers: Record<string, string> = { origin: ORIGIN, 'x-real-ip': `10.${streams.ip.int(0, 255)}.${streams.ip.int(0, 255)}.${streams.ip.int(1, 254)}`, ...(init.headers ?? {}) };
    if (init.cookie) headers.cookie = init.cookie;
    if (init.contentType !== undefined && init.contentType !== '') headers['content-type'] = init.contentType;
    let body = init.body;
    if (body instanceof FormData) {
      // undici's own fetch does not know Node's global FormData: encode it here.
      const encoded = new Response(body);
      headers['content-type'] = encoded.headers.get('content-type')!;
      body = new Uint8Array(await encoded.arrayBuffer());
    }
    const started = Date.now();
    const dispatcher = new Agent({ pipelining: 0 });
    try {
      const response = await undiciFetch(`${base}${path}`, { method: init.method ?? 'GET', headers, body: body as never, signal: AbortSignal.timeout(init.timeoutMs ?? 20_000), dispatcher });
      const text = await response.text();
      return { status: response.status, text, ms: Date.now() - started };
    } catch (error) {
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const size = typeof body === 'string' ? body.length : body instanceof Uint8Array ? body.length : 0;
      const closedEarly = size > 64 * 1024 && ['UND_ERR_SOCKET', 'EPIPE', 'ECONNRESET'].includes(cause?.code ?? '');
      return { status: closedEarly ? -1 : 0, text: `no answer: ${(error as Error).message}${cause ? ` (${cause.code ?? ''} ${cause.message ?? ''})` : ''}`, ms: Date.now() - started };
    } finally {
      void dispatcher.close().catch(() => undefined);
    }
  }

  function judge(category: string, input: string, sent: Sent): void {
    inputs++;
    const counts = (statusCounts[category] ??= {});
    counts[sent.status] = (counts[sent.status] ?? 0) + 1;
    if (sent.status === 0 || sent.status >= 500) findings.push({ category, input: input.slice(0, 300), status: sent.status, answer: sent.text.slice(0, 300) });
  }

  /** After each batch: the process is up, answers liveness, and its memory is within bounds. */
  async function checkProcess(where: string): Promise<void> {
    expect(backend.alive, `backend died during ${where}; see ${backend.logPath}`).toBe(true);
    const live = await fetch(`${base}/api/health/live`, { signal: AbortSignal.timeout(5_000) }).catch(() => null);
    expect(live?.status, `liveness after ${where}`).toBe(200);
    const rss = backend.rssMb();
    rssMax = Math.max(rssMax, rss);
    expect(rss - rssStart, `RSS grew from ${rssStart.toFixed(0)} to ${rss.toFixed(0)} MB after ${where}`).toBeLessThan(RSS_GROWTH_LIMIT_MB);
  }

  const of = (category: string) => findings.filter((f) => f.category === category);

  /** Batches during which Orthanc died, with whether one of their files has an overflowing meta header (BUG-Z1). */
  const orthancCrashes: { batch: string; metaOverflow: boolean; inputs: string[] }[] = [];
  /** After a batch: if Orthanc died (as the launcher would), note it and start it again. */
  async function orthancWatchdog(batch: string, sentFiles: { name: string; data: Buffer; how: string }[]): Promise<void> {
    await sleep(100);
    if (services.orthanc.proc.running) return;
    // Inside stored ZIP entries too: every "DICM" marker starts a candidate file 128 bytes earlier.
    const candidates = (data: Buffer) => {
      const found: Buffer[] = [data];
      for (let at = data.indexOf('DICM', 128, 'latin1'); at >= 0; at = data.indexOf('DICM', at + 1, 'latin1')) found.push(data.subarray(at - 128));
      return found;
    };
    const overflowing = sentFiles.filter((f) => candidates(f.data).some(metaLengthOverflow));
    orthancCrashes.push({ batch, metaOverflow: overflowing.length > 0, inputs: overflowing.map((f) => `${f.name}: ${f.how}`) });
    await services.orthanc.restart();
    for (let i = 0; i < 50; i++) {
      if ((await send('/api/health', {})).status === 200) return;
      await sleep(200);
    }
  }

  beforeAll(async () => {
    services = await startTestServices();
    const [inferencePort, backendPort] = await findFreePorts(2);
    inference = await startInferenceServer({ host: '127.0.0.1', port: inferencePort!, maxUploadBytes: 1024 ** 3 });
    const databasePath = join(services.dir, 'data', 'fuzz.sqlite');
    base = `http://127.0.0.1:${backendPort}`;
    backend = new BackendProcess(
      {
        PD_DATABASE_PATH: databasePath,
        PD_REDIS_URL: services.redis.url,
        PD_ORTHANC_URL: services.orthanc.url,
        PD_ORTHANC_USER: services.orthanc.user,
        PD_ORTHANC_PASSWORD: services.orthanc.password,
        PD_PUBLIC_URL: ORIGIN,
        PD_JWT_SECRET: 'integration-test-jwt-secret-0123456789abcdef',
        PD_LOG_LEVEL: 'error',
        PD_BACKEND_PORT: String(backendPort),
        PD_TMP_DIR: join(services.dir, 'tmp'),
        PD_INFERENCE_URL: `http://127.0.0.1:${inferencePort}`,
      },
      base,
      join(services.dir, 'backend.log'),
    );
    db = openDatabase(databasePath);
    const deps = { db } as AppDeps;
    const admin = await createUser(deps, { email: 'fuzz.admin@example.test', role: 'admin', groups: ['Fuzz Lab'] });
    const researcher = await createUser(deps, { email: 'fuzz.researcher@example.test', role: 'researcher', groups: ['Fuzz Lab'] });
    // The fuzzer PATCHes this one (its plausible body promotes it), never the researcher checked at the end.
    await createUser(deps, { email: 'fuzz.target@example.test', role: 'researcher', groups: ['Fuzz Lab'] });
    groupId = admin.groupIds[0]!;
    await backend.start();
    const signIn = async (email: string, password: string) => {
      const response = await fetch(`${base}/api/auth/login`, { method: 'POST', headers: { origin: ORIGIN, 'content-type': 'application/json', 'x-real-ip': '192.0.2.1' }, body: JSON.stringify({ email, password }) });
      expect(response.status).toBe(200);
      // Only the access cookie: a fuzzed POST /api/auth/refresh must not rotate (and so end) the session the fuzzer uses.
      return response.headers.getSetCookie().map((c) => c.split(';')[0]!).filter((c) => c.startsWith('pd_access=')).join('; ');
    };
    adminCookie = await signIn(admin.email, admin.password);
    // Sign-out routes get sessions of a second admin (logout-all ends every session of its user).
    const outgoing = await createUser(deps, { email: 'fuzz.admin2@example.test', role: 'admin', groups: ['Fuzz Lab'] });
    freshAdminCookie = () => signIn(outgoing.email, outgoing.password);
    researcherCookie = await signIn(researcher.email, researcher.password);
    // Warm up (first requests load code), then take the memory baseline.
    const warm = dicomFiles('hierarchy-pydicom-dicomdirtests/98892001').slice(0, 2);
    await send(`/api/imports?groupId=${groupId}`, { method: 'POST', cookie: adminCookie, body: form(warm.map((d, i) => ({ name: `warm${i}.dcm`, data: d }))) });
    await send('/api/openapi.json', {});
    rssStart = backend.rssMb();
    rssMax = rssStart;
  }, 120_000);

  afterAll(async () => {
    // What the backend itself logged as unhandled (the root cause of each 500), deduplicated.
    let unhandled: string[] = [];
    try {
      unhandled = [
        ...new Set(
          readFileSync(backend.logPath, 'utf8')
            .split('\n')
            .filter((line) => line.includes('"unhandled error"'))
            .map((line) => {
              const entry = JSON.parse(line) as { err?: { type?: string; message?: string; stack?: string } };
              return `${entry.err?.type}: ${entry.err?.message} @ ${(entry.err?.stack ?? '').split('\n').slice(1, 3).map((l) => l.trim()).join(' < ')}`;
            }),
        ),
      ];
    } catch {
      unhandled = ['(backend log not readable)'];
    }
    // A dependency that died under the fuzz is a finding in its own right: keep the end of its log.
    const orthancExit = services?.orthanc.proc.exitInfo ?? null;
    const orthancLog = orthancExit ? tailFile(join(services.dir, 'logs', 'orthanc.log'), 40) : null;
    const summary = { seed: SEED, inputs, rssStartMb: Math.round(rssStart), rssMaxMb: Math.round(rssMax), statusCounts, findings, unhandled, orthancExit, orthancLog };
    console.info(`fuzz summary:\n${JSON.stringify(summary, null, 2)}`);
    await backend?.stop();
    db?.$client.close();
    await inference?.close();
    await services?.stop();
  });

  it('mutated DICOM files through /api/imports and STOW-RS: every file gets an outcome, never a 5xx', { timeout: 120_000 }, async () => {
    const small = [
      readFileSync(join(sharedData, 'odd-encodings-pydicom/MR_small.dcm')),
      readFileSync(join(sharedData, 'seg-highdicom-on-pydicom-ct2/ct/CT_small.dcm')),
      ...dicomFiles('hierarchy-pydicom-dicomdirtests/98892001').slice(0, 2),
      readFileSync(join(sharedData, 'odd-encodings-pydicom/MR_small_implicit.dcm')),
      readFileSync(join(sharedData, 'seg-dcmqi-ct3slice/seg/liver.dcm')),
    ];
    const big = readFileSync(join(sharedData, 'ct-volume-pancreas-tcia/1-046.dcm'));
    const rng = streams.dicom;
    const mutant = (i: number) => {
      const source = i % 25 === 0 ? big : rng.pick(small);
      // A fresh SOP Instance UID first (dcmjs), so mutants that Orthanc accepts are new instances.
      let prepared = source;
      try {
        prepared = rewriteDicom(source, { SOPInstanceUID: rng.uid() });
      } catch {
        prepared = source;
      }
      const { data, how } = mutateDicom(rng, prepared);
      dump(`dicom-${i}.dcm`, data);
      return { name: `mutant-${i}.dcm`, data, how };
    };
    // 200 files through imports, 20 per request.
    for (let batch = 0; batch < 10; batch++) {
      const files = Array.from({ length: 20 }, (_, i) => mutant(batch * 20 + i));
      const sent = await send(`/api/imports?groupId=${groupId}`, { method: 'POST', cookie: adminCookie, body: form(files), timeoutMs: 60_000 });
      for (const f of files) judge('dicom-import', `import-batch-${batch} ${f.name}: ${f.how}`, sent);
      await orthancWatchdog(`import-batch-${batch}`, files);
      if (sent.status === 201) {
        // Every file got exactly one outcome.
        const job = (JSON.parse(sent.text) as { import: { counters: Record<string, number> } }).import.counters;
        const outcomes = job.instancesStored! + job.duplicates! + job.rejected! + job.skipped!;
        if (job.filesReceived !== files.length || outcomes !== files.length) violations.push(`import-batch-${batch}: ${files.length} files sent, counters ${JSON.stringify(job)}`);
      } else if (sent.status < 500) violations.push(`DICOM import batch ${batch}: ${sent.status} ${sent.text.slice(0, 200)}`);
      await checkProcess(`DICOM import batch ${batch}`);
    }
    // 100 parts through STOW-RS, 10 per request.
    for (let batch = 0; batch < 10; batch++) {
      const parts = Array.from({ length: 10 }, (_, i) => mutant(1000 + batch * 10 + i));
      const { body, contentType } = stowBody(parts.map((p) => p.data));
      const sent = await send('/dicom-web/studies', { method: 'POST', cookie: adminCookie, body: new Uint8Array(body), contentType, timeoutMs: 15_000 });
      for (const p of parts) judge('dicom-stow', `stow-batch-${batch} ${p.name}: ${p.how}`, sent);
      await orthancWatchdog(`stow-batch-${batch}`, parts);
      if (sent.status > 0 && sent.status < 500 && ![200, 202, 409].includes(sent.status)) violations.push(`STOW batch ${batch}: ${sent.status} ${sent.text.slice(0, 200)}`);
      await checkProcess(`STOW batch ${batch}`);
    }
    console.info(`Orthanc crashes during the DICOM fuzz: ${JSON.stringify(orthancCrashes, null, 2)}`);
    // Orthanc never dies: files with an overflowing meta header (BUG-Z1) are refused before it sees them.
    expect(orthancCrashes).toEqual([]);
    expect(of('dicom-import')).toEqual([]);
    expect(of('dicom-stow')).toEqual([]);
    expect(violations).toEqual([]);
  });

  it('mutated ZIPs, lying sizes, overlapping entries, bombs, many entries and deep names through /api/imports: never a 5xx', { timeout: 150_000 }, async () => {
    const entries = [
      { name: 'study/a.dcm', data: readFileSync(join(sharedData, 'odd-encodings-pydicom/MR_small.dcm')) },
      { name: 'study/b.dcm', data: readFileSync(join(sharedData, 'seg-highdicom-on-pydicom-ct2/ct/CT_small.dcm')) },
      { name: 'study/readme.txt', data: Buffer.from('not DICOM\n') },
    ];
    const rng = streams.zip;
    const bases = [await zipOf(entries), await zipOf(entries.map((e) => ({ ...e, compress: false })))];
    const archives: { name: string; data: Buffer; how: string }[] = [];
    for (let i = 0; i < 160; i++) {
      const { data, how } = mutateZip(rng, rng.pick(bases));
      archives.push({ name: `mutant-${i}.zip`, data, how });
    }
    // Hand-made hostile archives.
    const zeros = Buffer.alloc(64 * 1024 * 1024);
    const bomb = await zipOf([{ name: 'bomb.dcm', data: zeros }]);
    const lying = Buffer.from(bomb);
    for (const cd of centralEntries(lying)) lying.writeUInt32LE(1000, cd + 24);
    for (const lfh of localHeaders(lying)) lying.writeUInt32LE(1000, lfh + 22);
    const small = await zipOf([{ name: 'x.dcm', data: entries[0]!.data }]);
    archives.push(
      { name: 'bomb.zip', data: bomb, how: '64 MiB of zeros in one entry (ratio ~1000:1)' },
      { name: 'lying-bomb.zip', data: lying, how: 'declares 1000 bytes, inflates to 64 MiB' },
      { name: 'overlap.zip', data: overlapping(lying, 5000), how: '5000 central entries sharing one local header (declared small)' },
      { name: 'overlap-big.zip', data: overlapping(bomb, 400), how: '400 overlapping 64 MiB entries (declared 25 GiB)' },
      { name: 'many.zip', data: await zipOf(Array.from({ length: 20_000 }, (_, i) => ({ name: `e/${i}`, data: Buffer.alloc(0), compress: false }))), how: '20,000 empty entries' },
      { name: 'deep.zip', data: await zipOf([{ name: `${'d/'.repeat(3000)}x.dcm`, data: entries[0]!.data }]), how: 'a name 3000 folders deep' },
      { name: 'longname.zip', data: await zipOf([{ name: `${'n'.repeat(60_000)}.dcm`, data: entries[0]!.data }]), how: 'a 60,000 character name' },
      { name: 'nul.zip', data: renameInPlace(small, 'x.dcm', Buffer.from('x\0dcm', 'latin1')), how: 'a NUL byte in the name' },
      { name: 'backslash.zip', data: renameInPlace(await zipOf([{ name: 'aa_aa_x.dcm', data: entries[0]!.data }]), 'aa_aa_x.dcm', Buffer.from('..\\..\\x.dcm', 'latin1')), how: '..\\ in the name' },
      { name: 'drive.zip', data: renameInPlace(await zipOf([{ name: 'cc_x.dcm', data: entries[0]!.data }]), 'cc_x.dcm', Buffer.from('C:/x.dcm', 'latin1')), how: 'a drive letter' },
      { name: 'nested.zip', data: await zipOf([{ name: 'inner.zip', data: bomb }]), how: 'a ZIP bomb inside a ZIP' },
      { name: 'raw-deflate.zip', data: Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), deflateRawSync(Buffer.alloc(1_000_000))]), how: 'a local header signature then raw deflate, no directory' },
      { name: 'empty.zip', data: Buffer.from('PK\x05\x06' + '\0'.repeat(18), 'latin1'), how: 'an empty archive' },
      { name: 'eocd-only-huge.zip', data: Buffer.from([0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0x7f, 0, 0]), how: 'an end record pointing far outside the file' },
    );
    for (let batch = 0; batch * 10 < archives.length; batch++) {
      const files = archives.slice(batch * 10, batch * 10 + 10);
      const sent = await send(`/api/imports?groupId=${groupId}`, { method: 'POST', cookie: adminCookie, body: form(files), timeoutMs: 90_000 });
      for (const f of files) judge('zip', `zip-batch-${batch} ${f.name}: ${f.how}`, sent);
      await orthancWatchdog(`zip-batch-${batch}`, files);
      if (sent.status > 0 && sent.status < 500 && sent.status !== 201) violations.push(`ZIP batch ${batch}: ${sent.status} ${sent.text.slice(0, 200)}`);
      await checkProcess(`ZIP batch ${batch}`);
    }
    expect(orthancCrashes.filter((c) => c.batch.startsWith('zip'))).toEqual([]);
    expect(of('zip')).toEqual([]);
    expect(violations).toEqual([]);
  });

  it('mutated NIfTI headers (dims, datatype, vox_offset, huge dims, transforms) as NIfTI imports with the form: never a 5xx', { timeout: 150_000 }, async () => {
    const read = (path: string) => readFileSync(join(sharedData, path));
    const bases = [
      niftiBase('anatomical.nii', read('nifti-nibabel-variants/anatomical.nii')),
      niftiBase('little.nii', read('nifti-extra-mr-labels-endianness/little.nii.gz')),
      niftiBase('big.nii', read('nifti-extra-mr-labels-endianness/big.nii.gz')),
      niftiBase('5D_small.nii', read('nifti-extra-mr-labels-endianness/5D_small.nii')),
      niftiBase('standard.nii', read('nifti-nibabel-variants/standard.nii.gz')),
      niftiBase('nifti2.nii', read('nifti-nibabel-variants/example_nifti2.nii.gz')),
    ];
    const rng = streams.nifti;
    const fields = { patientName: 'Fuzz^Nifti', patientId: 'FUZZ-NII', studyDescription: 'Fuzzed NIfTI', modality: 'MR' };
    const volumes: { name: string; data: Buffer; how: string }[] = [];
    for (let i = 0; i < 180; i++) {
      const source = rng.pick(bases);
      const { data, how, gz } = mutateNifti(rng, source);
      volumes.push({ name: `mutant-${i}-${source.name}${gz ? '.gz' : ''}`, data: gz ? gzipSync(data) : data, how: `${source.name} (NIfTI-${source.version}, ${source.le ? 'LE' : 'BE'}): ${how}` });
    }
    // A gzip bomb: a valid small header followed by 600 MB of zeros (~600 KB compressed).
    const header = Buffer.from(bases[4]!.data);
    const bomb = gzipSync(Buffer.concat([header, Buffer.alloc(600 * 1024 * 1024)]), { level: 1 });
    volumes.push({ name: 'gzip-bomb.nii.gz', data: bomb, how: 'a tiny header followed by 600 MB of zeros, gzipped' });
    volumes.push({ name: 'not-gzip.nii.gz', data: Buffer.from([0x1f, 0x8b, 0x08, 0, 1, 2, 3, 4, 5]), how: 'a truncated gzip stream' });
    for (let batch = 0; batch * 10 < volumes.length; batch++) {
      const files = volumes.slice(batch * 10, batch * 10 + 10);
      const sent = await send(`/api/imports?groupId=${groupId}`, { method: 'POST', cookie: adminCookie, body: form(files, fields), timeoutMs: 90_000 });
      for (const f of files) judge('nifti', `nifti-batch-${batch} ${f.name}: ${f.how}`, sent);
      await orthancWatchdog(`nifti-batch-${batch}`, files);
      if (sent.status > 0 && sent.status < 500 && sent.status !== 201) violations.push(`NIfTI batch ${batch}: ${sent.status} ${sent.text.slice(0, 200)}`);
      await checkProcess(`NIfTI batch ${batch}`);
    }
    expect(orthancCrashes.filter((c) => c.batch.startsWith('nifti'))).toEqual([]);
    expect(of('nifti')).toEqual([]);
    expect(violations).toEqual([]);
  });

  it('broken multipart bodies to /api/imports and STOW-RS: never a 5xx, never a hang', { timeout: 120_000 }, async () => {
    const dicom = readFileSync(join(sharedData, 'odd-encodings-pydicom/MR_small.dcm'));
    const b = 'fuzzboundary';
    const part = (name: string, data: Buffer | string) => Buffer.concat([Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="file"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`), Buffer.from(data), Buffer.from('\r\n')]);
    const relatedPart = (data: Buffer | string, type = 'application/dicom') => Buffer.concat([Buffer.from(`--${b}\r\nContent-Type: ${type}\r\n\r\n`), Buffer.from(data), Buffer.from('\r\n')]);
    const end = Buffer.from(`--${b}--\r\n`);
    const imports: { body: Buffer; contentType: string; how: string }[] = [
      { body: part('a.dcm', dicom), contentType: `multipart/form-data; boundary=${b}`, how: 'no closing boundary' },
      { body: Buffer.concat([part('a.dcm', dicom).subarray(0, 300)]), contentType: `multipart/form-data; boundary=${b}`, how: 'cut inside a part' },
      { body: Buffer.concat([part('a.dcm', dicom), end]), contentType: 'multipart/form-data', how: 'no boundary parameter' },
      { body: Buffer.concat([part('a.dcm', dicom), end]), contentType: `multipart/form-data; boundary=other`, how: 'wrong boundary' },
      { body: Buffer.concat([Buffer.from(`--${b}\r\n${'X-Long: ' + 'h'.repeat(100_000)}\r\n\r\nzz\r\n`), end]), contentType: `multipart/form-data; boundary=${b}`, how: 'a 100 KB part header' },
      { body: Buffer.concat([...Array.from({ length: 5000 }, (_, i) => part(`t${i}.txt`, 'x')), end]), contentType: `multipart/form-data; boundary=${b}`, how: '5000 tiny parts' },
      { body: Buffer.concat([part('../../../etc/passwd', dicom), part('/abs/x.dcm', dicom), part('C:\\win\\x.dcm', dicom), part('%00.dcm', dicom), end]), contentType: `multipart/form-data; boundary=${b}`, how: 'hostile file names' },
      { body: Buffer.concat([Buffer.from(`--${b}\r\nContent-Disposition: form-data; name="patientName"\r\n\r\n${'p'.repeat(70_000)}\r\n`), part('x.nii', 'x'), end]), contentType: `multipart/form-data; boundary=${b}`, how: 'a 70 KB form field' },
      { body: Buffer.from('\r\n\r\n--\r\n'), contentType: `multipart/form-data; boundary=${b}`, how: 'only line breaks' },
      { body: Buffer.concat([part('a.dcm', dicom), end]), contentType: `multipart/form-data; boundary=${'b'.repeat(200)}`, how: 'a 200-character boundary that does not match' },
      { body: Buffer.concat([part('a.dcm', dicom), end]), contentType: `multipart/form-data; boundary=${b}; charset=x-unknown`, how: 'unknown charset' },
    ];
    for (const [i, input] of imports.entries()) {
      const sent = await send(`/api/imports?groupId=${groupId}`, { method: 'POST', cookie: adminCookie, body: new Uint8Array(input.body), contentType: input.contentType, timeoutMs: 30_000 });
      judge('multipart-import', `#${i} ${input.how}`, sent);
    }
    const stows: { body: Buffer; contentType: string; how: string }[] = [
      { body: relatedPart(dicom), contentType: `multipart/related; type="application/dicom"; boundary=${b}`, how: 'no closing boundary' },
      { body: relatedPart(dicom).subarray(0, 500), contentType: `multipart/related; type="application/dicom"; boundary=${b}`, how: 'cut inside a part' },
      { body: Buffer.concat([relatedPart(dicom), end]), contentType: `multipart/related; type="application/dicom"; boundary=other`, how: 'wrong boundary' },
      { body: Buffer.concat([relatedPart('not dicom at all'), relatedPart(Buffer.alloc(0)), end]), contentType: `multipart/related; type="application/dicom"; boundary=${b}`, how: 'junk and empty parts' },
      { body: Buffer.concat([Buffer.from(`--${b}\r\n${'X-Long: ' + 'h'.repeat(100_000)}\r\n\r\nzz\r\n`), end]), contentType: `multipart/related; type="application/dicom"; boundary=${b}`, how: 'a 100 KB part header' },
      { body: Buffer.concat([...Array.from({ length: 2000 }, () => relatedPart('x')), end]), contentType: `multipart/related; type="application/dicom"; boundary=${b}`, how: '2000 tiny junk parts' },
      { body: Buffer.concat([relatedPart(dicom, 'application/dicom+json'), end]), contentType: `multipart/related; type="application/dicom+json"; boundary=${b}`, how: 'a JSON type' },
      { body: Buffer.from(''), contentType: `multipart/related; type="application/dicom"; boundary=${b}`, how: 'an empty body' },
      { body: Buffer.concat([relatedPart(dicom), end]), contentType: `multipart/related; boundary="${b}`, how: 'an unterminated quoted boundary' },
    ];
    for (const [i, input] of stows.entries()) {
      const sent = await send('/dicom-web/studies', { method: 'POST', cookie: adminCookie, body: new Uint8Array(input.body), contentType: input.contentType, timeoutMs: 15_000 });
      judge('multipart-stow', `#${i} ${input.how}`, sent);
    }
    await orthancWatchdog('multipart', []);
    expect(orthancCrashes.filter((c) => c.batch === 'multipart')).toEqual([]);
    await checkProcess('broken multipart bodies');
    expect(of('multipart-import')).toEqual([]);
    expect(of('multipart-stow')).toEqual([]);
  });

  it('malformed JSON bodies, hostile query strings and path parameters on every route of /api/openapi.json, as admin and anonymous: never a 5xx', { timeout: 180_000 }, async () => {
    const doc = JSON.parse((await send('/api/openapi.json', {})).text) as { paths: Record<string, Record<string, { parameters?: { in: string; name: string }[]; requestBody?: unknown }>> };
    const routes = Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ path, method: method.toUpperCase(), op })));
    expect(routes.length).toBeGreaterThanOrEqual(60);
    // QIDO-RS sits beside the API; its query strings go on to Orthanc.
    for (const level of ['studies', 'series', 'instances']) routes.push({ path: `/dicom-web/${level}`, method: 'GET', op: { parameters: ['StudyInstanceUID', 'PatientName', 'limit', 'offset', 'includefield', 'fuzzymatching'].map((name) => ({ in: 'query', name })) } });
    const rng = streams.routes;
    const identities = { admin: adminCookie, anonymous: '' };
    let batch = 0;
    for (const route of routes) {
      // Signing out ends the session it comes with: those two get a fresh admin session per request.
      const signsOut = /logout/.test(route.path);
      const who = ['admin', 'anonymous'] as const;
      const params = (route.op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
      const pathWith = (value: () => string) => route.path.replace(/\{[^}]+\}/g, value);
      for (const identity of who) {
        const cookieFor = async () => (identity === 'admin' && signsOut ? await freshAdminCookie() : identities[identity]);
        for (const q of hostileQueries(rng, params)) {
          const path = `${pathWith(() => rng.pick(hostilePathValues))}?${q.query}`;
          const sent = await send(path, { method: route.method, cookie: await cookieFor(), timeoutMs: 10_000 });
          judge('query', `${identity} ${route.method} ${path.slice(0, 200)} (${q.how})`, sent);
        }
        if (route.method !== 'GET') {
          for (const b of hostileBodies(rng, baseBody(route.path, route.method))) {
            const resolved = pathWith(() => rng.pick(['ffffffff-ffff-4fff-8fff-ffffffffffff', '1.2.3.4', '1', 'image', ...hostilePathValues]));
            const sent = await send(resolved, { method: route.method, cookie: await cookieFor(), body: b.body, contentType: b.contentType, timeoutMs: 10_000 });
            judge('json', `${identity} ${route.method} ${resolved.slice(0, 120)} body: ${b.how} ${b.body.slice(0, 80)}`, sent);
          }
        }
      }
      if (++batch % 10 === 0) await checkProcess(`routes up to ${route.method} ${route.path}`);
    }
    await checkProcess('every route');
    expect(of('query')).toEqual([]);
    expect(of('json')).toEqual([]);
  });

  it('hostile bodies and queries against real ids (a real study, series, patient, import, group, user), so they reach the services behind the validators: never a 5xx', { timeout: 120_000 }, async () => {
    const rng = prng(SEED + 5);
    const get = async (path: string) => JSON.parse((await send(path, { cookie: adminCookie })).text) as Record<string, unknown>;
    const study = ((await get('/api/studies?limit=1')) as { studies: { studyInstanceUid: string }[] }).studies[0]!.studyInstanceUid;
    const detail = (await get(`/api/studies/${study}`)) as { study: { patientKey: string; series: { seriesInstanceUid: string }[] } };
    const importId = ((await get('/api/imports?limit=1')) as { imports: { id: string }[] }).imports[0]!.id;
    const users = ((await get('/api/admin/users')) as { users: { id: string; email: string }[] }).users;
    const researcherId = users.find((u) => u.email.startsWith('fuzz.target'))!.id;
    const real: Record<string, string> = { uid: study, key: detail.study.patientKey, groupId, id: importId, token: 'x', segment: '1', part: 'image' };
    const targets: { method: string; path: string }[] = [
      { method: 'POST', path: '/api/inference/jobs' },
      { method: 'POST', path: '/api/exports' },
      { method: 'POST', path: `/api/studies/${study}/shares` },
      { method: 'POST', path: `/api/studies/${study}/share-links` },
      { method: 'PATCH', path: `/api/studies/${study}` },
      { method: 'PATCH', path: `/api/admin/users/${researcherId}` },
      { method: 'PATCH', path: `/api/admin/groups/${groupId}` },
      { method: 'POST', path: '/api/admin/invitations' },
      { method: 'POST', path: '/api/tokens' },
      { method: 'POST', path: `/api/imports/${importId}/finish` },
      { method: 'POST', path: `/api/imports/${importId}/files` },
      { method: 'POST', path: '/api/imports' },
    ];
    const series = detail.study.series[0]!.seriesInstanceUid;
    for (const target of targets) {
      const template = target.path.includes('inference')
        ? { seriesInstanceUids: [series], model: 'ct_body_lungs_bone', params: { threshold: 1 } }
        : target.path === '/api/exports'
          ? { studyInstanceUids: [study], patientKeys: [real.key], search: { q: 'Fuzz' }, format: 'both', deidentify: true, deidOptions: ['cleanDescriptors'], purpose: 'fuzzing', recipient: 'nobody' }
          : baseBody(target.path.replace(study, '{uid}').replace(researcherId, '{id}').replace(groupId, '{id}').replace(importId, '{id}'), target.method);
      const withReal = JSON.parse(JSON.stringify(template).replace(/00000000-0000-4000-8000-000000000000/g, groupId)) as Record<string, unknown>;
      for (const b of hostileBodies(rng, withReal)) {
        const sent = await send(target.path, { method: target.method, cookie: adminCookie, body: b.body, contentType: b.contentType, timeoutMs: 20_000 });
        judge('json-real', `admin ${target.method} ${target.path} body: ${b.how} ${b.body.slice(0, 100)}`, sent);
      }
    }
    // Query strings on the GET routes with real path parameters.
    const doc = JSON.parse((await send('/api/openapi.json', {})).text) as { paths: Record<string, Record<string, { parameters?: { in: string; name: string }[] }>> };
    for (const [path, methods] of Object.entries(doc.paths)) {
      const op = methods.get;
      if (!op || !path.includes('{') || path.includes('/events')) continue;
      const resolved = path.replace(/\{([^}]+)\}/g, (_, name: string) => real[name] ?? 'x');
      const params = (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
      for (const q of hostileQueries(rng, params)) {
        const sent = await send(`${resolved}?${q.query}`, { cookie: adminCookie, timeoutMs: 20_000 });
        judge('query-real', `admin GET ${resolved}?${q.query.slice(0, 120)} (${q.how})`, sent);
      }
    }
    await checkProcess('hostile bodies on real ids');
    expect(of('json-real')).toEqual([]);
    expect(of('query-real')).toEqual([]);
  });

  it('leaves no trace of the prototype-pollution keys: a researcher is still refused admin routes and stays a researcher', async () => {
    expect((await send('/api/admin/users', { cookie: researcherCookie })).status).toBe(403);
    expect((await send('/api/admin/groups', { method: 'POST', cookie: researcherCookie, body: '{"name":"x"}', contentType: 'application/json' })).status).toBe(403);
    const session = JSON.parse((await send('/api/auth/session', { cookie: researcherCookie })).text) as { user: Record<string, unknown> };
    expect(session.user.role).toBe('researcher');
    expect(JSON.stringify(session)).not.toContain('polluted');
    const users = (await send('/api/admin/users', { cookie: adminCookie })).text;
    expect(users).not.toContain('polluted');
  });

  // ---- Reproductions of what the random run once found (each a bug now fixed; see the report).

  // BUG-Z1 (fixed): Orthanc 1.10.1 (Debian 12) dies with SIGSEGV on POST /instances of a file
  // whose (0002,0001) FileMetaInformationVersion declares a length past the end of the file, so
  // any user who may import could take the archive down. The gateway now checks the File Meta
  // group first (orthanc/file-meta.ts) and refuses such a file with its reason.
  it('refuses a DICOM file whose meta header declares a length past its end, and Orthanc stays up (BUG-Z1)', { timeout: 60_000 }, async () => {
    const file = Buffer.from(readFileSync(join(sharedData, 'odd-encodings-pydicom/MR_small.dcm')));
    expect(file.toString('latin1', 0x84, 0x86)).toBe('\x02\x00'); // (0002,0000) then (0002,0001) OB at 0x90
    file.writeUInt32LE(0x7fffffff, 0x90 + 8);
    expect(metaLengthOverflow(file)).toBe(true);
    try {
      const sent = await send(`/api/imports?groupId=${groupId}`, { method: 'POST', cookie: adminCookie, body: form([{ name: 'overflowing-meta.dcm', data: file }]) });
      await sleep(300);
      expect(services.orthanc.proc.running).toBe(true);
      expect(sent.status).toBe(201);
      expect(sent.text).toMatch(/"rejected":1/);
      const job = (JSON.parse(sent.text) as { import: { id: string } }).import.id;
      const files = JSON.parse((await send(`/api/imports/${job}/files`, { cookie: adminCookie })).text) as { files: { reason: string }[] };
      expect(files.files[0]!.reason).toMatch(/file meta information is malformed: element \(0002,0001\) declares 2147483647 bytes, past the end of the file/);
    } finally {
      if (!services.orthanc.proc.running) await services.orthanc.restart();
    }
  });

  // BUG-Z2 (fixed): a multipart/related body that ended before its closing boundary (or whose
  // boundary did not match) escaped as Dicer's plain Error and answered 500 internal_error.
  it('answers a STOW-RS body cut before its closing boundary with 400 (BUG-Z2, was a 500)', async () => {
    const b = 'cutboundary';
    const body = Buffer.concat([Buffer.from(`--${b}\r\nContent-Type: application/dicom\r\n\r\n`), readFileSync(join(sharedData, 'odd-encodings-pydicom/MR_small.dcm')).subarray(0, 500)]);
    const sent = await send('/dicom-web/studies', { method: 'POST', cookie: adminCookie, body: new Uint8Array(body), contentType: `multipart/related; type="application/dicom"; boundary=${b}` });
    expect(sent.status).toBe(400);
  });

  // BUG-Z3 (fixed): params had no depth or size bound, and JSON.stringify threw RangeError (call
  // stack) for deeply nested params: 500 instead of 400. They are now bounded (8 levels, 16 KiB).
  it('answers a segmentation job whose params are nested 100,000 deep with 400 (BUG-Z3)', async () => {
    const study = (JSON.parse((await send('/api/studies?limit=50', { cookie: adminCookie })).text) as { studies: { studyInstanceUid: string }[] }).studies[0]!.studyInstanceUid;
    const series = (JSON.parse((await send(`/api/studies/${study}`, { cookie: adminCookie })).text) as { study: { series: { seriesInstanceUid: string }[] } }).study.series[0]!.seriesInstanceUid;
    const depth = 100_000;
    const body = `{"seriesInstanceUids":["${series}"],"model":"ct_body_lungs_bone","params":{"p":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}}`;
    const sent = await send('/api/inference/jobs', { method: 'POST', cookie: adminCookie, body, contentType: 'application/json' });
    expect(sent.status).toBe(400);
    expect(sent.text).toMatch(/params must be a JSON object nested at most 8 levels deep/);
  });

  it('sent over a thousand inputs, kept the process up and its memory bounded', async () => {
    await checkProcess('the whole run');
    expect(inputs).toBeGreaterThanOrEqual(1000);
    expect(rssMax - rssStart).toBeLessThan(RSS_GROWTH_LIMIT_MB);
  });
});
