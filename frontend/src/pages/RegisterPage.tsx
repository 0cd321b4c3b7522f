// Sign up. An invitation link (/register?invitation=CODE) or a broker's referral link
// (/register?ref=CODE) carries its code into the request; the server decides the role and firm.

import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link, useSearchParams } from "react-router";

import { api, unwrap } from "../api/client";
import { ApiError } from "../api/errors";
import { useAuth } from "../auth/AuthProvider";
import { Field, useErrorText, usePageTitle, useProblemText } from "../components/ui";
import * as check from "../lib/validation";

type RegisterField = "full_name" | "email" | "password";

/** The invitation or referral code a link carries (the API's links use these parameter names). */
export function codesFromLink(params: URLSearchParams): {
  invitationCode: string | null;
  referralCode: string | null;
} {
  const pick = (...names: string[]) =>
    names.map((name) => params.get(name)?.trim()).find((value) => value) ?? null;
  const invitationCode = pick("invitation", "invite");
  // An invitation wins: the API refuses a request carrying both.
  return { invitationCode, referralCode: invitationCode ? null : pick("ref", "referral") };
}

export function RegisterPage() {
  const { t, i18n } = useTranslation();
  usePageTitle(t("register.title"));
  const { signIn } = useAuth();
  const [params] = useSearchParams();
  const { invitationCode, referralCode } = codesFromLink(params);
  const errorText = useErrorText();
  const problemText = useProblemText();
  const [fullName, setFullName] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [problems, setProblems] = useState<
    Partial<Record<RegisterField, check.Problem | string>>
  >({});
  const [formError, setFormError] = useState<string | null>(null);

  const register = useMutation({
    mutationFn: async (body: {
      email: string;
      password: string;
      full_name: string;
      invitation_code?: string;
      referral_code?: string;
    }) => {
      // Mail (the confirmation link, later a reset) comes in the language the page is shown in.
      const language = i18n.language.startsWith("zh") ? "zh" : "en";
      await unwrap(api.POST("/api/v1/auth/register", { body: { ...body, language } }));
      // Signed in straight away with the same credentials.
      return unwrap(
        api.POST("/api/v1/auth/token", { body: { email: body.email, password: body.password } }),
      );
    },
    onSuccess: (token) => signIn(token),
    onError: (error) => {
      const fields = error instanceof ApiError ? error.fieldErrors() : {};
      const known = Object.keys(fields).filter((name) =>
        ["full_name", "email", "password"].includes(name),
      );
      if (known.length > 0) {
        setProblems(fields);
      } else {
        setFormError(errorText(error));
      }
    },
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    setFormError(null);
    const found = check.validate<RegisterField>({
      full_name: () => check.required(fullName),
      email: () => check.email(email),
      password: () => check.newPassword(password),
    });
    setProblems(found);
    if (check.hasProblems(found)) return;
    register.mutate({
      email: email.trim(),
      password,
      full_name: fullName.trim(),
      ...(invitationCode ? { invitation_code: invitationCode } : {}),
      ...(referralCode ? { referral_code: referralCode } : {}),
    });
  }

  return (
    <div className="narrow">
      <h1>{t("register.title")}</h1>
      <p className="lead">{t("register.intro")}</p>
      {invitationCode ? (
        <p className="banner banner--info" role="status">
          {t("register.invitation")}
        </p>
      ) : referralCode ? (
        <p className="banner banner--info" role="status">
          {t("register.referral")}
        </p>
      ) : null}
      <form className="card form" onSubmit={submit} noValidate>
        {formError ? (
          <p className="banner banner--error" role="alert">
            {formError}
          </p>
        ) : null}
        <Field
          label={t("register.fullName")}
          name="full_name"
          autoComplete="name"
          value={fullName}
          onChange={(event) => setFullName(event.target.value)}
          error={problemText(problems.full_name)}
          required
        />
        <Field
          label={t("register.email")}
          type="email"
          name="email"
          autoComplete="email"
          value={email}
          onChange={(event) => setEmail(event.target.value)}
          error={problemText(problems.email)}
          required
        />
        <Field
          label={t("register.password")}
          hint={t("register.passwordHint", { min: check.PASSWORD_MIN_LENGTH })}
          type="password"
          name="password"
          autoComplete="new-password"
          value={password}
          onChange={(event) => setPassword(event.target.value)}
          error={problemText(problems.password)}
          required
        />
        <button type="submit" className="button button--block" disabled={register.isPending}>
          {register.isPending ? t("register.submitting") : t("register.submit")}
        </button>
      </form>
      <p className="aside">
        {t("register.haveAccount")} <Link to="/login">{t("register.signIn")}</Link>
      </p>
    </div>
  );
}
