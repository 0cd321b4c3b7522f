// The person's notifications through the API client: the list (with the unread count) and marking
// read. The live bell writes the count it hears into the same cache entry's neighbour.

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api, unwrap } from "../api/client";

export const NOTIFICATIONS_KEY = ["notifications"] as const;
export const UNREAD_KEY = ["notifications", "unread"] as const;
const LIST_KEY = ["notifications", "list"] as const;

export function useNotifications() {
  return useQuery({
    queryKey: LIST_KEY,
    queryFn: () => unwrap(api.GET("/api/v1/notifications", { params: { query: { limit: 50 } } })),
  });
}

export function useMarkRead() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (id: string | null) =>
      unwrap(
        id === null
          ? api.POST("/api/v1/notifications/read-all")
          : api.POST("/api/v1/notifications/{notification_id}/read", {
              params: { path: { notification_id: id } },
            }),
      ),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: LIST_KEY }),
  });
}
