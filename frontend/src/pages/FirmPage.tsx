// Firm settings for a broker manager: invite brokers and borrowers, see and revoke invitations,
// manage the firm's people (deactivate, reactivate), and its MFA requirement.

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";

import { api, unwrap, type Schemas } from "../api/client";
import { ApiError } from "../api/errors";
import { hasScope, useMe, type Me } from "../auth/AuthProvider";
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

type Role = Schemas["Role"];
type Invitation = Schemas["InvitationRead"];
type User = Schemas["UserRead"];

// What a broker manager may invite (the API refuses other roles from them).
const INVITABLE_ROLES: Role[] = ["borrower", "broker"];
const STAFF_ROLES: Role[] = ["broker", "broker_manager"];
const INVITATIONS_KEY = ["invitations"] as const;
const USERS_KEY = ["users"] as const;

function InviteForm() {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const problemText = useProblemText();
  const [role, setRole] = useState<Role>("borrower");
  const [email, setEmail] = useState("");
  const [hours, setHours] = useState("");
  const [problems, setProblems] = useState<
    Partial<Record<"email" | "expires_in_hours", check.Problem | string>>
  >({});
  const create = useMutation({
    mutationFn: (body: Schemas["InvitationCreate"]) =>
      unwrap(api.POST("/api/v1/invitations", { body })),
    onSuccess: () => {
      setEmail("");
      setHours("");
      void queryClient.invalidateQueries({ queryKey: INVITATIONS_KEY });
    },
    onError: (error) => {
      if (error instanceof ApiError) setProblems(error.fieldErrors());
    },
  });

  function submit(event: FormEvent) {
    event.preventDefault();
    const found = check.validate({
      email: () => (email.trim() === "" ? null : check.email(email)),
      expires_in_hours: () => check.optionalHours(hours),
    });
    setProblems(found);
    if (check.hasProblems(found)) return;
    create.mutate({
      role,
      ...(email.trim() ? { email: email.trim() } : {}),
      ...(hours.trim() ? { expires_in_hours: Number(hours) } : {}),
    });
  }

  const fieldError =
    create.error instanceof ApiError && Object.keys(create.error.fieldErrors()).length > 0;
  return (
    <section className="card" aria-labelledby="invite-title">
      <h2 id="invite-title">{t("firm.inviteTitle")}</h2>
      <form className="form" onSubmit={submit} noValidate>
        <div className="field">
          <label htmlFor="invite-role" className="field__label">
            {t("firm.inviteRole")}
          </label>
          <select
            id="invite-role"
            className="field__input"
            value={role}
            onChange={(event) => setRole(event.target.value as Role)}
          >
            {INVITABLE_ROLES.map((option) => (
              <option key={option} value={option}>
                {t(`roles.${option}`)}
              </option>
            ))}
          </select>
        </div>
        <Field
          label={t("firm.inviteEmail")}
          hint={t("firm.inviteEmailHint")}
          type="email"
          name="invite-email"
          autoComplete="off"
          value={email}
          onChange={(event) => setEmail(event.target.value)}
          error={problemText(problems.email)}
        />
        <Field
          label={t("firm.inviteExpires")}
          inputMode="numeric"
          name="invite-hours"
          value={hours}
          onChange={(event) => setHours(event.target.value)}
          error={problemText(problems.expires_in_hours)}
        />
        <div>
          <button type="submit" className="button" disabled={create.isPending}>
            {create.isPending ? t("firm.inviteCreating") : t("firm.inviteSubmit")}
          </button>
        </div>
        {create.isError && !fieldError ? <ErrorMessage error={create.error} /> : null}
      </form>
      {create.data ? (
        <div className="banner banner--success copy-field" role="status">
          <p>{t("firm.inviteCreated")}</p>
          <label htmlFor="invite-link">{t("firm.inviteLink")}</label>
          <div className="copy-field__row">
            <input id="invite-link" readOnly value={create.data.url} className="field__input" />
            <CopyButton text={create.data.url} />
          </div>
        </div>
      ) : null}
    </section>
  );
}

