// Server state of the application screens (TanStack Query over the generated client).

import { keepPreviousData, useInfiniteQuery, useQuery } from "@tanstack/react-query";

import { api, unwrap, type Schemas } from "../api/client";
import { pipelineQuery, PIPELINE_PAGE, type PipelineFilter } from "./model";

export type PendingApproval = Schemas["PendingApproval"];
export type AcceptanceResult = Schemas["AcceptanceResult"];

export const applicationKeys = {
  all: ["applications"] as const,
  list: () => ["applications", "list"] as const,
  pipeline: (filter: PipelineFilter) => ["applications", "pipeline", filter] as const,
  one: (id: string) => ["applications", "one", id] as const,
  events: (id: string) => ["applications", "one", id, "events"] as const,
  offers: (id: string) => ["applications", "one", id, "offers"] as const,
};

/** Up to 100 applications the caller may see, newest first (the API's largest page). */
export function useApplications() {
  return useQuery({
    queryKey: applicationKeys.list(),
    queryFn: () => unwrap(api.GET("/api/v1/applications", { params: { query: { limit: 100 } } })),
  });
}

/** The pipeline: applications matching `filter` (filtered, searched and sorted by the API), a
 * page at a time; `fetchNextPage` loads the next page while there are more than are loaded. */
export function usePipeline(filter: PipelineFilter) {
  return useInfiniteQuery({
    queryKey: applicationKeys.pipeline(filter),
    queryFn: ({ pageParam, signal }) =>
      unwrap(
        api.GET("/api/v1/applications", {
          params: { query: { ...pipelineQuery(filter), limit: PIPELINE_PAGE, offset: pageParam } },
          signal,
        }),
      ),
    initialPageParam: 0,
    getNextPageParam: (last) => {
      const next = last.offset + last.items.length;
      return last.items.length > 0 && next < last.total ? next : undefined;
    },
    placeholderData: keepPreviousData, // the last results stay while a new search loads
  });
}

export function useApplication(id: string) {
  return useQuery({
    queryKey: applicationKeys.one(id),
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/applications/{application_id}", {
          params: { path: { application_id: id } },
        }),
      ),
  });
}

export function useApplicationEvents(id: string) {
  return useQuery({
    queryKey: applicationKeys.events(id),
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/applications/{application_id}/events", {
          params: { path: { application_id: id } },
        }),
      ),
  });
}

export function useOffers(id: string, enabled: boolean) {
  return useQuery({
    queryKey: applicationKeys.offers(id),
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/applications/{application_id}/offers", {
          params: { path: { application_id: id } },
        }),
      ),
    enabled,
    retry: false, // "needs consent" and the like will not change by asking again
  });
}

export function askToAccept(offerId: string, version: number | undefined): Promise<PendingApproval> {
  return unwrap(
    api.POST("/api/v1/offers/{offer_id}/acceptance", {
      params: { path: { offer_id: offerId } },
      body: version === undefined ? {} : { version },
    }),
  );
}

export function answerAcceptance(
  offerId: string,
  approvalId: string,
  approved: boolean,
): Promise<AcceptanceResult> {
  return unwrap(
    api.POST("/api/v1/offers/{offer_id}/acceptance/{approval_id}", {
      params: { path: { offer_id: offerId, approval_id: approvalId } },
      body: { approved, channel: "button" },
    }),
  );
}
