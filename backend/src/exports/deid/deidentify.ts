/**
 * De-identification for exports: DICOM PS3.15 Annex E Basic Application Level Confidentiality
 * Profile (Table E.1-1 as data in table.ts) with the Retain Longitudinal Temporal Information
 * Modified Dates, Retain Patient Characteristics, Clean Descriptors and Retain Safe Private options.
 *
 * - profile.ts: deidentifyDataset, on a dcmjs denaturalized dataset (pure, no I/O).
 * - part10.ts: deidentifyPart10, a Part-10 file in and out (pixel data untouched).
 * - burned-in.ts: burnedInRisk, whether the pixels themselves may show identifying text.
 */
export {
  deidentifyDataset,
  deidOptions,
  deidMethodCodes,
  resolveAction,
  type DeidAction,
  shiftDate,
  shiftDateTime,
  cleanText,
  type DeidContext,
  type DeidOption,
  type DeidReport,
} from './profile.js';
export { deidentifyPart10, deidentifyPart10Parts, deidentifyPart10WithReport, DeidentificationError } from './part10.js';
export { burnedInRisk } from './burned-in.js';
export { createUidMapper } from './uid.js';
export { deidentificationTable, optionColumns, TABLE_EDITION, type DeidRow, type BasicAction, type OptionAction } from './table.js';
export { safePrivateAttributes, isSafePrivate } from './safe-private.js';
