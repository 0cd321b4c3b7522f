import { describe, expect, it } from "vitest";

import {
  NO_FILTER,
  STATUS_ORDER,
  acceptable,
  byClient,
  byStatus,
  pipelineQuery,
  picksOf,
  type ApplicationItem,
  type OfferRead,
} from "./model";

function item(overrides: Partial<ApplicationItem>): ApplicationItem {
  return {
    id: "a-1",
    reference: "OMF-000001",
    status: "draft",
    version: 1,
    product_type: "personal",
    purpose: "home_improvement",
    amount: "8000.00",
    term_months: 24,
    borrower_user_id: "b-1",
    borrower_name: "José Núñez",
    broker_user_id: null,
    organization_id: "o-1",
    created_at: "2026-01-01T00:00:00Z",
    updated_at: "2026-01-01T00:00:00Z",
    ...overrides,
  };
}

function offer(overrides: Partial<OfferRead>): OfferRead {
  return {
    id: "offer-1",
    kind: "firm",
    status: "active",
    expired: false,
    accepted_at: null,
    anti_steering: [],
    ...overrides,
  } as OfferRead;
}

describe("pipeline filtering", () => {
  it("asks the API for the filter: trimmed search, one status, one loan type, newest first", () => {
    expect(pipelineQuery(NO_FILTER)).toEqual({ order: "newest" });
    expect(pipelineQuery({ ...NO_FILTER, search: "   " })).toEqual({ order: "newest" });
    expect(pipelineQuery({ search: "  José Nuñez ", status: "submitted", product: "auto" })).toEqual({
      order: "newest",
      q: "José Nuñez",
      status: ["submitted"],
      product_type: ["auto"],
    });
    expect(pipelineQuery({ ...NO_FILTER, search: "x".repeat(150) }).q).toHaveLength(100);
  });

  it("builds every column in the status order, newest first in each", () => {
    const columns = byStatus([
      item({ id: "old", status: "submitted", updated_at: "2026-01-01T00:00:00Z" }),
      item({ id: "new", status: "submitted", updated_at: "2026-02-01T00:00:00Z" }),
      item({ id: "d", status: "draft" }),
    ]);
    expect(columns.map((column) => column.status)).toEqual(STATUS_ORDER);
    expect(columns[1]?.items.map((one) => one.id)).toEqual(["new", "old"]);
    expect(columns[0]?.items.map((one) => one.id)).toEqual(["d"]);
    expect(columns.at(-1)?.items).toEqual([]);
  });

  it("groups applications by client, by name", () => {
    const groups = byClient([
      item({ id: "1", borrower_user_id: "b-2", borrower_name: "Zoe" }),
      item({ id: "2", borrower_user_id: "b-1", borrower_name: "Ada" }),
      item({ id: "3", borrower_user_id: "b-2", borrower_name: "Zoe" }),
    ]);
    expect(groups.map((group) => [group.name, group.items.map((one) => one.id)])).toEqual([
      ["Ada", ["2"]],
      ["Zoe", ["1", "3"]],
    ]);
  });
});

describe("offers", () => {
  it("can be accepted only when firm, live and the application approved", () => {
    expect(acceptable(offer({}), "approved")).toBe(true);
    expect(acceptable(offer({}), "submitted")).toBe(false);
    expect(acceptable(offer({ kind: "prequalified" }), "approved")).toBe(false);
    expect(acceptable(offer({ expired: true }), "approved")).toBe(false);
    expect(acceptable(offer({ status: "declined" }), "approved")).toBe(false);
  });

  it("lists the anti-steering picks in the rule's order", () => {
    expect(
      picksOf(offer({ anti_steering: ["lowest_points_and_fees", "lowest_rate", "unknown"] })),
    ).toEqual(["lowest_rate", "lowest_points_and_fees"]);
    expect(picksOf(offer({}))).toEqual([]);
  });
});
