import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter, Navigate, Route, Routes } from 'react-router-dom';
import { RequireRole } from './auth/RequireRole';
import { RequireSession } from './auth/RequireSession';
import { SessionProvider } from './auth/session';
import { importRoles } from './lib/imports';
import { exportRoles } from './lib/exports';
import { AdminLedgerPage } from './pages/AdminLedgerPage';
import { ExportJobPage } from './pages/ExportJobPage';
import { ExportPage } from './pages/ExportPage';
import { AppLayout } from './layout/AppLayout';
import { AcceptInvitationPage } from './pages/AcceptInvitationPage';
import { AdminAuditPage } from './pages/AdminAuditPage';
import { AdminGroupsPage } from './pages/AdminGroupsPage';
import { AdminSessionsPage } from './pages/AdminSessionsPage';
import { AdminUsersPage } from './pages/AdminUsersPage';
import { ApiTokensPage } from './pages/ApiTokensPage';
import { ChangePasswordPage } from './pages/ChangePasswordPage';
import { ImportJobPage } from './pages/ImportJobPage';
import { ImportPage } from './pages/ImportPage';
import { LoginPage } from './pages/LoginPage';
import { MySessionsPage } from './pages/MySessionsPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { PatientPage } from './pages/PatientPage';
import { PatientsPage } from './pages/PatientsPage';
import { SegmentationPage } from './pages/SegmentationPage';
import { SegmentationReportPage } from './pages/SegmentationReportPage';
import { StatusPage } from './pages/StatusPage';
import { StudiesPage } from './pages/StudiesPage';
import './styles.css';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <BrowserRouter>
      <SessionProvider>
        <Routes>
          <Route path="/login" element={<LoginPage />} />
          {/* Public: the invited person has no account yet. */}
          <Route path="/invite/:token" element={<AcceptInvitationPage />} />
          <Route
            element={
              <RequireSession>
                <AppLayout />
              </RequireSession>
            }
          >
            <Route index element={<Navigate to="/patients" replace />} />
            <Route path="/patients" element={<PatientsPage />} />
            <Route path="/patients/:key" element={<PatientPage />} />
            <Route path="/studies" element={<StudiesPage />} />
            <Route path="/segmentations/:id" element={<SegmentationPage />} />
            <Route path="/segmentations/:id/report" element={<SegmentationReportPage />} />
            <Route element={<RequireRole role={importRoles} />}>
              <Route path="/import" element={<ImportPage />} />
              <Route path="/imports/:id" element={<ImportJobPage />} />
            </Route>
            <Route element={<RequireRole role={exportRoles} />}>
              <Route path="/exports" element={<ExportPage />} />
              <Route path="/exports/:id" element={<ExportJobPage />} />
            </Route>
            <Route path="/status" element={<StatusPage />} />
            <Route path="/account/password" element={<ChangePasswordPage />} />
            <Route path="/account/sessions" element={<MySessionsPage />} />
            <Route path="/account/tokens" element={<ApiTokensPage />} />
            <Route path="/admin" element={<RequireRole role="admin" />}>
              <Route index element={<Navigate to="/admin/users" replace />} />
              <Route path="users" element={<AdminUsersPage />} />
              <Route path="groups" element={<AdminGroupsPage />} />
              <Route path="sessions" element={<AdminSessionsPage />} />
              <Route path="audit" element={<AdminAuditPage />} />
              <Route path="ledger" element={<AdminLedgerPage />} />
            </Route>
            <Route path="*" element={<NotFoundPage />} />
          </Route>
        </Routes>
      </SessionProvider>
    </BrowserRouter>
  </StrictMode>,
);
