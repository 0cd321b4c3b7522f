// Sign in: email and password; when the account uses MFA the server answers OtpRequired and the
// code field appears.

import { useMutation } from "@tanstack/react-query";
import { useEffect, useRef, useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link, useLocation } from "react-router";

import { api, unwrap } from "../api/client";
import { ApiError } from "../api/errors";
import { useAuth } from "../auth/AuthProvider";
import { sessionEndedByItself } from "../auth/session";
import { Field, useErrorText, usePageTitle, useProblemText } from "../components/ui";
import * as check from "../lib/validation";

type LoginField = "email" | "password" | "otp";

export function LoginPage() {
  const { t } = useTranslation();
  usePageTitle(t("login.title"));
  const { signIn } = useAuth();
  const location = useLocation();
  const errorText = useErrorText();
  const problemText = useProblemText();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [otp, setOtp] = useState("");
  const [needOtp, setNeedOtp] = useState(false);
  const [problems, setProblems] = useState<Partial<Record<LoginField, check.Problem | string>>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const otpInput = useRef<HTMLInputElement>(null);
  const signedOut = (location.state as { signedOut?: boolean } | null)?.signedOut === true;
  const sessionEnded = !signedOut && sessionEndedByItself();

  useEffect(() => {
    if (needOtp) otpInput.current?.focus(); // the field just appeared: take the person there
  }, [needOtp]);

  const login = useMutation({
    mutationFn: (body: { email: string; password: string; otp?: string }) =>
      unwrap(api.POST("/api/v1/auth/token", { body })),
    onSuccess: (token) => signIn(token), // the route guard moves on to the next page
    onError: (error) => {
      if (error instanceof ApiError && error.code === "OtpRequired") {
        setNeedOtp(true);
        setFormError(null);
        setProblems({ otp: t("errors.OtpRequired") });
        otpInput.current?.focus(); // asked again (the field is already there)
      } else if (error instanceof ApiError && error.code === "InvalidOtp") {
        setProblems({ otp: errorText(error) });
        otpInput.current?.focus();
      } else if (error instanceof ApiError && error.code === "ValidationError") {
        setProblems(error.fieldErrors());
      } else {
        setFormError(errorText(error));
      }
    },
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    setFormError(null);
    const found = check.validate<LoginField>({
      email: () => check.required(email),
      password: () => check.required(password),
      otp: () => (needOtp ? check.otp(otp) : null),
    });
    setProblems(found);
    if (check.hasProblems(found)) return;
    login.mutate({
      email: email.trim(),
      password,
      ...(needOtp ? { otp: otp.replace(/\s/g, "") } : {}),
    });
  }

  return (
    <div className="narrow">
      <h1>{t("login.title")}</h1>
      <p className="lead">{t("login.intro")}</p>
      {signedOut || sessionEnded ? (
        <p className="banner banner--info" role="status">
          {signedOut ? t("login.signedOut") : t("login.sessionEnded")}
        </p>
      ) : null}
      <form className="card form" onSubmit={submit} noValidate>
        {formError ? (
          <p className="banner banner--error" role="alert">
            {formError}
          </p>
        ) : null}
        <Field
          label={t("login.email")}
          type="email"
          name="email"
          autoComplete="username"
          value={email}
          onChange={(event) => setEmail(event.target.value)}
          error={problemText(problems.email)}
          required
        />
        <Field
          label={t("login.password")}
          type="password"
          name="password"
          autoComplete="current-password"
          value={password}
          onChange={(event) => setPassword(event.target.value)}
          error={problemText(problems.password)}
          required
        />
        {needOtp ? (
          <Field
            ref={otpInput}
            label={t("login.otp")}
            hint={t("login.otpHint")}
            name="otp"
            inputMode="text"
            autoComplete="one-time-code"
            value={otp}
            onChange={(event) => setOtp(event.target.value)}
            error={problemText(problems.otp)}
            required
          />
        ) : null}
        <button type="submit" className="button button--block" disabled={login.isPending}>
          {login.isPending ? t("login.submitting") : t("login.submit")}
        </button>
      </form>
      <p className="aside">
        {t("login.noAccount")} <Link to="/register">{t("login.createAccount")}</Link>
      </p>
      <p className="aside">
        <Link to="/reset-password">{t("login.forgot")}</Link>
      </p>
    </div>
  );
}
