/**
 * Private attributes kept by the Retain Safe Private Option (PS3.15 E.3.10).
 *
 * PS3.15 Table E.3.10-1 lists private data elements that vendors have declared to carry no
 * identifying information. This is a deliberately small subset of that table: acquisition physics
 * that research pipelines actually use (diffusion b-values and directions, CT table speed and
 * rotation time, pulse sequence names). Everything else private is removed even with the option.
 * A private element is identified by its group, its private creator string and the low byte of its
 * element number (the "xx" block byte is wherever the creator reserved it in that dataset).
 */
export type SafePrivateAttribute = {
  creator: string;
  group: number;
  /** The element's low byte, i.e. ee in (gggg,xxee). */
  element: number;
  vr: string;
  name: string;
};

export const safePrivateAttributes: readonly SafePrivateAttribute[] = [
  { creator: 'GEMS_ACQU_01', group: 0x0019, element: 0x23, vr: 'DS', name: 'Table Speed [mm/rotation]' },
  { creator: 'GEMS_ACQU_01', group: 0x0019, element: 0x24, vr: 'DS', name: 'Mid Scan Time [sec]' },
  { creator: 'GEMS_ACQU_01', group: 0x0019, element: 0x27, vr: 'DS', name: 'Rotation Speed (Gantry Period)' },
  { creator: 'GEMS_ACQU_01', group: 0x0019, element: 0x9e, vr: 'LO', name: 'Internal Pulse Sequence Name' },
  { creator: 'GEMS_PARM_01', group: 0x0043, element: 0x27, vr: 'SH', name: 'Scan Pitch Ratio' },
  { creator: 'GEMS_PARM_01', group: 0x0043, element: 0x39, vr: 'IS', name: 'Slop_int_6 (1st value is B Value)' },
  { creator: 'GEMS_PARM_01', group: 0x0043, element: 0x6f, vr: 'DS', name: 'Scanner Table Entry + Gradient Coil Selected' },
  { creator: 'GEMS_HELIOS_01', group: 0x0045, element: 0x01, vr: 'SS', name: 'Number of Macro Rows in Detector' },
  { creator: 'GEMS_HELIOS_01', group: 0x0045, element: 0x02, vr: 'FL', name: 'Macro width at ISO Center' },
  { creator: 'GEMS_SERS_01', group: 0x0025, element: 0x07, vr: 'SL', name: 'Images in Series' },
  { creator: 'SIEMENS MR HEADER', group: 0x0019, element: 0x0c, vr: 'IS', name: 'B Value' },
  { creator: 'SIEMENS MR HEADER', group: 0x0019, element: 0x0d, vr: 'CS', name: 'Diffusion Directionality' },
  { creator: 'SIEMENS MR HEADER', group: 0x0019, element: 0x0e, vr: 'FD', name: 'Diffusion Gradient Direction' },
  { creator: 'SIEMENS MR HEADER', group: 0x0019, element: 0x27, vr: 'FD', name: 'B Matrix' },
  { creator: 'Philips Imaging DD 001', group: 0x2001, element: 0x03, vr: 'FL', name: 'Diffusion B-Factor' },
  { creator: 'Philips Imaging DD 001', group: 0x2001, element: 0x04, vr: 'CS', name: 'Diffusion Direction' },
  { creator: 'ELSCINT1', group: 0x00e1, element: 0x21, vr: 'DS', name: 'DLP' },
  { creator: 'ELSCINT1', group: 0x00e1, element: 0x50, vr: 'DS', name: 'Acquisition Duration' },
  { creator: 'ELSCINT1', group: 0x01f1, element: 0x01, vr: 'CS', name: 'Acquisition Type' },
  { creator: 'ELSCINT1', group: 0x01f1, element: 0x07, vr: 'DS', name: 'Table Velocity' },
  { creator: 'ELSCINT1', group: 0x01f1, element: 0x26, vr: 'DS', name: 'Pitch' },
  { creator: 'ELSCINT1', group: 0x01f1, element: 0x27, vr: 'DS', name: 'Rotation Time' },
];

const safeKeys = new Set(safePrivateAttributes.map((a) => safeKey(a.creator, a.group, a.element)));

function safeKey(creator: string, group: number, element: number): string {
  return `${creator.trim().toUpperCase()}|${group}|${element}`;
}

/** Whether the private element (group, xxee) reserved by `creator` is on the safe list. */
export function isSafePrivate(creator: string, group: number, element: number): boolean {
  return safeKeys.has(safeKey(creator, group, element & 0xff));
}
