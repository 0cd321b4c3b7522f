// Any address the app does not know.

import { useTranslation } from "react-i18next";
import { Link } from "react-router";

import { usePageTitle } from "../components/ui";

export function NotFoundPage() {
  const { t } = useTranslation();
  usePageTitle(t("app.notFoundTitle"));
  return (
    <div className="narrow">
      <h1>{t("app.notFoundTitle")}</h1>
      <p>{t("app.notFoundBody")}</p>
      <p>
        <Link to="/">{t("app.goHome")}</Link>
      </p>
    </div>
  );
}
