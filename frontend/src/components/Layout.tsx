// The frame of every page: skip link, header with the brand, navigation and language switcher,
// and the main region, which takes focus after each navigation (so screen readers hear the page).

import { useEffect, useRef, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { NavLink, useLocation, useNavigate } from "react-router";

import { hasScope, useAuth, useMe } from "../auth/AuthProvider";
import { LANGUAGES, setLanguage, type LanguageCode } from "../i18n";
import { Bell } from "../notifications/Bell";

function LanguageSwitcher() {
  const { t, i18n } = useTranslation();
  return (
    <label className="language-switcher">
      <span className="visually-hidden">{t("app.language")}</span>
      <select
        value={i18n.resolvedLanguage ?? "en"}
        onChange={(event) => setLanguage(event.target.value as LanguageCode)}
      >
        {LANGUAGES.map((language) => (
          <option key={language.code} value={language.code} lang={language.htmlLang}>
            {language.label}
          </option>
        ))}
      </select>
    </label>
  );
}

function Navigation() {
  const { t } = useTranslation();
  const { session, signOut } = useAuth();
  const me = useMe();
  const navigate = useNavigate();
  if (session === null) {
    return (
      <ul className="nav__list">
        <li>
          <NavLink to="/login">{t("nav.signIn")}</NavLink>
        </li>
        <li>
          <NavLink to="/register">{t("nav.signUp")}</NavLink>
        </li>
      </ul>
    );
  }
  const enrollmentOnly = session.enrollmentOnly;
  return (
    <ul className="nav__list">
      {enrollmentOnly ? null : (
        <>
          <li>
            <NavLink to="/assistant">{t("nav.assistant")}</NavLink>
          </li>
          {me.data?.role === "borrower" ? (
            <li>
              <NavLink to="/applications">{t("nav.applications")}</NavLink>
            </li>
          ) : null}
          {me.data && me.data.role !== "borrower" && me.data.role !== "prompt_engineer" ? (
            <li>
              <NavLink to="/pipeline">{t("nav.pipeline")}</NavLink>
            </li>
          ) : null}
          {me.data?.role === "platform_admin" || me.data?.role === "prompt_engineer" ? (
            <li>
              <NavLink to="/staff">{t("nav.backOffice")}</NavLink>
            </li>
          ) : null}
          {me.data?.role === "broker" || me.data?.role === "broker_manager" || me.data?.role === "platform_admin" ? (
            <li>
              <NavLink to="/dashboard">{t("nav.dashboard")}</NavLink>
            </li>
          ) : null}
          {["commissions:read:own", "commissions:read:firm", "commissions:read:all"].some((scope) =>
            hasScope(me.data, scope),
          ) ? (
            <li>
              <NavLink to="/commissions">{t("nav.commissions")}</NavLink>
            </li>
          ) : null}
          <li>
            <NavLink to="/me">{t("nav.profile")}</NavLink>
          </li>
          {hasScope(me.data, "privacy:own") ? (
            <li>
              <NavLink to="/privacy">{t("nav.privacy")}</NavLink>
            </li>
          ) : null}
        </>
      )}
      <li>
        <NavLink to="/security">{t("nav.security")}</NavLink>
      </li>
      {!enrollmentOnly && hasScope(me.data, "users:manage:firm") ? (
        <li>
          <NavLink to="/firm">{t("nav.firm")}</NavLink>
        </li>
      ) : null}
      <li>
        <button
          type="button"
          className="nav__button"
          onClick={() => {
            void signOut().then(() => navigate("/login", { state: { signedOut: true } }));
          }}
        >
          {t("nav.signOut")}
        </button>
      </li>
    </ul>
  );
}

export function Layout({ children }: { children: ReactNode }) {
  const { t } = useTranslation();
  const main = useRef<HTMLElement>(null);
  const { pathname } = useLocation();
  const firstRender = useRef(true);

  useEffect(() => {
    if (firstRender.current) {
      firstRender.current = false;
      return;
    }
    main.current?.focus();
  }, [pathname]);

  return (
    <div className="app">
      <a className="skip-link" href="#main">
        {t("app.skipToContent")}
      </a>
      <header className="header">
        <div className="header__inner">
          <NavLink to="/" className="brand">
            <span className="brand__mark" aria-hidden="true" />
            {t("app.name")}
          </NavLink>
          <nav className="nav" aria-label={t("app.mainNav")}>
            <Navigation />
          </nav>
          <Bell />
          <LanguageSwitcher />
        </div>
      </header>
      <main id="main" ref={main} tabIndex={-1} className="main">
        {children}
      </main>
    </div>
  );
}
