import { useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import { apiFetch } from '../api/client';
import { fetchModels, listResults } from '../api/segmentation';
import type { InferenceModels, Patient, StudyDetail } from '../api/types';
import { useGroupChoices } from '../api/useGroupChoices';
import { useLoad, type Loaded } from '../api/useLoad';
import { useSession } from '../auth/session';
import { exportLink, exportRoles } from '../lib/exports';
import { LoadError, StatusText } from '../components/Feedback';
import { StudyCard } from '../components/StudyCard';
import { formatPersonName, formatStudyDate } from '../lib/format';
import { formatSex } from '../lib/patients';
import { mayRunInference } from '../lib/segmentation';

type PatientAnswer = { patient: Patient; studies: StudyDetail[] };

export function PatientPage() {
  const { key = '' } = useParams();
  const { user } = useSession();
  const path = `/api/patients/${encodeURIComponent(key)}`;
  const loaded = useLoad((signal) => apiFetch<PatientAnswer>(path, { signal }), [path], 'This patient could not be loaded.');
  // Only admins move studies; everyone else needs no group list here.
  const groups = useGroupChoices(user?.role === 'admin' ? user : null);
  // Segmentation: the patient's results for everyone; the models only for roles that run them.
  const results = useLoad((signal) => listResults({ patientKey: key }, signal), [key], 'The segmentation results could not be loaded.');
  const runner = user ? mayRunInference(user.role) : false;
  const models = useLoad<InferenceModels | null>((signal) => (runner ? fetchModels(signal) : Promise.resolve(null)), [runner], 'The model list could not be loaded.');
  const [notice, setNotice] = useState<string | null>(null);
  if (!user) return null;

  // While another patient loads, the previous one's answer is not shown as this one.
  const data = loaded.data && (loaded.data.patient.key === key || !loaded.loading) ? loaded.data : null;

  const replaceStudy = (study: StudyDetail) =>
    loaded.setData((current) => (current ? { ...current, studies: current.studies.map((s) => (s.studyInstanceUid === study.studyInstanceUid ? study : s)) } : current));

  const dropStudy = (uid: string) => {
    loaded.setData((current) => (current ? { ...current, studies: current.studies.filter((s) => s.studyInstanceUid !== uid) } : current));
    setNotice('The study was deleted.');
  };

  if (!data) {
    return (
      <section>
        <p>
          <Link to="/patients">← Patients</Link>
        </p>
        <LoadError message={loaded.error} testId="patient-error" />
        {!loaded.error && <p className="muted">Loading…</p>}
      </section>
    );
  }

  const { patient, studies } = data;
  // A job ended: load the results again, and the studies, whose series now include the SEG.
  const onSegmentationSettled = () => {
    results.reload();
    loaded.reload();
  };
  return (
    <section data-testid="patient-page">
      <p className="breadcrumb">
        <Link to="/patients">← Patients</Link>
      </p>
      <header className="patient-header">
        <h1 data-testid="patient-name">{formatPersonName(patient.patientName)}</h1>
        <dl className="facts">
          <div>
            <dt>Patient ID</dt>
            <dd className="mono" data-testid="patient-id">
              {patient.patientId || '—'}
            </dd>
          </div>
          <div>
            <dt>Birth date</dt>
            <dd>{formatStudyDate(patient.birthDate)}</dd>
          </div>
          <div>
            <dt>Sex</dt>
            <dd>{formatSex(patient.sex)}</dd>
          </div>
          <div>
            <dt>Studies</dt>
            <dd>{studies.length}</dd>
          </div>
        </dl>
        {user && exportRoles.includes(user.role) && studies.length > 0 && (
          <p>
            <Link to={exportLink({ patientKeys: [patient.key] })} data-testid="patient-export">
              Export this patient…
            </Link>
          </p>
        )}
      </header>
      <StatusText message={notice} testId="patient-notice" />
      <LoadError message={loaded.error} />
      {studies.length === 0 ? (
        <p className="muted" data-testid="patient-no-studies">
          No studies of this patient that you may see.
        </p>
      ) : (
        studies.map((study) => (
          <StudyCard
            key={study.studyInstanceUid}
            study={study}
            user={user}
            groups={groups.data ?? []}
            onChanged={replaceStudy}
            onDeleted={dropStudy}
            onReload={loaded.reload}
            models={runner ? (models as Loaded<InferenceModels>) : null}
            results={results}
            onSegmentationSettled={onSegmentationSettled}
          />
        ))
      )}
    </section>
  );
}
