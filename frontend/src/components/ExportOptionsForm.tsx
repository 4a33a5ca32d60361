import type { DeidOption, ExportFormat } from '../api/exportTypes';
import { deidOptionChoices, formatChoices, PURPOSE_MAX, RECIPIENT_MAX, toggleDeidOption, type ExportDraft, type ExportProblems } from '../lib/exports';

export type ExportOptionValues = Pick<ExportDraft, 'format' | 'deidentify' | 'deidOptions' | 'includeBurnedIn' | 'purpose' | 'recipient'>;

/**
 * How the bundle is made: format, identified or de-identified (with the PS3.15 options and the
 * burned-in choice), and the purpose and recipient the ledger records. Each text field names its
 * problem right under it (linked with aria-describedby).
 */
export function ExportOptionsForm({ value, problems, onChange }: { value: ExportOptionValues; problems: ExportProblems; onChange: (next: ExportOptionValues) => void }) {
  const set = <K extends keyof ExportOptionValues>(key: K, next: ExportOptionValues[K]) => onChange({ ...value, [key]: next });
  const describe = (key: 'purpose' | 'recipient') => (problems[key] ? { 'aria-invalid': true, 'aria-describedby': `export-${key}-problem` } : {});
  const problem = (key: 'purpose' | 'recipient') =>
    problems[key] ? (
      <span className="field-problem" id={`export-${key}-problem`} data-testid={`export-${key}-problem`}>
        {problems[key]}
      </span>
    ) : null;

  return (
    <>
      <fieldset className="export-choices" data-testid="export-format">
        <legend>Format</legend>
        {formatChoices.map((choice) => (
          <label key={choice.value} className="export-choice">
            <input
              type="radio"
              name="export-format"
              value={choice.value}
              data-testid={`export-format-${choice.value}`}
              checked={value.format === choice.value}
              onChange={() => set('format', choice.value as ExportFormat)}
            />
            <span>
              <strong>{choice.label}</strong>
              <span className="export-choice-text muted">{choice.description}</span>
            </span>
          </label>
        ))}
      </fieldset>

      <fieldset className="export-choices" data-testid="export-identity">
        <legend>Identity</legend>
        <label className="export-choice">
          <input type="radio" name="export-identity" data-testid="export-deidentified" checked={value.deidentify} onChange={() => set('deidentify', true)} />
          <span>
            <strong>De-identified</strong>
            <span className="export-choice-text muted">
              DICOM PS3.15 Basic Application Level Confidentiality Profile: names and IDs replaced by a stable pseudonym, UIDs remapped, identifying attributes removed.
            </span>
          </span>
        </label>
        <label className="export-choice">
          <input type="radio" name="export-identity" data-testid="export-identified" checked={!value.deidentify} onChange={() => set('deidentify', false)} />
          <span>
            <strong>Identified</strong>
            <span className="export-choice-text muted">The files as stored, with real names, IDs and dates. Only for recipients allowed to see them.</span>
          </span>
        </label>
      </fieldset>

      {value.deidentify && (
        <>
          <fieldset className="export-choices" data-testid="export-deid-options">
            <legend>De-identification options</legend>
            {deidOptionChoices.map((choice) => (
              <label key={choice.value} className="export-choice">
                <input
                  type="checkbox"
                  data-testid={`export-deid-${choice.value}`}
                  checked={value.deidOptions.includes(choice.value)}
                  onChange={(event) => set('deidOptions', toggleDeidOption(value.deidOptions, choice.value as DeidOption, event.target.checked))}
                />
                <span>
                  <strong>{choice.label}</strong>
                  <span className="export-choice-text muted">{choice.description}</span>
                </span>
              </label>
            ))}
          </fieldset>
          <div className={value.includeBurnedIn ? 'export-burned-in warning' : 'export-burned-in'}>
            <label className="export-choice">
              <input type="checkbox" data-testid="export-include-burned-in" checked={value.includeBurnedIn} onChange={(event) => set('includeBurnedIn', event.target.checked)} />
              <span>
                <strong>Include series that may show burned-in text (US, secondary captures)</strong>
                <span className="export-choice-text muted">
                  Off by default: these images may carry names or dates in their pixels, which de-identification of the attributes cannot remove.
                </span>
              </span>
            </label>
            {value.includeBurnedIn && (
              <p className="export-warning" role="note" data-testid="export-burned-in-warning">
                Warning: the flagged series will be exported as they are. Check every image for text before the data leaves.
              </p>
            )}
          </div>
        </>
      )}

      <div className="export-texts">
        <div className="field">
          <label htmlFor="export-purpose">Purpose</label>
          <textarea
            id="export-purpose"
            data-testid="export-purpose"
            rows={2}
            required
            maxLength={PURPOSE_MAX}
            placeholder="e.g. Training a pancreas segmentation model (study 2026-04)"
            value={value.purpose}
            onChange={(event) => set('purpose', event.target.value)}
            {...describe('purpose')}
          />
          {problem('purpose')}
        </div>
        <div className="field">
          <label htmlFor="export-recipient">Recipient</label>
          <input
            id="export-recipient"
            data-testid="export-recipient"
            required
            maxLength={RECIPIENT_MAX}
            placeholder="e.g. University hospital AI lab, Dr. Doe"
            value={value.recipient}
            onChange={(event) => set('recipient', event.target.value)}
            {...describe('recipient')}
          />
          {problem('recipient')}
        </div>
        <p className="hint muted">Purpose and recipient are recorded in the data-use ledger.</p>
      </div>
    </>
  );
}
