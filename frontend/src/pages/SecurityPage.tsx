// Two-factor authentication: status; enrolment (QR code, setup key, first code, recovery codes
// shown once); new recovery codes; turning it off where the organization allows.

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router";

import { api, unwrap, type Schemas } from "../api/client";
import { ApiError } from "../api/errors";
import { ME_QUERY_KEY, useAuth } from "../auth/AuthProvider";
import {
  CopyButton,
  ErrorMessage,
  Field,
  QueryState,
  usePageTitle,
  useProblemText,
} from "../components/ui";
import * as check from "../lib/validation";

const MFA_QUERY_KEY = ["mfa"] as const;

function RecoveryCodesList({ codes }: { codes: string[] }) {
  const { t } = useTranslation();
  return (
    <div className="stack stack--tight">
      <h3>{t("mfa.recoveryTitle")}</h3>
      <p>{t("mfa.recoveryHelp")}</p>
      <ul className="recovery-codes" aria-label={t("mfa.recoveryCodes")}>
        {codes.map((code) => (
          <li key={code}>
            <code>{code}</code>
          </li>
        ))}
      </ul>
      <div>
        <CopyButton text={codes.join("\n")} label={t("mfa.copyCodes")} />
      </div>
    </div>
  );
}

/** A form with one 6-digit code field (confirmation, new recovery codes). */
function CodeForm({
  submitLabel,
  pending,
  serverError,
  onCode,
}: {
  submitLabel: string;
  pending: boolean;
  serverError: unknown;
  onCode: (code: string) => void;
}) {
  const { t } = useTranslation();
  const problemText = useProblemText();
  const [code, setCode] = useState("");
  const [problem, setProblem] = useState<check.Problem | undefined>();
  const fieldError =
    serverError instanceof ApiError ? serverError.fieldErrors().code : undefined;

  function submit(event: FormEvent) {
    event.preventDefault();
    const found = check.totp(code) ?? undefined;
    setProblem(found);
    if (!found) onCode(code.replace(/\s/g, ""));
  }

  return (
    <form className="form form--inline" onSubmit={submit} noValidate>
      <Field
        label={t("mfa.code")}
        inputMode="numeric"
        autoComplete="one-time-code"
        maxLength={8}
        value={code}
        onChange={(event) => setCode(event.target.value)}
        error={problemText(problem) ?? fieldError}
      />
      <button type="submit" className="button" disabled={pending}>
        {pending ? t("mfa.confirming") : submitLabel}
      </button>
      {serverError && !fieldError ? <ErrorMessage error={serverError} /> : null}
    </form>
  );
}

function Enrolment({ onEnabled }: { onEnabled: (codes: string[]) => void }) {
  const { t } = useTranslation();
  const [enrollment, setEnrollment] = useState<Schemas["MfaEnrollment"] | null>(null);
  const start = useMutation({
    mutationFn: () => unwrap(api.POST("/api/v1/mfa/enroll")),
    onSuccess: setEnrollment,
  });
  const confirm = useMutation({
    mutationFn: (code: string) => unwrap(api.POST("/api/v1/mfa/confirm", { body: { code } })),
    onSuccess: (answer) => onEnabled(answer.recovery_codes),
  });

  if (enrollment === null) {
    return (
      <div className="stack stack--tight">
        <div>
          <button
            type="button"
            className="button"
            disabled={start.isPending}
            onClick={() => start.mutate()}
          >
            {t("mfa.start")}
          </button>
        </div>
        {start.isError ? <ErrorMessage error={start.error} /> : null}
      </div>
    );
  }
  return (
    <div className="enrolment">
      <div className="enrolment__qr">
        <h3>{t("mfa.step1")}</h3>
        <img src={enrollment.qr_svg_data_uri} alt={t("mfa.qrAlt")} width={200} height={200} />
        <p>{t("mfa.manualEntry")}</p>
        <p>
          <code className="secret" aria-label={t("mfa.secret")} data-testid="mfa-secret">
            {enrollment.secret}
          </code>
        </p>
      </div>
      <div className="enrolment__confirm">
        <h3>{t("mfa.step2")}</h3>
        <CodeForm
          submitLabel={t("mfa.confirm")}
          pending={confirm.isPending}
          serverError={confirm.error}
          onCode={(code) => confirm.mutate(code)}
        />
        <button
          type="button"
          className="button button--link"
          onClick={() => {
            confirm.reset();
            start.mutate();
          }}
        >
          {t("mfa.restart")}
        </button>
      </div>
    </div>
  );
}

