// The person's notification preferences through the API client: each kind with e-mail and in-app,
// and changing one kind's choice (shown at once, put back if the server refuses it). Essential mail comes back fixed on and is never sent a change.

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api, unwrap } from "../api/client";
import type { components } from "../api/schema";

export type Preference = components["schemas"]["PreferenceRead"];
export type PreferenceChange = { kind: string; email?: boolean; in_app?: boolean };

const PREFERENCES_KEY = ["notifications", "preferences"] as const;

export function usePreferences() {
  return useQuery({
    queryKey: PREFERENCES_KEY,
    queryFn: () => unwrap(api.GET("/api/v1/notifications/preferences")),
  });
}

export function useUpdatePreference() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ kind, ...body }: PreferenceChange) =>
      unwrap(
        api.PATCH("/api/v1/notifications/preferences/{kind}", {
          params: { path: { kind } },
          body,
        }),
      ),
    // The box shows the choice at once; a refused change puts the previous one back.
    // The box changes with the click, before anything is awaited (a controlled checkbox whose
    // data changes only after an await shows the old state for a moment: the browser test saw it).
    onMutate: ({ kind, ...change }: PreferenceChange) => {
      const previous = queryClient.getQueryData<Preference[]>(PREFERENCES_KEY);
      queryClient.setQueryData<Preference[]>(PREFERENCES_KEY, (old) =>
        old?.map((item) => (item.kind === kind ? { ...item, ...change } : item)),
      );
      void queryClient.cancelQueries({ queryKey: PREFERENCES_KEY });
      return { previous };
    },
    onError: (_error, _change, context) =>
      queryClient.setQueryData(PREFERENCES_KEY, context?.previous),
    onSuccess: (saved) =>
      queryClient.setQueryData<Preference[]>(PREFERENCES_KEY, (old) =>
        old?.map((item) => (item.kind === saved.kind ? saved : item)),
      ),
  });
}
