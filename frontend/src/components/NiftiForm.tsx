import type { NiftiFields } from '../api/types';
import { dateInputToDicom, dicomDateToInput, type NiftiProblems } from '../lib/imports';

type TextKey = 'patientName' | 'patientId' | 'studyDescription' | 'seriesDescription';

/**
 * What a NIfTI volume does not say about itself. Each field names its problem right under it
 * (linked with aria-describedby), so a screen reader hears it when the field takes focus.
 */
export function NiftiForm({
  count,
  fields,
  problems,
  onChange,
}: {
  count: number;
  fields: NiftiFields;
  problems: NiftiProblems;
  onChange: (fields: NiftiFields) => void;
}) {
  const set = <K extends keyof NiftiFields>(key: K, value: NiftiFields[K]) => onChange({ ...fields, [key]: value });
  const problemId = (key: keyof NiftiFields) => `nifti-${key}-problem`;
  const describe = (key: keyof NiftiFields) => (problems[key] ? { 'aria-invalid': true, 'aria-describedby': problemId(key) } : {});
  const problem = (key: keyof NiftiFields) =>
    problems[key] ? (
      <span className="field-problem" id={problemId(key)}>
        {problems[key]}
      </span>
    ) : null;

  const text = (key: TextKey, label: string, required: boolean, placeholder?: string) => (
    <div className="field">
      <label htmlFor={`nifti-${key}`}>
        {label}
        {!required && <span className="muted"> (optional)</span>}
      </label>
      <input
        id={`nifti-${key}`}
        data-testid={`nifti-${key}`}
        value={fields[key]}
        required={required}
        maxLength={64}
        placeholder={placeholder}
        onChange={(event) => set(key, event.target.value)}
        {...describe(key)}
      />
      {problem(key)}
    </div>
  );

  // Birth dates are entered with a date picker and sent as DICOM dates (YYYYMMDD).
  const birthDateValue = dicomDateToInput(fields.patientBirthDate);

  return (
    <fieldset className="nifti-form" data-testid="nifti-form">
      <legend>
        NIfTI volume{count === 1 ? '' : 's'}: patient and study ({count} file{count === 1 ? '' : 's'})
      </legend>
      <p className="hint muted">NIfTI files carry no patient or study details. These apply to every NIfTI file in this import.</p>
      <div className="filter-grid">
        {text('patientName', 'Patient name', true, 'Family, Given')}
        {text('patientId', 'Patient ID', true)}
        {text('studyDescription', 'Study description', true)}
        <div className="field">
          <label htmlFor="nifti-modality">Modality</label>
          <select
            id="nifti-modality"
            data-testid="nifti-modality"
            required
            value={fields.modality}
            onChange={(event) => set('modality', event.target.value as NiftiFields['modality'])}
            {...describe('modality')}
          >
            <option value="">Choose…</option>
            <option value="CT">CT</option>
            <option value="MR">MR</option>
          </select>
          {problem('modality')}
        </div>
        {text('seriesDescription', 'Series description', false)}
        <div className="field">
          <label htmlFor="nifti-patientBirthDate">
            Birth date<span className="muted"> (optional)</span>
          </label>
          <input
            id="nifti-patientBirthDate"
            type="date"
            value={birthDateValue}
            onChange={(event) => set('patientBirthDate', dateInputToDicom(event.target.value))}
            {...describe('patientBirthDate')}
          />
          {problem('patientBirthDate')}
        </div>
        <div className="field">
          <label htmlFor="nifti-patientSex">
            Sex<span className="muted"> (optional)</span>
          </label>
          <select id="nifti-patientSex" value={fields.patientSex} onChange={(event) => set('patientSex', event.target.value as NiftiFields['patientSex'])}>
            <option value="">Not given</option>
            <option value="F">Female</option>
            <option value="M">Male</option>
            <option value="O">Other</option>
          </select>
        </div>
      </div>
    </fieldset>
  );
}