function Enabled({ status }: { status: Schemas["MfaStatus"] }) {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const problemText = useProblemText();
  const [codes, setCodes] = useState<string[] | null>(null);
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [problems, setProblems] = useState<Partial<Record<"password" | "code", check.Problem | string>>>({});
  const regenerate = useMutation({
    mutationFn: (totp: string) =>
      unwrap(api.POST("/api/v1/mfa/recovery-codes", { body: { code: totp } })),
    onSuccess: (answer) => {
      setCodes(answer.recovery_codes);
      void queryClient.invalidateQueries({ queryKey: MFA_QUERY_KEY });
    },
  });
  const disable = useMutation({
    mutationFn: (body: { password: string; code: string }) =>
      unwrap(api.POST("/api/v1/mfa/disable", { body })),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: MFA_QUERY_KEY });
      void queryClient.invalidateQueries({ queryKey: ME_QUERY_KEY });
    },
    onError: (error) => {
      if (error instanceof ApiError) setProblems(error.fieldErrors());
    },
  });

  function submitDisable(event: FormEvent) {
    event.preventDefault();
    const found = check.validate({
      password: () => check.required(password),
      code: () => check.otp(code),
    });
    setProblems(found);
    if (!check.hasProblems(found)) disable.mutate({ password, code: code.replace(/\s/g, "") });
  }

  const disableFieldError =
    disable.error instanceof ApiError && Object.keys(disable.error.fieldErrors()).length > 0;
  return (
    <>
      <p>{t("mfa.recoveryRemaining", { count: status.recovery_codes_remaining })}</p>
      <section className="subsection" aria-labelledby="regenerate-title">
        <h3 id="regenerate-title">{t("mfa.regenerateTitle")}</h3>
        {codes ? (
          <RecoveryCodesList codes={codes} />
        ) : (
          <>
            <p>{t("mfa.regenerateHelp")}</p>
            <CodeForm
              submitLabel={t("mfa.regenerate")}
              pending={regenerate.isPending}
              serverError={regenerate.error}
              onCode={(totp) => regenerate.mutate(totp)}
            />
          </>
        )}
      </section>
      <section className="subsection" aria-labelledby="disable-title">
        <h3 id="disable-title">{t("mfa.disableTitle")}</h3>
        {status.required ? (
          <p>{t("mfa.disableRequired")}</p>
        ) : (
          <form className="form" onSubmit={submitDisable} noValidate>
            <p>{t("mfa.disableHelp")}</p>
            <Field
              label={t("mfa.password")}
              type="password"
              autoComplete="current-password"
              value={password}
              onChange={(event) => setPassword(event.target.value)}
              error={problemText(problems.password)}
            />
            <Field
              label={t("login.otp")}
              hint={t("login.otpHint")}
              autoComplete="one-time-code"
              value={code}
              onChange={(event) => setCode(event.target.value)}
              error={problemText(problems.code)}
            />
            <div>
              <button type="submit" className="button button--danger" disabled={disable.isPending}>
                {t("mfa.disable")}
              </button>
            </div>
            {disable.isError && !disableFieldError ? <ErrorMessage error={disable.error} /> : null}
          </form>
        )}
      </section>
    </>
  );
}

export function SecurityPage() {
  const { t } = useTranslation();
  usePageTitle(t("mfa.title"));
  const { session, signOut } = useAuth();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [newCodes, setNewCodes] = useState<string[] | null>(null);
  const status = useQuery({
    queryKey: MFA_QUERY_KEY,
    queryFn: () => unwrap(api.GET("/api/v1/mfa")),
    enabled: newCodes === null,
  });
  // Confirming revokes an enrolment-only token: such a session must sign in again, with a code.
  const mustSignInAgain = session?.enrollmentOnly === true;

  return (
    <div className="stack">
      <h1>{t("mfa.title")}</h1>
      <p className="lead">{t("mfa.intro")}</p>
      {mustSignInAgain && newCodes === null ? (
        <p className="banner banner--warning" role="status">
          {t("mfa.enrollmentRequired")}
        </p>
      ) : null}
      <section className="card" aria-labelledby="mfa-status-title">
        <h2 id="mfa-status-title">
          {t("mfa.status")}:{" "}
          {newCodes || status.data?.enabled ? t("mfa.statusOn") : status.data ? t("mfa.statusOff") : ""}
        </h2>
        {newCodes ? (
          <div className="stack">
            <RecoveryCodesList codes={newCodes} />
            {mustSignInAgain ? (
              <>
                <p className="banner banner--info" role="status">
                  {t("mfa.signInAgain")}
                </p>
                <div>
                  <button
                    type="button"
                    className="button"
                    onClick={() => {
                      // Confirming revoked the enrolment-only token: nothing to revoke.
                      void signOut({ revoke: false }).then(() => navigate("/login"));
                    }}
                  >
                    {t("mfa.goToSignIn")}
                  </button>
                </div>
              </>
            ) : (
              <div>
                <button
                  type="button"
                  className="button"
                  onClick={() => {
                    setNewCodes(null);
                    void queryClient.invalidateQueries({ queryKey: ME_QUERY_KEY });
                  }}
                >
                  {t("mfa.done")}
                </button>
              </div>
            )}
          </div>
        ) : (
          <QueryState query={status}>
            {(data) =>
              data.enabled ? (
                <Enabled status={data} />
              ) : (
                <Enrolment onEnabled={(codes) => setNewCodes(codes)} />
              )
            }
          </QueryState>
        )}
      </section>
    </div>
  );
}
