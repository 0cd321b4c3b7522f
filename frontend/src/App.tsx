// The routes of the web app.

import { Navigate, Route, Routes } from "react-router";

import { RedirectIfSignedIn, RequireAuth } from "./auth/guards";
import { Layout } from "./components/Layout";
import { AssistantPage } from "./pages/AssistantPage";
import { FirmPage } from "./pages/FirmPage";
import { LoginPage } from "./pages/LoginPage";
import { MePage } from "./pages/MePage";
import { NotFoundPage } from "./pages/NotFoundPage";
import { RegisterPage } from "./pages/RegisterPage";
import { SecurityPage } from "./pages/SecurityPage";

export function App() {
  return (
    <Layout>
      <Routes>
        {/* The assistant is the main interface; until it lands, the account page is home. */}
        <Route
          path="/"
          element={
            <RequireAuth>
              <Navigate to="/me" replace />
            </RequireAuth>
          }
        />
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
        <Route
          path="/me"
          element={
            <RequireAuth>
              <MePage />
            </RequireAuth>
          }
        />
        <Route
          path="/security"
          element={
            <RequireAuth allowEnrollmentOnly>
              <SecurityPage />
            </RequireAuth>
          }
        />
        <Route
          path="/firm"
          element={
            <RequireAuth>
              <FirmPage />
            </RequireAuth>
          }
        />
        <Route
          path="/assistant"
          element={
            <RequireAuth>
              <AssistantPage />
            </RequireAuth>
          }
        />
        <Route path="*" element={<NotFoundPage />} />
      </Routes>
    </Layout>
  );
}
