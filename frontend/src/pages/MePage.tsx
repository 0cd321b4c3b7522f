// The signed-in person's account: profile (name editable), security summary, a broker's referral
// link, and a password change.

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";

import { api, unwrap } from "../api/client";
import { ApiError } from "../api/errors";
import { ME_QUERY_KEY, hasScope, useMe, type Me } from "../auth/AuthProvider";
import {
  CopyButton,
  ErrorMessage,
  Field,
  QueryState,
  usePageTitle,
  useProblemText,
} from "../components/ui";
import { formatDateTime, intlLocale } from "../lib/format";
import * as check from "../lib/validation";

function Profile({ me }: { me: Me }) {
  const { t, i18n } = useTranslation();
  const locale = intlLocale(i18n.language);
  const queryClient = useQueryClient();
  const problemText = useProblemText();
  const [name, setName] = useState(me.full_name);
  const [problem, setProblem] = useState<check.Problem | string | undefined>();
  const rename = useMutation({
    mutationFn: (full_name: string) => unwrap(api.PATCH("/api/v1/me", { body: { full_name } })),
    onSuccess: (updated) => queryClient.setQueryData(ME_QUERY_KEY, updated),
    onError: (error) => {
      if (error instanceof ApiError) setProblem(error.fieldErrors().full_name);
    },
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    const found = check.required(name) ?? undefined;
    setProblem(found);
    if (!found) rename.mutate(name.trim());
  }

  return (
    <section className="card" aria-labelledby="profile-title">
      <h2 id="profile-title">{t("me.profile")}</h2>
      <dl className="details">
        <div>
          <dt>{t("me.email")}</dt>
          <dd>{me.email}</dd>
        </div>
        <div>
          <dt>{t("me.role")}</dt>
          <dd>{t(`roles.${me.role}`)}</dd>
        </div>
        <div>
          <dt>{t("me.organization")}</dt>
          <dd>{me.organization.name}</dd>
        </div>
        <div>
          <dt>{t("me.memberSince")}</dt>
          <dd>{formatDateTime(me.created_at, locale)}</dd>
        </div>
        <div>
          <dt>{t("me.lastLogin")}</dt>
          <dd>{me.last_login_at ? formatDateTime(me.last_login_at, locale) : t("me.never")}</dd>
        </div>
      </dl>
      <form className="form form--inline" onSubmit={submit} noValidate>
        <Field
          label={t("me.fullName")}
          name="full_name"
          autoComplete="name"
          value={name}
          onChange={(event) => setName(event.target.value)}
          error={problemText(problem)}
        />
        <button type="submit" className="button button--secondary" disabled={rename.isPending}>
          {t("me.rename")}
        </button>
        {rename.isSuccess ? (
          <p className="form__status" role="status">
            {t("app.saved")}
          </p>
        ) : null}
        {rename.isError && !(rename.error instanceof ApiError && rename.error.fieldErrors().full_name) ? (
          <ErrorMessage error={rename.error} />
        ) : null}
      </form>
    </section>
  );
}

function Referral() {
  const { t } = useTranslation();
  const link = useQuery({
    queryKey: ["me", "referral"],
    queryFn: () => unwrap(api.GET("/api/v1/me/referral")),
  });
  return (
    <section className="card" aria-labelledby="referral-title">
      <h2 id="referral-title">{t("me.referralTitle")}</h2>
      <p>{t("me.referralHelp")}</p>
      <QueryState query={link}>
        {(data) => (
          <div className="copy-field">
            <label htmlFor="referral-link">{t("me.referralLink")}</label>
            <div className="copy-field__row">
              <input id="referral-link" readOnly value={data.url} className="field__input" />
              <CopyButton text={data.url} />
            </div>
          </div>
        )}
      </QueryState>
    </section>
  );
}

function PasswordChange() {
  const { t } = useTranslation();
  const problemText = useProblemText();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [problems, setProblems] = useState<
    Partial<Record<"current_password" | "new_password", check.Problem | string>>
  >({});
  const change = useMutation({
    mutationFn: (body: { current_password: string; new_password: string }) =>
      unwrap(api.POST("/api/v1/auth/password", { body })),
    onSuccess: () => {
      setCurrent("");
      setNext("");
    },
    onError: (error) => {
      if (error instanceof ApiError) setProblems(error.fieldErrors());
    },
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    const found = check.validate({
      current_password: () => check.required(current),
      new_password: () => check.newPassword(next),
    });
    setProblems(found);
    if (!check.hasProblems(found)) change.mutate({ current_password: current, new_password: next });
  }

  const fieldProblem =
    change.error instanceof ApiError && Object.keys(change.error.fieldErrors()).length > 0;
  return (
    <section className="card" aria-labelledby="password-title">
      <h2 id="password-title">{t("me.passwordTitle")}</h2>
      <form className="form" onSubmit={submit} noValidate>
        <Field
          label={t("me.currentPassword")}
          type="password"
          autoComplete="current-password"
          value={current}
          onChange={(event) => setCurrent(event.target.value)}
          error={problemText(problems.current_password)}
        />
        <Field
          label={t("me.newPassword")}
          hint={t("register.passwordHint", { min: check.PASSWORD_MIN_LENGTH })}
          type="password"
          autoComplete="new-password"
          value={next}
          onChange={(event) => setNext(event.target.value)}
          error={problemText(problems.new_password)}
        />
        <button type="submit" className="button button--secondary" disabled={change.isPending}>
          {t("me.changePassword")}
        </button>
        {change.isSuccess ? (
          <p className="banner banner--success" role="status">
            {t("me.passwordChanged")}
          </p>
        ) : null}
        {change.isError && !fieldProblem ? <ErrorMessage error={change.error} /> : null}
      </form>
    </section>
  );
}

export function MePage() {
  const { t } = useTranslation();
  usePageTitle(t("me.title"));
  const me = useMe();
  return (
    <div className="stack">
      <h1>{t("me.title")}</h1>
      <QueryState query={me}>
        {(data) => (
          <>
            <Profile me={data} />
            <section className="card" aria-labelledby="security-title">
              <h2 id="security-title">{t("me.security")}</h2>
              <p>
                {data.mfa_enabled ? t("me.mfaOn") : t("me.mfaOff")}{" "}
                {data.mfa_required ? t("me.mfaRequired") : null}
              </p>
              <Link to="/security" className="button button--secondary">
                {t("me.manageMfa")}
              </Link>
            </section>
            {hasScope(data, "referrals:share") ? <Referral /> : null}
            <PasswordChange />
          </>
        )}
      </QueryState>
    </div>
  );
}