function Invitations() {
  const { t, i18n } = useTranslation();
  const locale = intlLocale(i18n.language);
  const queryClient = useQueryClient();
  const invitations = useQuery({
    queryKey: INVITATIONS_KEY,
    queryFn: () => unwrap(api.GET("/api/v1/invitations", { params: { query: { limit: 50 } } })),
  });
  const revoke = useMutation({
    mutationFn: (id: string) =>
      unwrap(api.DELETE("/api/v1/invitations/{invitation_id}", { params: { path: { invitation_id: id } } })),
    onSettled: () => queryClient.invalidateQueries({ queryKey: INVITATIONS_KEY }),
  });

  function row(invitation: Invitation) {
    const who = invitation.email ?? t("firm.anyEmail");
    return (
      <tr key={invitation.id}>
        <td data-label={t("firm.email")}>{who}</td>
        <td data-label={t("firm.role")}>{t(`roles.${invitation.role}`)}</td>
        <td data-label={t("firm.status")}>
          <span className={`badge badge--${invitation.status}`}>
            {t(`firm.invitationStatus.${invitation.status}`)}
          </span>
        </td>
        <td data-label={t("firm.expires")}>{formatDateTime(invitation.expires_at, locale)}</td>
        <td data-label={t("firm.actions")}>
          {invitation.status === "pending" ? (
            <button
              type="button"
              className="button button--secondary button--small"
              aria-label={t("firm.revokeLabel", { who })}
              disabled={revoke.isPending}
              onClick={() => revoke.mutate(invitation.id)}
            >
              {t("firm.revoke")}
            </button>
          ) : null}
        </td>
      </tr>
    );
  }

  return (
    <section className="card" aria-labelledby="invitations-title">
      <h2 id="invitations-title">{t("firm.invitationsTitle")}</h2>
      {revoke.isError ? <ErrorMessage error={revoke.error} /> : null}
      <QueryState query={invitations}>
        {(data) =>
          data.length === 0 ? (
            <p>{t("firm.noInvitations")}</p>
          ) : (
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">{t("firm.email")}</th>
                  <th scope="col">{t("firm.role")}</th>
                  <th scope="col">{t("firm.status")}</th>
                  <th scope="col">{t("firm.expires")}</th>
                  <th scope="col">{t("firm.actions")}</th>
                </tr>
              </thead>
              <tbody>{data.map(row)}</tbody>
            </table>
          )
        }
      </QueryState>
    </section>
  );
}

function People({ me }: { me: Me }) {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const [role, setRole] = useState<Role | "">("");
  const users = useQuery({
    queryKey: [...USERS_KEY, role],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/users", {
          params: { query: { limit: 200, ...(role ? { role } : {}) } },
        }),
      ),
  });
  const update = useMutation({
    mutationFn: ({ id, is_active }: { id: string; is_active: boolean }) =>
      unwrap(api.PATCH("/api/v1/users/{user_id}", { params: { path: { user_id: id } }, body: { is_active } })),
    onSettled: () => queryClient.invalidateQueries({ queryKey: USERS_KEY }),
  });
  const isAdmin = hasScope(me, "users:manage:all");

  function row(user: User) {
    const self = user.id === me.id;
    // The API lets only a platform administrator change a broker manager.
    const manageable = !self && (isAdmin || user.role !== "broker_manager");
    return (
      <tr key={user.id}>
        <td data-label={t("firm.name")}>
          {user.full_name} {self ? <span className="muted">{t("firm.you")}</span> : null}
        </td>
        <td data-label={t("firm.email")}>{user.email}</td>
        <td data-label={t("firm.role")}>{t(`roles.${user.role}`)}</td>
        <td data-label={t("firm.mfa")}>{user.mfa_enabled ? t("firm.mfaYes") : t("firm.mfaNo")}</td>
        <td data-label={t("firm.active")}>
          <span className={`badge badge--${user.is_active ? "used" : "revoked"}`}>
            {user.is_active ? t("firm.activeYes") : t("firm.activeNo")}
          </span>
        </td>
        <td data-label={t("firm.actions")}>
          {manageable ? (
            <button
              type="button"
              className="button button--secondary button--small"
              disabled={update.isPending}
              aria-label={
                user.is_active
                  ? t("firm.deactivateLabel", { name: user.full_name })
                  : t("firm.reactivateLabel", { name: user.full_name })
              }
              onClick={() => update.mutate({ id: user.id, is_active: !user.is_active })}
            >
              {user.is_active ? t("firm.deactivate") : t("firm.reactivate")}
            </button>
          ) : null}
        </td>
      </tr>
    );
  }

  return (
    <section className="card" aria-labelledby="people-title">
      <div className="card__header">
        <h2 id="people-title">{t("firm.usersTitle")}</h2>
        <label className="inline-select">
          {t("firm.filterRole")}{" "}
          <select value={role} onChange={(event) => setRole(event.target.value as Role | "")}>
            <option value="">{t("firm.allRoles")}</option>
            {(["borrower", "broker", "broker_manager"] as const).map((option) => (
              <option key={option} value={option}>
                {t(`roles.${option}`)}
              </option>
            ))}
          </select>
        </label>
      </div>
      {update.isError ? <ErrorMessage error={update.error} /> : null}
      <QueryState query={users}>
        {(data) =>
          data.length === 0 ? (
            <p>{t("firm.noUsers")}</p>
          ) : (
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">{t("firm.name")}</th>
                  <th scope="col">{t("firm.email")}</th>
                  <th scope="col">{t("firm.role")}</th>
                  <th scope="col">{t("firm.mfa")}</th>
                  <th scope="col">{t("firm.active")}</th>
                  <th scope="col">{t("firm.actions")}</th>
                </tr>
              </thead>
              <tbody>{data.map(row)}</tbody>
            </table>
          )
        }
      </QueryState>
    </section>
  );
}

