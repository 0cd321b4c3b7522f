// The assistant's page. Until the agent issue wires the chat (POST /api/v1/chat/threads, then
// .../runs streamed through streamEvents() from chat/sse.ts into chatReducer, rendered by <Chat>),
// it says so plainly and sends nothing.

import { useTranslation } from "react-i18next";
import { Link } from "react-router";

import { usePageTitle } from "../components/ui";

export function AssistantPage() {
  const { t } = useTranslation();
  usePageTitle(t("assistant.title"));
  return (
    <div className="stack">
      <h1>{t("assistant.title")}</h1>
      <section className="card card--notice" aria-labelledby="assistant-coming">
        <h2 id="assistant-coming">{t("assistant.comingTitle")}</h2>
        <p>{t("assistant.comingBody")}</p>
        <p>{t("assistant.comingMeanwhile")}</p>
        <p className="button-row">
          <Link to="/me" className="button button--secondary">
            {t("nav.profile")}
          </Link>
          <Link to="/security" className="button button--secondary">
            {t("nav.security")}
          </Link>
        </p>
      </section>
    </div>
  );
}
