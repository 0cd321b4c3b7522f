// i18next set-up: English and Chinese bundled (no language files fetched at run time); the choice
// is remembered in localStorage and mirrored to <html lang>.

import i18n from "i18next";
import { initReactI18next } from "react-i18next";

import { en } from "./en";
import { zh } from "./zh";

export const LANGUAGES = [
  { code: "en", label: "English", htmlLang: "en" },
  { code: "zh", label: "中文", htmlLang: "zh-CN" },
] as const;
export type LanguageCode = (typeof LANGUAGES)[number]["code"];

const STORAGE_KEY = "omnifin.language";

declare module "i18next" {
  interface CustomTypeOptions {
    defaultNS: "translation";
    resources: { translation: typeof en };
  }
}

function initialLanguage(): LanguageCode {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (saved === "en" || saved === "zh") return saved;
  } catch {
    // storage disabled: fall through to the browser's preference
  }
  const preferred = typeof navigator === "undefined" ? [] : navigator.languages ?? [];
  return preferred.some((tag) => tag.toLowerCase().startsWith("zh")) ? "zh" : "en";
}

function applyToDocument(code: string): void {
  const language = LANGUAGES.find((candidate) => candidate.code === code) ?? LANGUAGES[0];
  if (typeof document !== "undefined") document.documentElement.lang = language.htmlLang;
}

/** The language the person reads the app in, as the chat API takes it (en or zh). */
export function appLanguage(code: string | undefined): LanguageCode {
  return code === "zh" ? "zh" : "en";
}

export function setLanguage(code: LanguageCode): void {
  try {
    localStorage.setItem(STORAGE_KEY, code);
  } catch {
    // not remembered, still switched
  }
  void i18n.changeLanguage(code);
}

i18n.on("languageChanged", applyToDocument);

void i18n.use(initReactI18next).init({
  resources: { en: { translation: en }, zh: { translation: zh } },
  lng: initialLanguage(),
  fallbackLng: "en",
  interpolation: { escapeValue: false }, // React escapes
  returnNull: false,
});
applyToDocument(i18n.language);

export default i18n;