function MfaRequirement({ me }: { me: Me }) {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const key = ["organization", me.organization_id];
  const organization = useQuery({
    queryKey: key,
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/organizations/{organization_id}", {
          params: { path: { organization_id: me.organization_id } },
        }),
      ),
  });
  const canEdit = hasScope(me, "orgs:manage");
  const save = useMutation({
    mutationFn: (roles: Role[]) =>
      unwrap(
        api.PATCH("/api/v1/organizations/{organization_id}", {
          params: { path: { organization_id: me.organization_id } },
          body: { mfa_required_roles: roles as Schemas["OrganizationUpdate"]["mfa_required_roles"] },
        }),
      ),
    onSuccess: (updated) => queryClient.setQueryData(key, updated),
  });

  return (
    <section className="card" aria-labelledby="mfa-requirement-title">
      <h2 id="mfa-requirement-title">{t("firm.mfaTitle")}</h2>
      <QueryState query={organization}>
        {(data) => {
          const required = data.mfa_required_roles;
          const summary =
            required === null || required === undefined
              ? t("firm.mfaDefault")
              : required.length === 0
                ? t("firm.mfaRequiredNone")
                : t("firm.mfaRequiredFor", {
                    roles: required.map((role) => t(`roles.${role as Role}`)).join(", "),
                  });
          return canEdit ? (
            <MfaRequirementForm
              current={(required ?? []) as Role[]}
              summary={summary}
              pending={save.isPending}
              error={save.error}
              saved={save.isSuccess}
              onSave={(roles) => save.mutate(roles)}
            />
          ) : (
            <>
              <p>{summary}</p>
              <p className="muted">{t("firm.mfaReadOnly")}</p>
            </>
          );
        }}
      </QueryState>
    </section>
  );
}

function MfaRequirementForm({
  current,
  summary,
  pending,
  error,
  saved,
  onSave,
}: {
  current: Role[];
  summary: string;
  pending: boolean;
  error: unknown;
  saved: boolean;
  onSave: (roles: Role[]) => void;
}) {
  const { t } = useTranslation();
  const [roles, setRoles] = useState<Role[]>(current);
  return (
    <form
      className="form"
      onSubmit={(event) => {
        event.preventDefault();
        onSave(roles);
      }}
    >
      <p>{summary}</p>
      <fieldset className="fieldset">
        <legend>{t("firm.mfaEdit")}</legend>
        {STAFF_ROLES.map((role) => (
          <label key={role} className="checkbox">
            <input
              type="checkbox"
              checked={roles.includes(role)}
              onChange={(event) =>
                setRoles(event.target.checked ? [...roles, role] : roles.filter((r) => r !== role))
              }
            />
            {t(`roles.${role}`)}
          </label>
        ))}
      </fieldset>
      <div>
        <button type="submit" className="button" disabled={pending}>
          {t("firm.mfaSave")}
        </button>
      </div>
      {saved ? (
        <p className="form__status" role="status">
          {t("app.saved")}
        </p>
      ) : null}
      {error ? <ErrorMessage error={error} /> : null}
    </form>
  );
}

export function FirmPage() {
  const { t } = useTranslation();
  usePageTitle(t("firm.title"));
  const me = useMe();
  return (
    <div className="stack">
      <h1>{t("firm.title")}</h1>
      <QueryState query={me}>
        {(data) =>
          hasScope(data, "users:manage:firm") || hasScope(data, "users:manage:all") ? (
            <>
              <p className="lead">{t("firm.intro", { firm: data.organization.name })}</p>
              <InviteForm />
              <Invitations />
              <People me={data} />
              <MfaRequirement me={data} />
            </>
          ) : (
            <p className="banner banner--info">{t("firm.notAllowed")}</p>
          )
        }
      </QueryState>
    </div>
  );
}
