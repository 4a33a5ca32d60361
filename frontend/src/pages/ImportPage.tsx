import { useRef, useState, type ChangeEvent, type DragEvent, type FormEvent } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router-dom';
import { isUploading, startUpload, useUploadRun } from '../api/importSession';
import type { NiftiFields } from '../api/types';
import { useAction } from '../api/useAction';
import { useGroupChoices } from '../api/useGroupChoices';
import { useSession } from '../auth/session';
import { ErrorText, LoadError, StatusText } from '../components/Feedback';
import { Field } from '../components/Field';
import { NiftiForm } from '../components/NiftiForm';
import { RecentImports } from '../components/RecentImports';
import { takeDrop } from '../lib/fileDrop';
import { pageFromParam } from '../lib/forms';
import {
  byPath,
  defaultGroupId,
  emptyNiftiFields,
  importLabel,
  mergeItems,
  niftiProblems,
  pickedPath,
  selectionText,
  summarizeSelection,
  type ImportItem,
  type NiftiProblems,
} from '../lib/imports';

/** How many chosen paths the selection list shows; the summary counts them all. */
const LISTED = 200;

export function ImportPage() {
  const { user } = useSession();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const recentPage = pageFromParam(params.get('page'));
  const run = useUploadRun();
  const groups = useGroupChoices(user);
  const [items, setItems] = useState<ImportItem[]>([]);
  const [unreadable, setUnreadable] = useState<string[]>([]);
  const [reading, setReading] = useState(false);
  const [dragging, setDragging] = useState(false);
  const [groupId, setGroupId] = useState('');
  const [nifti, setNifti] = useState<NiftiFields>(emptyNiftiFields);
  const [problems, setProblems] = useState<NiftiProblems>({});
  const [started, setStarted] = useState(false);
  const action = useAction();
  const filesInput = useRef<HTMLInputElement>(null);
  const folderInput = useRef<HTMLInputElement>(null);
  if (!user) return null;

  const choices = groups.data ?? [];
  const chosenGroupId = choices.some((group) => group.id === groupId) ? groupId : defaultGroupId(user.groups, choices);
  const summary = summarizeSelection(items);
  const busy = isUploading(run);

  const add = (added: ImportItem[], missed: string[] = []) => {
    setItems((current) => mergeItems(current, added));
    setUnreadable((current) => [...current, ...missed]);
    action.setError(null);
    action.setNotice(added.length ? `Added ${added.length} file${added.length === 1 ? '' : 's'}.` : null);
  };

  const onPicked = (event: ChangeEvent<HTMLInputElement>) => {
    const files = Array.from(event.target.files ?? []);
    add(byPath(files.map((file) => ({ file, path: pickedPath(file) }))));
    // Picking the same files again must fire another change.
    event.target.value = '';
  };

  const onDrop = (event: DragEvent<HTMLDivElement>) => {
    event.preventDefault();
    setDragging(false);
    // The entries are only readable during the event; the folders are walked afterwards.
    const read = takeDrop(event.dataTransfer);
    setReading(true);
    void read()
      .then((collected) => add(collected.items, collected.unreadable))
      .catch(() => action.setError('The dropped files could not be read.'))
      .finally(() => setReading(false));
  };

  const onDragOver = (event: DragEvent<HTMLDivElement>) => {
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
    setDragging(true);
  };

  // Once problems are shown, each edit checks again, so a fixed field stops being marked.
  const onNifti = (next: NiftiFields) => {
    setNifti(next);
    if (Object.keys(problems).length > 0) setProblems(niftiProblems(next));
  };

  const clear = () => {
    setItems([]);
    setUnreadable([]);
    setProblems({});
    action.setNotice(null);
    action.setError(null);
  };

  const onStart = (event: FormEvent) => {
    event.preventDefault();
    action.setNotice(null);
    if (items.length === 0) return action.setError('Choose or drop the files to import first.');
    if (!chosenGroupId) return action.setError('Choose the group the studies will belong to.');
    const withNifti = summary.nifti > 0;
    if (withNifti) {
      const found = niftiProblems(nifti);
      setProblems(found);
      const first = Object.keys(found)[0];
      if (first) {
        action.setError('Fill in the NIfTI details marked above before importing.');
        document.getElementById(`nifti-${first}`)?.focus();
        return;
      }
    }
    action.setError(null);
    setStarted(true);
    void startUpload({
      items,
      groupId: chosenGroupId,
      label: importLabel(items),
      nifti: withNifti ? nifti : null,
      // The job page takes over as soon as the job exists: a reload then shows the job again.
      onCreated: (job) => navigate(`/imports/${encodeURIComponent(job.id)}`),
    });
  };

  const runError = started && run && !run.jobId && run.phase === 'failed' ? run.error : null;

  return (
    <section>
      <h1>Import</h1>
      {busy && run?.jobId && (
        <p className="notice-inline" role="status" data-testid="import-running">
          An upload is running in this tab. <Link to={`/imports/${encodeURIComponent(run.jobId)}`}>Watch its progress</Link>; start another once it has ended.
        </p>
      )}
      <form className="panel" onSubmit={onStart} noValidate aria-labelledby="import-files-heading">
        <h2 id="import-files-heading">Files to import</h2>
        <div
          className={dragging ? 'drop-zone dragging' : 'drop-zone'}
          data-testid="import-drop-zone"
          onDragEnter={onDragOver}
          onDragOver={onDragOver}
          onDragLeave={() => setDragging(false)}
          onDrop={onDrop}
        >
          <p className="drop-title">Drop DICOM files, folders, ZIP archives or NIfTI volumes here</p>
          <p className="muted">or</p>
          <div className="button-row centered">
            <button type="button" className="secondary" onClick={() => filesInput.current?.click()}>
              Choose files
            </button>
            <button type="button" className="secondary" onClick={() => folderInput.current?.click()}>
              Choose a folder
            </button>
          </div>
          {/* The buttons open these; they stay out of the tab order and out of sight. */}
          <input ref={filesInput} type="file" multiple hidden tabIndex={-1} data-testid="import-files-input" onChange={onPicked} />
          <input
            ref={folderInput}
            type="file"
            multiple
            hidden
            tabIndex={-1}
            data-testid="import-folder-input"
            onChange={onPicked}
            {...{ webkitdirectory: '', directory: '' }}
          />
          {reading && <p className="muted">Reading the dropped folders…</p>}
        </div>

        {items.length > 0 && (
          <div className="selection">
            <div className="selection-header">
              <p data-testid="import-selection">
                <strong>Selected:</strong> {selectionText(summary)}
              </p>
              <button type="button" className="secondary small" onClick={clear} disabled={busy}>
                Clear selection
              </button>
            </div>
            <details>
              <summary>Show the files</summary>
              <ul className="file-list mono" data-testid="import-file-list">
                {items.slice(0, LISTED).map((item) => (
                  <li key={item.path}>{item.path}</li>
                ))}
              </ul>
              {items.length > LISTED && <p className="muted">…and {items.length - LISTED} more.</p>}
            </details>
          </div>
        )}
        {unreadable.length > 0 && (
          <p className="form-error" data-testid="import-unreadable">
            {unreadable.length} dropped item{unreadable.length === 1 ? '' : 's'} could not be read and will not be sent: {unreadable.slice(0, 5).join(', ')}
            {unreadable.length > 5 ? '…' : ''}
          </p>
        )}

        <div className="form-row import-target">
          <Field id="import-group" label="Import into group">
            <select id="import-group" data-testid="import-group" value={chosenGroupId} onChange={(event) => setGroupId(event.target.value)} disabled={choices.length === 0}>
              {choices.length === 0 && <option value="">{groups.data ? 'No group available' : 'Loading…'}</option>}
              {choices.map((group) => (
                <option key={group.id} value={group.id}>
                  {group.name}
                </option>
              ))}
            </select>
          </Field>
        </div>
        <LoadError message={groups.error} />
        {groups.data && choices.length === 0 && (
          <p className="muted" data-testid="import-no-group">
            You belong to no group, so imported studies would have no owner. Ask an admin to add you to a group.
          </p>
        )}

        {summary.nifti > 0 && <NiftiForm count={summary.nifti} fields={nifti} problems={problems} onChange={onNifti} />}

        <ErrorText message={action.error ?? runError} testId="import-error" />
        <StatusText message={action.notice} />
        <div className="button-row">
          <button type="submit" disabled={busy || items.length === 0 || !chosenGroupId} data-testid="import-start">
            {busy ? 'An upload is running…' : 'Start import'}
          </button>
        </div>
      </form>

      <h2>Recent imports</h2>
      <RecentImports page={recentPage} onPage={(page) => setParams(page > 1 ? { page: String(page) } : {})} />
    </section>
  );
}
