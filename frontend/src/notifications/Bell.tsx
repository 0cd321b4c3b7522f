// The bell in the header: the unread count, kept live by the notification stream while the person
// is signed in, and a link to the list. A new notification is also read out (a polite live region).

import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { NavLink } from "react-router";

import { useAuth } from "../auth/AuthProvider";
import { endSession, getSession } from "../auth/session";
import { followBell, type LiveNotification } from "./live";
import { useNotificationText } from "./text";
import { NOTIFICATIONS_KEY, UNREAD_KEY } from "./queries";

export function Bell() {
  const { t } = useTranslation();
  const { session } = useAuth();
  const queryClient = useQueryClient();
  const text = useNotificationText();
  const [count, setCount] = useState<number | null>(null);
  const [latest, setLatest] = useState<LiveNotification | null>(null);
  const signedIn = session !== null && !session.enrollmentOnly;

  useEffect(() => {
    if (!signedIn) return;
    const stop = new AbortController();
    void followBell({
      token: () => getSession()?.accessToken ?? null,
      onUnread: (unread) => {
        setCount(unread);
        queryClient.setQueryData(UNREAD_KEY, unread);
        void queryClient.invalidateQueries({ queryKey: NOTIFICATIONS_KEY, exact: false });
      },
      onNotification: (notification) => setLatest(notification),
      onRefused: (error) => {
        if (error.status === 401) endSession();
      },
      signal: stop.signal,
    });
    return () => stop.abort();
  }, [signedIn, queryClient]);

  if (!signedIn) return null;
  const unread = count ?? 0;
  return (
    <>
      <NavLink
        to="/notifications"
        className="bell"
        aria-label={t("notifications.bellLabel", { count: unread })}
        data-testid="bell"
      >
        <svg className="bell__icon" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
          <path d="M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3a1.5 1.5 0 0 0-3 0v1.16A7 7 0 0 0 5 11v5l-2 2v1h18v-1Z" />
        </svg>
        {unread > 0 ? (
          <span className="bell__count" data-testid="bell-count">
            {unread > 99 ? "99+" : unread}
          </span>
        ) : null}
      </NavLink>
      <span className="visually-hidden" aria-live="polite">
        {latest ? text(latest) : ""}
      </span>
    </>
  );
}
