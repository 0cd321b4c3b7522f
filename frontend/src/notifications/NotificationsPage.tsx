// The person's notifications, newest first: each links to its application, can be marked read,
// and all can be marked read at once. The bell's stream refreshes the list as notifications arrive.

import { useTranslation } from "react-i18next";
import { Link } from "react-router";

import { ErrorMessage, QueryState, usePageTitle } from "../components/ui";
import { formatDateTime, intlLocale } from "../lib/format";
import { useMarkRead, useNotifications } from "./queries";
import { useNotificationText } from "./text";

export function NotificationsPage() {
  const { t, i18n } = useTranslation();
  usePageTitle(t("notifications.title"));
  const query = useNotifications();
  const markRead = useMarkRead();
  const text = useNotificationText();
  const locale = intlLocale(i18n.resolvedLanguage ?? "en");

  return (
    <div className="narrow">
      <h1>{t("notifications.title")}</h1>
      <p>
        <Link to="/notifications/preferences">{t("notifications.preferences.link")}</Link>
      </p>
      {markRead.isError ? <ErrorMessage error={markRead.error} /> : null}
      <QueryState query={query}>
        {(data) =>
          data.items.length === 0 ? (
            <p>{t("notifications.empty")}</p>
          ) : (
            <>
              <p>
                {t("notifications.unread", { count: data.unread_count })}{" "}
                {data.unread_count > 0 ? (
                  <button
                    type="button"
                    className="button button--secondary button--small"
                    disabled={markRead.isPending}
                    onClick={() => markRead.mutate(null)}
                  >
                    {t("notifications.markAllRead")}
                  </button>
                ) : null}
              </p>
              <ul className="notification-list">
                {data.items.map((item) => (
                  <li
                    key={item.id}
                    className={item.read_at ? "notification" : "notification notification--unread"}
                  >
                    <p className="notification__text">
                      {item.read_at ? null : (
                        <span className="visually-hidden">{t("notifications.new")} </span>
                      )}
                      {item.application_id ? (
                        <Link to={`/applications/${item.application_id}`}>{text(item)}</Link>
                      ) : (
                        text(item)
                      )}
                    </p>
                    <p className="notification__meta">
                      <time dateTime={item.created_at}>
                        {formatDateTime(item.created_at, locale)}
                      </time>
                      {item.read_at ? null : (
                        <button
                          type="button"
                          className="button button--secondary button--small"
                          disabled={markRead.isPending}
                          onClick={() => markRead.mutate(item.id)}
                        >
                          {t("notifications.markRead")}
                        </button>
                      )}
                    </p>
                  </li>
                ))}
              </ul>
            </>
          )
        }
      </QueryState>
    </div>
  );
}
