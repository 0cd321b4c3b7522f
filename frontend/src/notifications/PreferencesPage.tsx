// How the person is told of each kind of notification: e-mail and/or in the app, saved as each box
// is ticked. Essential mail (security, password reset, address confirmation) is shown always on.

import { useTranslation } from "react-i18next";
import { Link } from "react-router";

import { ErrorMessage, QueryState, usePageTitle } from "../components/ui";
import { type Preference, usePreferences, useUpdatePreference } from "./preferences";

/** The kind's name in the reader's language; the server's English label for a kind newer than this build. */
function useKindLabel(): (preference: Preference) => string {
  const { t, i18n } = useTranslation();
  return (preference) => {
    const key = `notifications.preferences.kinds.${preference.kind.replaceAll(".", "_")}`;
    return i18n.exists(key) ? t(key as "notifications.preferences.kinds.account_security") : preference.label;
  };
}

export function PreferencesPage() {
  const { t } = useTranslation();
  usePageTitle(t("notifications.preferences.title"));
  const query = usePreferences();
  const update = useUpdatePreference();
  const label = useKindLabel();

  return (
    <div className="narrow">
      <h1>{t("notifications.preferences.title")}</h1>
      <p>{t("notifications.preferences.intro")}</p>
      <p>
        <Link to="/notifications">{t("notifications.preferences.back")}</Link>
      </p>
      {update.isError ? <ErrorMessage error={update.error} /> : null}
      <QueryState query={query}>
        {(items) => (
          <table className="table">
            <thead>
              <tr>
                <th scope="col">{t("notifications.preferences.kind")}</th>
                <th scope="col">{t("notifications.preferences.email")}</th>
                <th scope="col">{t("notifications.preferences.inApp")}</th>
              </tr>
            </thead>
            <tbody>
              {items.map((item) => {
                const name = label(item);
                return (
                  <tr key={item.kind}>
                    <th scope="row">{name}</th>
                    {item.essential ? (
                      <td colSpan={2}>{t("notifications.preferences.alwaysOn")}</td>
                    ) : (
                      <>
                        <td>
                          <input
                            type="checkbox"
                            aria-label={t("notifications.preferences.emailFor", { kind: name })}
                            checked={item.email}
                            disabled={update.isPending}
                            onChange={(event) =>
                              update.mutate({ kind: item.kind, email: event.target.checked })
                            }
                          />
                        </td>
                        <td>
                          <input
                            type="checkbox"
                            aria-label={t("notifications.preferences.inAppFor", { kind: name })}
                            checked={item.in_app}
                            disabled={update.isPending}
                            onChange={(event) =>
                              update.mutate({ kind: item.kind, in_app: event.target.checked })
                            }
                          />
                        </td>
                      </>
                    )}
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </QueryState>
    </div>
  );
}
