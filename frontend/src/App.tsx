// The routes of the web app. Pages load on first visit (route-level code splitting), so the first
// load carries only the frame, sign-in and what every page shares.

import { Suspense, lazy, type ReactNode } from "react";
import { Route, Routes } from "react-router";

import { RedirectIfSignedIn, RequireAuth } from "./auth/guards";
import { Layout } from "./components/Layout";
import { Loading } from "./components/ui";
import { HomePage } from "./pages/HomePage";
import { LoginPage } from "./pages/LoginPage";
import { NotFoundPage } from "./pages/NotFoundPage";

const RegisterPage = lazy(() => import("./pages/RegisterPage").then((m) => ({ default: m.RegisterPage })));
const ResetPasswordPage = lazy(() =>
  import("./pages/AccountLinkPages").then((m) => ({ default: m.ResetPasswordPage })),
);
const VerifyEmailPage = lazy(() =>
  import("./pages/AccountLinkPages").then((m) => ({ default: m.VerifyEmailPage })),
);
const MePage = lazy(() => import("./pages/MePage").then((m) => ({ default: m.MePage })));
const SecurityPage = lazy(() => import("./pages/SecurityPage").then((m) => ({ default: m.SecurityPage })));
const PrivacyPage = lazy(() => import("./pages/PrivacyPage").then((m) => ({ default: m.PrivacyPage })));
const FirmPage = lazy(() => import("./pages/FirmPage").then((m) => ({ default: m.FirmPage })));
const AssistantPage = lazy(() =>
  import("./pages/AssistantPage").then((m) => ({ default: m.AssistantPage })),
);
const ApplicationsPage = lazy(() =>
  import("./pages/ApplicationsPage").then((m) => ({ default: m.ApplicationsPage })),
);
const ApplicationPage = lazy(() =>
  import("./pages/ApplicationPage").then((m) => ({ default: m.ApplicationPage })),
);
const CommissionsPage = lazy(() =>
  import("./commissions/CommissionsPage").then((m) => ({ default: m.CommissionsPage })),
);
const DashboardPage = lazy(() =>
  import("./analytics/DashboardPage").then((m) => ({ default: m.DashboardPage })),
);
const NotificationsPage = lazy(() =>
  import("./notifications/NotificationsPage").then((m) => ({ default: m.NotificationsPage })),
);
const PreferencesPage = lazy(() =>
  import("./notifications/PreferencesPage").then((m) => ({ default: m.PreferencesPage })),
);
const StaffHomePage = lazy(() => import("./pages/HomePage").then((m) => ({ default: m.StaffHomePage })));
const PipelinePage = lazy(() => import("./pages/PipelinePage").then((m) => ({ default: m.PipelinePage })));

function signedIn(page: ReactNode, allowEnrollmentOnly = false) {
  return <RequireAuth allowEnrollmentOnly={allowEnrollmentOnly}>{page}</RequireAuth>;
}

export function App() {
  return (
    <Layout>
      <Suspense fallback={<Loading />}>
        <Routes>
          {/* Each role lands where its work is (pages/HomePage.tsx). */}
          <Route path="/" element={signedIn(<HomePage />)} />
          <Route
            path="/login"
            element={
              <RedirectIfSignedIn>
                <LoginPage />
              </RedirectIfSignedIn>
            }
          />
          <Route
            path="/register"
            element={
              <RedirectIfSignedIn>
                <RegisterPage />
              </RedirectIfSignedIn>
            }
          />
          <Route path="/reset-password" element={<ResetPasswordPage />} />
          <Route path="/verify-email" element={<VerifyEmailPage />} />
          <Route path="/me" element={signedIn(<MePage />)} />
          <Route path="/security" element={signedIn(<SecurityPage />, true)} />
          <Route path="/firm" element={signedIn(<FirmPage />)} />
          <Route path="/privacy" element={signedIn(<PrivacyPage />)} />
          <Route path="/assistant" element={signedIn(<AssistantPage />)} />
          <Route path="/assistant/:threadId" element={signedIn(<AssistantPage />)} />
          <Route path="/applications" element={signedIn(<ApplicationsPage />)} />
          <Route path="/applications/:applicationId" element={signedIn(<ApplicationPage />)} />
          <Route path="/pipeline" element={signedIn(<PipelinePage />)} />
          <Route path="/dashboard" element={signedIn(<DashboardPage />)} />
          <Route path="/commissions" element={signedIn(<CommissionsPage />)} />
          <Route path="/notifications" element={signedIn(<NotificationsPage />)} />
          <Route path="/notifications/preferences" element={signedIn(<PreferencesPage />)} />
          <Route path="/staff" element={signedIn(<StaffHomePage />)} />
          <Route path="*" element={<NotFoundPage />} />
        </Routes>
      </Suspense>
    </Layout>
  );
}
