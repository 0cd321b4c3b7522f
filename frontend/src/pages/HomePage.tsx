// The start page after sign-in: each role lands where its work is. A borrower on the assistant
// (their application is started and followed there), a broker or broker manager on the pipeline,
// a platform admin or prompt engineer on a page that leads to the back office (/admin), where their
// tools are.

import { useTranslation } from "react-i18next";
import { Link, Navigate } from "react-router";

import { useMe, type Me } from "../auth/AuthProvider";
import { QueryState, usePageTitle } from "../components/ui";

export function landingFor(role: Me["role"]): string {
  switch (role) {
    case "borrower":
      return "/assistant";
    case "broker":
    case "broker_manager":
      return "/pipeline";
    case "platform_admin":
    case "prompt_engineer":
      return "/staff";
    default:
      return "/me";
  }
}

export function HomePage() {
  const me = useMe();
  return <QueryState query={me}>{(data) => <Navigate to={landingFor(data.role)} replace />}</QueryState>;
}

/** Staff roles work in the server-rendered back office; this page says so and links to it. */
export function StaffHomePage() {
  const { t } = useTranslation();
  const me = useMe();
  usePageTitle(t("nav.backOffice"));
  return (
    <QueryState query={me}>
      {(data) => (
        <div className="narrow">
          <h1>{t("staffHome.title", { name: data.full_name })}</h1>
          <p>
            {data.role === "prompt_engineer" ? t("staffHome.promptIntro") : t("staffHome.adminIntro")}
          </p>
          <p>
            {/* A full page load: /admin is the server's, not a route of this app. */}
            <a className="button" href="/admin/">
              {t("staffHome.openBackOffice")}
            </a>
          </p>
          <p>
            <Link to="/assistant">{t("staffHome.assistantHint")}</Link>
          </p>
        </div>
      )}
    </QueryState>
  );
}
