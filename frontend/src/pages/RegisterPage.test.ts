import { describe, expect, it } from "vitest";

import { codesFromLink } from "./RegisterPage";

describe("codes from sign-up links", () => {
  it("reads the API's invitation and referral links", () => {
    expect(codesFromLink(new URLSearchParams("invitation=INV-1"))).toEqual({
      invitationCode: "INV-1",
      referralCode: null,
    });
    expect(codesFromLink(new URLSearchParams("ref=R42"))).toEqual({
      invitationCode: null,
      referralCode: "R42",
    });
  });

  it("accepts the short forms, ignores blanks, and prefers an invitation", () => {
    expect(codesFromLink(new URLSearchParams("invite=abc&referral=r"))).toEqual({
      invitationCode: "abc",
      referralCode: null,
    });
    expect(codesFromLink(new URLSearchParams("invitation=&ref=%20"))).toEqual({
      invitationCode: null,
      referralCode: null,
    });
  });
});
