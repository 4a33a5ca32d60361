import { Fragment, useCallback, useEffect, useState } from 'react';
import { Link } from 'react-router-dom';
import { apiFetch } from '../api/client';
import type { Patient, PatientSummary, StudyDetail } from '../api/types';
import { useLoad } from '../api/useLoad';
import { isStudySelected, patientCheckState, togglePatient, toggleStudy, type CheckState, type ExportSelection } from '../lib/exports';
import { formatPersonName, formatStudyDate } from '../lib/format';
import { patientPath } from '../lib/patients';
import { DataTable } from './DataTable';
import { LoadError } from './Feedback';

/** A checkbox that can also show "some" (half-ticked), which has no HTML attribute of its own. */
function TriStateCheckbox({ state, label, testId, onChange }: { state: CheckState; label: string; testId: string; onChange: (checked: boolean) => void }) {
  return (
    <input
      type="checkbox"
      ref={(input) => {
        if (input) input.indeterminate = state === 'some';
      }}
      checked={state === 'all'}
      aria-label={label}
      data-testid={testId}
      data-state={state}
      // Half-ticked, a click ticks the whole patient.
      onChange={(event) => onChange(state === 'some' ? true : event.target.checked)}
    />
  );
}

/** One patient's studies, each with its own checkbox; loaded when the row is opened. */
function PatientStudies({
  patient,
  selection,
  onSelection,
  onLoaded,
}: {
  patient: PatientSummary;
  selection: ExportSelection;
  onSelection: (next: ExportSelection) => void;
  onLoaded: (key: string, studyUids: string[]) => void;
}) {
  const path = `/api/patients/${encodeURIComponent(patient.key)}`;
  const loaded = useLoad((signal) => apiFetch<{ patient: Patient; studies: StudyDetail[] }>(path, { signal }), [path], 'The studies of this patient could not be loaded.');
  const studies = loaded.data?.studies ?? null;
  const uids = studies?.map((study) => study.studyInstanceUid).join(',') ?? null;
  useEffect(() => {
    if (uids !== null) onLoaded(patient.key, uids ? uids.split(',') : []);
  }, [patient.key, uids, onLoaded]);

  if (!studies) {
    return (
      <>
        <LoadError message={loaded.error} testId="export-studies-error" />
        {!loaded.error && <p className="muted">Loading the studies…</p>}
      </>
    );
  }
  if (studies.length === 0) return <p className="muted">No studies of this patient that you may see.</p>;
  const all = studies.map((study) => study.studyInstanceUid);
  return (
    <fieldset className="export-study-list" data-testid="export-study-list">
      <legend>Studies of {formatPersonName(patient.patientName)}</legend>
      {studies.map((study) => (
        <label key={study.studyInstanceUid} className="check export-study" data-study-uid={study.studyInstanceUid}>
          <input
            type="checkbox"
            data-testid="export-study-check"
            checked={isStudySelected(selection, patient.key, study.studyInstanceUid)}
            onChange={(event) => onSelection(toggleStudy(selection, patient.key, all, study.studyInstanceUid, event.target.checked))}
          />
          <span>
            <span className="number">{formatStudyDate(study.studyDate)}</span> · {study.studyDescription || <span className="muted">No description</span>}
            <span className="muted">
              {' '}
              · {study.modalities.join(', ') || '—'} · {study.instanceCount} instance{study.instanceCount === 1 ? '' : 's'} · {study.ownerGroup.name}
            </span>
          </span>
        </label>
      ))}
    </fieldset>
  );
}

/**
 * The patients of a search with a checkbox each (a ticked patient exports all its studies), and a
 * button that opens a patient's studies to choose some of them. Without `choosing`, the list only
 * shows what a search export will contain.
 */
export function ExportPatientPicker({
  patients,
  busy,
  choosing,
  selection,
  onSelection,
}: {
  patients: PatientSummary[];
  busy: boolean;
  choosing: boolean;
  selection: ExportSelection;
  onSelection: (next: ExportSelection) => void;
}) {
  const [open, setOpen] = useState<string[]>([]);
  // The studies of each opened patient, so ticking the whole patient can drop its single studies.
  const [known, setKnown] = useState<Record<string, string[]>>({});
  const onLoaded = useCallback(
    (key: string, uids: string[]) => setKnown((current) => (current[key]?.join(',') === uids.join(',') ? current : { ...current, [key]: uids })),
    [],
  );
  const toggleOpen = (key: string) => setOpen((current) => (current.includes(key) ? current.filter((k) => k !== key) : [...current, key]));

  const columns = [...(choosing ? ['Export'] : []), 'Patient', 'Patient ID', 'Last study', 'Modalities', 'Studies', 'Groups'];
  return (
    <DataTable testId="export-patients-table" busy={busy} columns={columns} actions={choosing} compact>
      {patients.map((patient) => {
        const name = formatPersonName(patient.patientName);
        const expanded = choosing && open.includes(patient.key);
        const detailsId = `export-studies-${patient.key}`;
        return (
          <Fragment key={patient.key}>
            <tr data-patient-key={patient.key}>
              {choosing && (
                <td>
                  <TriStateCheckbox
                    state={patientCheckState(selection, patient.key, known[patient.key])}
                    label={`Export ${name}`}
                    testId="export-patient-check"
                    onChange={(checked) => onSelection(togglePatient(selection, patient.key, checked, known[patient.key]))}
                  />
                </td>
              )}
              <th scope="row">
                <Link to={patientPath(patient.key)}>{name}</Link>
              </th>
              <td className="mono">{patient.patientId || <span className="muted">—</span>}</td>
              <td className="number">{formatStudyDate(patient.lastStudyDate)}</td>
              <td>{patient.modalities.join(', ') || <span className="muted">—</span>}</td>
              <td className="number">{patient.studyCount}</td>
              <td>{patient.groups.map((group) => group.name).join(', ') || <span className="muted">—</span>}</td>
              {choosing && (
                <td className="actions">
                  <button
                    type="button"
                    className="secondary small"
                    aria-expanded={expanded}
                    aria-controls={expanded ? detailsId : undefined}
                    data-testid="export-patient-expand"
                    onClick={() => toggleOpen(patient.key)}
                  >
                    {expanded ? 'Hide studies' : 'Choose studies'}
                    <span className="visually-hidden"> of {name}</span>
                  </button>
                </td>
              )}
            </tr>
            {expanded && (
              <tr className="row-details" id={detailsId}>
                <td colSpan={columns.length + 1}>
                  <PatientStudies patient={patient} selection={selection} onSelection={onSelection} onLoaded={onLoaded} />
                </td>
              </tr>
            )}
          </Fragment>
        );
      })}
    </DataTable>
  );
}
