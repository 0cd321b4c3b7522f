// The pages the account mails link to (issue 19): choosing a new password with a reset link
// (or asking for one), and confirming an e-mail address.

import { useMutation } from "@tanstack/react-query";
import { useEffect, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link, useSearchParams } from "react-router";

import { api, unwrap } from "../api/client";
import { ApiError } from "../api/errors";
import { Field, useErrorText, usePageTitle, useProblemText } from "../components/ui";
import * as check from "../lib/validation";

export function ResetPasswordPage() {
  const { t } = useTranslation();
  usePageTitle(t("reset.title"));
  const [params] = useSearchParams();
  const token = params.get("token");
  const errorText = useErrorText();
  const problemText = useProblemText();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [problem, setProblem] = useState<check.Problem | string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [formError, setFormError] = useState<string | null>(null);

  const ask = useMutation({
    mutationFn: (body: { email: string }) =>
      unwrap(api.POST("/api/v1/auth/password-reset", { body })),
    onSuccess: () => setDone(t("reset.sent")),
    onError: (error) => setFormError(errorText(error)),
  });
  const confirm = useMutation({
    mutationFn: (body: { token: string; new_password: string }) =>
      unwrap(api.POST("/api/v1/auth/password-reset/confirm", { body })),
    onSuccess: () => setDone(t("reset.done")),
    onError: (error) => {
      if (error instanceof ApiError && error.code === "ValidationError") {
        setProblem(error.fieldErrors().new_password ?? errorText(error));
      } else {
        setFormError(errorText(error));
      }
    },
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    setFormError(null);
    if (token) {
      const found = check.required(password);
      setProblem(found);
      if (found) return;
      confirm.mutate({ token, new_password: password });
    } else {
      const found = check.required(email);
      setProblem(found);
      if (found) return;
      ask.mutate({ email: email.trim() });
    }
  }

  const pending = ask.isPending || confirm.isPending;
  return (
    <div className="narrow">
      <h1>{t("reset.title")}</h1>
      {done ? (
        <p className="banner banner--info" role="status">
          {done} <Link to="/login">{t("reset.toLogin")}</Link>
        </p>
      ) : (
        <form className="card form" onSubmit={submit} noValidate>
          <p className="lead">{token ? t("reset.chooseIntro") : t("reset.askIntro")}</p>
          {formError ? (
            <p className="banner banner--error" role="alert">
              {formError}
            </p>
          ) : null}
          {token ? (
            <Field
              label={t("reset.newPassword")}
              type="password"
              name="new_password"
              autoComplete="new-password"
              value={password}
              onChange={(event) => setPassword(event.target.value)}
              error={problemText(problem ?? undefined)}
              required
            />
          ) : (
            <Field
              label={t("login.email")}
              type="email"
              name="email"
              autoComplete="username"
              value={email}
              onChange={(event) => setEmail(event.target.value)}
              error={problemText(problem ?? undefined)}
              required
            />
          )}
          <button type="submit" className="button button--block" disabled={pending}>
            {token ? t("reset.choose") : t("reset.ask")}
          </button>
        </form>
      )}
    </div>
  );
}

export function VerifyEmailPage() {
  const { t } = useTranslation();
  usePageTitle(t("verify.title"));
  const [params] = useSearchParams();
  const token = params.get("token") ?? "";
  const errorText = useErrorText();
  const confirm = useMutation({
    mutationFn: (body: { token: string }) =>
      unwrap(api.POST("/api/v1/auth/verify-email/confirm", { body })),
  });
  const { mutate } = confirm;
  useEffect(() => {
    if (token) mutate({ token });
  }, [token, mutate]);

  let text: string = t("verify.working");
  if (!token || confirm.isError) text = token ? errorText(confirm.error) : t("verify.noToken");
  else if (confirm.isSuccess) text = t("verify.done");
  return (
    <div className="narrow">
      <h1>{t("verify.title")}</h1>
      <p
        className={`banner ${confirm.isError || !token ? "banner--error" : "banner--info"}`}
        role="status"
      >
        {text}
      </p>
      <p className="aside">
        <Link to="/">{t("verify.continue")}</Link>
      </p>
    </div>
  );
}
