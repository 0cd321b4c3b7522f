// Pure helpers of the application screens: the status order of the pipeline board, the API query
// of its filters, grouping by client, and which offers the borrower may accept. Tested without a
// browser.

import type { Schemas } from "../api/client";
import type { operations } from "../api/schema";

export type ApplicationStatus = Schemas["ApplicationStatus"];
export type ProductType = Schemas["ProductType"];
export type ApplicationItem = Schemas["ApplicationListItem"];
export type OfferRead = Schemas["OfferRead"];

/** The board's columns, in the order an application moves through them. */
export const STATUS_ORDER: readonly ApplicationStatus[] = [
  "draft",
  "submitted",
  "under_review",
  "referred",
  "approved",
  "offer_accepted",
  "funded",
  "closed",
  "declined",
  "withdrawn",
];

export const PRODUCT_TYPES: readonly ProductType[] = [
  "personal",
  "auto",
  "mortgage",
  "home_equity",
  "business",
  "debt_consolidation",
  "student_refinance",
];

export interface PipelineFilter {
  search: string;
  status: ApplicationStatus | "";
  product: ProductType | "";
}

export const NO_FILTER: PipelineFilter = { search: "", status: "", product: "" };

/** How many applications the pipeline loads at a time. */
export const PIPELINE_PAGE = 50;

export type PipelineQuery = NonNullable<
  operations["list_applications_api_v1_applications_get"]["parameters"]["query"]
>;

/** The API's query for a filter: the server filters, searches (reference, borrower name or
 * email) and sorts, so every matching application is found, not only the newest page. */
export function pipelineQuery(filter: PipelineFilter): PipelineQuery {
  const query: PipelineQuery = { order: "newest" };
  const search = filter.search.trim().slice(0, 100);
  if (search !== "") query.q = search;
  if (filter.status !== "") query.status = [filter.status];
  if (filter.product !== "") query.product_type = [filter.product];
  return query;
}

/** Every status of the board with its applications (empty columns included), newest first. */
export function byStatus(
  items: readonly ApplicationItem[],
): { status: ApplicationStatus; items: ApplicationItem[] }[] {
  return STATUS_ORDER.map((status) => ({
    status,
    items: items
      .filter((item) => item.status === status)
      .sort((a, b) => b.updated_at.localeCompare(a.updated_at)),
  }));
}

export interface ClientGroup {
  borrowerId: string;
  name: string;
  items: ApplicationItem[];
}

/** The clients behind the applications, by name, each with their applications. */
export function byClient(items: readonly ApplicationItem[]): ClientGroup[] {
  const groups = new Map<string, ClientGroup>();
  for (const item of items) {
    const group = groups.get(item.borrower_user_id) ?? {
      borrowerId: item.borrower_user_id,
      name: item.borrower_name ?? item.borrower_user_id,
      items: [],
    };
    group.items.push(item);
    groups.set(item.borrower_user_id, group);
  }
  return [...groups.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** A firm offer, live, on an approved application: what "Accept" is offered for. */
export function acceptable(offer: OfferRead, applicationStatus: ApplicationStatus): boolean {
  return (
    applicationStatus === "approved" &&
    offer.kind === "firm" &&
    offer.status === "active" &&
    !offer.expired &&
    offer.accepted_at == null
  );
}

/** The anti-steering labels in the order the rule lists them. */
const PICK_ORDER = [
  "lowest_rate",
  "lowest_rate_without_risky_features",
  "lowest_points_and_fees",
  "additional_lender",
] as const;
export type Pick = (typeof PICK_ORDER)[number];

export function picksOf(offer: OfferRead): Pick[] {
  return PICK_ORDER.filter((label) => offer.anti_steering.includes(label));
}
