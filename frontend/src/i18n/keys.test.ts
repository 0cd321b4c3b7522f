// The en/zh check: both languages have the same keys with the same {{placeholders}} and no empty
// text; every key the code names exists; every value of an API enum the app translates has its
// text; and every error code the API documents is either translated or known to carry the
// server's own sentence. The type checker catches much of this at build time, but not keys made at
// run time (error codes, enum values the server adds) nor placeholders, so this test reads them.

import { describe, expect, it } from "vitest";

import openapi from "../api/openapi.json";
import { en } from "./en";
import { zh } from "./zh";

type Tree = { [key: string]: string | Tree };

function flatten(tree: Tree, prefix = ""): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, value] of Object.entries(tree)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (typeof value === "string") out.set(path, value);
    else for (const [inner, text] of flatten(value, path)) out.set(inner, text);
  }
  return out;
}

const EN = flatten(en as unknown as Tree);
const ZH = flatten(zh as unknown as Tree);
const PLURAL = /_(zero|one|two|few|many|other)$/;

function placeholders(text: string): string[] {
  return [...text.matchAll(/\{\{\s*([\w.]+)[^}]*\}\}/g)].map((m) => m[1] ?? "").sort();
}

/** A key as the code names it: itself, or the plural forms i18next picks from with `count`. */
function exists(messages: Map<string, string>, key: string): boolean {
  return messages.has(key) || messages.has(`${key}_other`);
}

function isGroup(key: string): boolean {
  return [...EN.keys()].some((known) => known.startsWith(`${key}.`));
}

// The source files that name keys (tests and the generated client left out).
const SOURCES = import.meta.glob(["../**/*.{ts,tsx}", "!../**/*.test.{ts,tsx}", "!../api/**"], {
  query: "?raw",
  import: "default",
  eager: true,
}) as Record<string, string>;

// Keys in code: t("a.b"), i18n.exists("a.b"), { key: "validation.x" } (client-side checks).
const LITERAL = /\b(?:t|exists)\(\s*["']([A-Za-z][\w.]*)["']|\bkey:\s*"((?:validation)\.[\w.]+)"/g;
// Keys made at run time: t(`prefix.${value}`), i18n.exists(`prefix.${value}`).
const TEMPLATE = /\b(?:t|exists)\(\s*`([A-Za-z][\w.]*)\.\$\{/g;

// Run-time prefixes whose values are an API enum: each value needs its text.
const ENUM_PREFIXES: Record<string, string> = {
  statuses: "ApplicationStatus",
  products: "ProductType",
  roles: "Role",
  "documents.types": "DocumentType",
  "documents.statuses": "DocumentStatus",
  "documents.severity": "SignalSeverity",
  "application.kinds": "OfferKind",
};

// Error codes the API documents that the web app shows as the server's sentence (a business rule
// explained in words, e.g. which fields are missing), or never meets (lender webhooks, the back
// office, the catalog's staff API).
const SERVER_SENTENCE = new Set(["Conflict", "InvalidInput", "GuardRejected", "MakerCheckerRefused"]);
const NOT_IN_WEB_APP = new Set(["InvalidWebhook", "WebhookRejected", "EffectiveDateError", "RetiredError"]);

describe("translations", () => {
  it("has the same keys in English and Chinese", () => {
    const onlyEn = [...EN.keys()].filter((key) => !ZH.has(key) && !PLURAL.test(key));
    const onlyZh = [...ZH.keys()].filter((key) => !EN.has(key) && !PLURAL.test(key));
    expect({ onlyEn, onlyZh }).toEqual({ onlyEn: [], onlyZh: [] });
    // Plural forms: Chinese needs only _other; English needs _one and _other.
    for (const key of EN.keys()) {
      if (key.endsWith("_one")) expect(ZH.has(key.replace(/_one$/, "_other")), key).toBe(true);
    }
  });

  it("has no empty text and the same placeholders in both", () => {
    const problems: string[] = [];
    for (const [key, text] of EN) {
      const other = ZH.get(key);
      if (text.trim() === "") problems.push(`en ${key} is empty`);
      if (other === undefined) continue;
      if (other.trim() === "") problems.push(`zh ${key} is empty`);
      if (placeholders(text).join() !== placeholders(other).join()) {
        problems.push(`${key}: en ${placeholders(text).join()} ≠ zh ${placeholders(other).join()}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it("has every key the code names, in both languages", () => {
    const missing: string[] = [];
    let named = 0;
    for (const [file, text] of Object.entries(SOURCES)) {
      for (const match of text.matchAll(LITERAL)) {
        const key = match[1] ?? match[2] ?? "";
        named += 1;
        for (const [language, messages] of [["en", EN], ["zh", ZH]] as const) {
          if (!exists(messages, key)) missing.push(`${language} ${key} (${file})`);
        }
      }
      for (const match of text.matchAll(TEMPLATE)) {
        const prefix = match[1] ?? "";
        if (prefix === "errors") continue; // checked against the API's error codes below
        if (!isGroup(prefix)) missing.push(`group ${prefix} (${file})`);
      }
    }
    expect(named).toBeGreaterThan(300); // the scan found the code's keys at all
    expect(missing).toEqual([]);
  });

  it("has a text for every value of the API enums the app translates", () => {
    const schemas = openapi.components.schemas as Record<string, { enum?: unknown[] }>;
    const missing: string[] = [];
    for (const [prefix, schema] of Object.entries(ENUM_PREFIXES)) {
      const values = schemas[schema]?.enum;
      expect(values, schema).toBeDefined();
      for (const value of values ?? []) {
        for (const [language, messages] of [["en", EN], ["zh", ZH]] as const) {
          if (!messages.has(`${prefix}.${String(value)}`)) missing.push(`${language} ${prefix}.${String(value)}`);
        }
      }
    }
    expect(missing).toEqual([]);
  });

  it("translates every error code the API documents, or knows why not", () => {
    const codes = new Set<string>();
    for (const operations of Object.values(openapi.paths as Record<string, Record<string, unknown>>)) {
      for (const operation of Object.values(operations)) {
        const responses = (operation as { responses?: Record<string, { description?: string }> }).responses ?? {};
        for (const [status, response] of Object.entries(responses)) {
          if (!/^[45]/.test(status)) continue;
          for (const name of (response.description ?? "").split(" or ")) {
            if (/^[A-Z][A-Za-z]+$/.test(name)) codes.add(name);
          }
        }
      }
    }
    expect(codes.size).toBeGreaterThan(10);
    const untranslated = [...codes]
      .filter((code) => !SERVER_SENTENCE.has(code) && !NOT_IN_WEB_APP.has(code))
      .filter((code) => !EN.has(`errors.${code}`) || !ZH.has(`errors.${code}`))
      .sort();
    expect(untranslated).toEqual([]);
  });
});
