// A notification in the reader's language: made from its kind and data where the app knows the
// kind (the server's English `message` otherwise, e.g. a kind newer than this build).

import { useTranslation } from "react-i18next";

interface Readable {
  kind: string;
  message: string;
  data: Record<string, unknown>;
}

export function useNotificationText(): (notification: Readable) => string {
  const { t, i18n } = useTranslation();
  return (notification) => {
    const data = notification.data;
    const reference = typeof data.reference === "string" ? data.reference : "";
    if (notification.kind === "application.status_changed") {
      const status = String(data.to_status ?? "");
      const statusKey = `statuses.${status}`;
      const statusText = i18n.exists(statusKey)
        ? t(statusKey as "statuses.draft")
        : status.replaceAll("_", " ");
      return t("notifications.kinds.statusChanged", { reference, status: statusText });
    }
    if (notification.kind === "document.rejected") {
      const type = String(data.document_type ?? "");
      const typeKey = `documents.types.${type}`;
      const typeText = i18n.exists(typeKey)
        ? t(typeKey as "documents.types.other")
        : type.replaceAll("_", " ");
      return t("notifications.kinds.documentRejected", { reference, document: typeText });
    }
    return notification.message;
  };
}
