/**
 * The account page: profile, password, two-step verification (TOTP with a QR code, recovery codes), passkeys,
 * sessions, devices, linked accounts, organizations, API keys and account deletion. Each section's form posts to
 * `/account/<action>`; what must be shown once (recovery codes, a new API key, the TOTP setup) is rendered by that
 * answer, anything else redirects back with a notice.
 */
import { Effect } from "effect"
import {
  actionButton,
  type ApiResult,
  alert,
  errorText,
  fetchAll,
  field,
  form,
  htmlResponse,
  notice,
  type PageContext,
  redirect,
  type SignedIn,
} from "../context.js"
import { type Fragment, html, trusted } from "../html.js"
import { layout } from "../layout.js"
import { qrCodeSvg } from "../qr-code.js"

interface Flash {
  readonly notice?: string | undefined
  readonly error?: string | undefined
  /** Shown first (a new key, recovery codes, the TOTP setup). */
  readonly extra?: Fragment
}

const when = (date: string | null | undefined) =>
  date ? new Date(date).toISOString().slice(0, 16).replace("T", " ") : ""

const list = <T>(result: ApiResult, key: string): ReadonlyArray<T> => (result.ok ? (result.body?.[key] ?? []) : [])

const section = (id: string, title: string, content: Fragment) =>
  html`<section class="card" id="${id}" aria-labelledby="${id}-title"><h2 id="${id}-title">${title}</h2>${content}</section>`

/**
 * Whether the signed-in user may see the admin console: the API decides (a read it would refuse is a 403), asked
 * with its cheapest admin read (the statistics count every row).
 */
export const isAdmin = (ctx: PageContext) => Effect.map(ctx.api("GET", "/admin/users?limit=1"), (result) => result.ok)

export const accountPage = (ctx: PageContext, signedIn: SignedIn, flash: Flash = {}, status = 200) =>
  Effect.gen(function* () {
    const { t } = ctx
    const client = yield* ctx.clientConfig
    const has = (plugin: string) => client.supported_plugins.includes(plugin)
    const data = yield* fetchAll({
      sessions: ctx.api("GET", "/sessions"),
      devices: ctx.api("GET", "/devices"),
      keys: ctx.api("GET", "/keys"),
      passkeys: has("passkey") ? ctx.api("GET", "/passkeys") : Effect.succeed(undefined),
      accounts: has("social") ? ctx.api("GET", "/me/accounts") : Effect.succeed(undefined),
      orgs: has("organization") ? ctx.api("GET", "/orgs") : Effect.succeed(undefined),
      mfa: has("mfa") ? ctx.api<{ enabled: boolean }>("GET", "/mfa/status") : Effect.succeed(undefined),
      admin: isAdmin(ctx),
    })
    const user = signedIn.user

    const profile = section(
      "profile",
      t.profile,
      html`<p>${user.email}</p>${form(
        ctx,
        "/account/profile",
        html`<div class="row"><div>${field({ name: "first_name", label: t.firstName, autocomplete: "given-name", value: user.first_name })}</div>
<div>${field({ name: "last_name", label: t.lastName, autocomplete: "family-name", value: user.last_name })}</div></div>
${field({ name: "username", label: `${t.username} (${t.optional})`, autocomplete: "username", value: user.username })}
<button type="submit">${t.save}</button>`,
      )}`,
    )

    const password = has("password")
      ? section(
          "password",
          t.changePassword,
          form(
            ctx,
            "/account/password",
            html`<input type="text" name="username" autocomplete="username" value="${user.email}" hidden>
${field({ name: "current_password", label: t.currentPassword, type: "password", autocomplete: "current-password", required: true })}
${field({ name: "new_password", label: t.newPassword, type: "password", autocomplete: "new-password", required: true, hint: t.passwordHint })}
<button type="submit">${t.changePassword}</button>`,
          ),
        )
      : ""

    const totp = data.mfa?.ok
      ? section(
          "two-step",
          t.twoStep,
          data.mfa.body.enabled
            ? html`<p>${t.totpOn}</p>${form(
                ctx,
                "/account/totp/disable",
                html`${field({ name: "code", id: "f-totp-off-code", label: t.mfaCode, autocomplete: "one-time-code" })}
<div class="row"><button type="submit" class="secondary">${t.totpDisable}</button><button type="submit" class="secondary" formaction="${ctx.url("/account/totp/recovery")}">${t.regenerate}</button></div>`,
                { label: t.totpDisable },
              )}`
            : html`<p>${t.totpOff}</p>${form(ctx, "/account/totp/start", html`<button type="submit">${t.totpSetUp}</button>`)}`,
        )
      : ""

    const passkeys = data.passkeys
      ? section(
          "passkeys",
          t.passkeys,
          html`${passkeyList(ctx, list(data.passkeys, "passkeys"))}
<label for="f-passkey-name">${t.passkeyName} (${t.optional})</label><input id="f-passkey-name" type="text" autocomplete="off">
<button type="button" hidden data-passkey="register" data-api="${ctx.apiPath}" data-name="f-passkey-name" data-next="${ctx.url("/account?done=passkey#passkeys")}" data-error="passkey-add-error" data-error-text="${t.passkeyFailed}">${t.addPasskey}</button>
<div id="passkey-add-error" class="alert" role="alert" hidden></div>`,
        )
      : ""

    const sessions = section(
      "sessions",
      t.sessions,
      html`<table><caption class="skip">${t.sessions}</caption><thead><tr><th scope="col">${t.device}</th><th scope="col">IP</th><th scope="col">${t.since}</th><th scope="col"><span class="skip">${t.revoke}</span></th></tr></thead><tbody>
${list<any>(data.sessions, "sessions").map(
  (s) =>
    html`<tr><td>${s.user_agent ?? ""}</td><td>${s.ip_address ?? ""}</td><td>${when(s.created_at)}</td><td>${
      s.current
        ? html`<span class="tag">${t.thisSession}</span>`
        : actionButton(ctx, "/account/sessions/revoke", t.revoke, { id: s.id })
    }</td></tr>`,
)}</tbody></table>
${form(ctx, "/account/sessions/revoke-others", html`<button type="submit" class="secondary">${t.signOutOthers}</button>`)}`,
    )

    const devices = section(
      "devices",
      t.devices,
      list<any>(data.devices, "devices").length === 0
        ? html`<p>${t.noDevices}</p>`
        : html`<table><thead><tr><th scope="col">${t.name}</th><th scope="col">IP</th><th scope="col">${t.since}</th><th scope="col"><span class="skip">${t.remove}</span></th></tr></thead><tbody>
${list<any>(data.devices, "devices").map(
  (d) =>
    html`<tr><td>${[d.browser, d.os].filter(Boolean).join(" · ") || d.name || d.type}</td><td>${d.ip_address ?? ""}</td><td>${when(d.last_seen_at)}</td><td>${actionButton(ctx, "/account/devices/remove", t.remove, { id: d.id })}</td></tr>`,
)}</tbody></table>`,
    )

    const accounts = data.accounts
      ? section(
          "linked",
          t.linkedAccounts,
          list<any>(data.accounts, "accounts").length === 0
            ? html`<p>${t.noLinkedAccounts}</p>`
            : html`<ul>${list<any>(data.accounts, "accounts").map(
                (a) =>
                  html`<li>${a.provider} ${actionButton(ctx, "/account/linked/remove", t.unlink, { provider: a.provider })}</li>`,
              )}</ul>`,
        )
      : ""

    const orgList = data.orgs ? list<any>(data.orgs, "organizations") : []
    // An organization's invitations are its admins' to see; for its other members the API answers 403.
    const invitations = yield* Effect.forEach(orgList, (org) => ctx.api("GET", `/orgs/${org.id}/invitations`), {
      concurrency: 4,
    })
    const orgs = data.orgs ? organizations(ctx, orgList, invitations, signedIn) : ""

    const keys = section(
      "api-keys",
      t.apiKeys,
      html`${
        list<any>(data.keys, "keys").length === 0
          ? html`<p>${t.noApiKeys}</p>`
          : html`<ul>${list<any>(data.keys, "keys").map(
              (k) =>
                html`<li><code>${k.key_prefix}…</code> ${k.name} ${actionButton(ctx, "/account/keys/revoke", t.revoke, { id: k.id })}</li>`,
            )}</ul>`
      }
${form(ctx, "/account/keys/create", html`${field({ name: "name", id: "f-key-name", label: t.name, required: true })}<button type="submit">${t.newApiKey}</button>`, { label: t.newApiKey })}`,
    )

    const remove = section(
      "delete",
      t.deleteAccount,
      html`<p>${t.deleteAccountIntro}</p>${form(
        ctx,
        "/account/delete",
        html`${field({ name: "confirm", id: "f-delete-confirm", label: t.deleteAccountConfirm, required: true, autocomplete: "off" })}<button type="submit" class="danger">${t.deleteAccount}</button>`,
        { label: t.deleteAccount },
      )}`,
    )

    return htmlResponse(
      status,
      layout(ctx, {
        title: t.accountTitle,
        wide: true,
        signedIn,
        admin: data.admin,
        body: html`<h1>${t.accountTitle}</h1>${alert(flash.error)}${notice(flash.notice)}${flash.extra ?? ""}
${profile}${password}${totp}${passkeys}${sessions}${devices}${accounts}${orgs}${keys}${remove}`,
      }),
    )
  })

const passkeyList = (ctx: PageContext, passkeys: ReadonlyArray<any>) =>
  passkeys.length === 0
    ? html`<p>${ctx.t.noPasskeys}</p>`
    : html`<ul>${passkeys.map(
        (p) =>
          html`<li>${p.name ?? p.id} <span class="hint">${when(p.created_at)}</span> ${actionButton(ctx, "/account/passkeys/remove", ctx.t.remove, { id: p.id })}</li>`,
      )}</ul>`

const organizations = (
  ctx: PageContext,
  orgs: ReadonlyArray<any>,
  invitations: ReadonlyArray<ApiResult>,
  signedIn: SignedIn,
) => {
  const { t } = ctx
  return section(
    "organizations",
    t.organizations,
    html`${
      orgs.length === 0
        ? html`<p>${t.noOrganizations}</p>`
        : html`<ul>${orgs.map(
            (o, i) =>
              html`<li><strong>${o.name}</strong> <span class="hint">${o.slug}</span> ${
                signedIn.session.org_id === o.id
                  ? html`<span class="tag">${t.active}</span>`
                  : actionButton(ctx, "/account/orgs/switch", t.switchTo, { org_id: o.id })
              } ${actionButton(ctx, "/account/orgs/leave", t.leave, { org_id: o.id })}${
                invitations[i]?.ok ? orgInvitations(ctx, o, list<any>(invitations[i]!, "invitations")) : ""
              }</li>`,
          )}</ul>`
    }
${form(
  ctx,
  "/account/orgs/create",
  html`<h3>${t.createOrganization}</h3><div class="row"><div>${field({ name: "name", id: "f-org-name", label: t.name, required: true })}</div><div>${field({ name: "slug", id: "f-org-slug", label: t.slug, required: true })}</div></div><button type="submit">${t.create}</button>`,
  { label: t.createOrganization },
)}`,
  )
}

/** An admin's view of an organization's open invitations (cancel), and the form to send one. */
const orgInvitations = (ctx: PageContext, org: any, invitations: ReadonlyArray<any>) => {
  const { t } = ctx
  const pending = invitations.filter((invitation) => invitation.status === "pending")
  return html`${
    pending.length === 0
      ? ""
      : html`<p>${t.invitations}:</p><ul>${pending.map(
          (invitation) =>
            html`<li>${invitation.email} <span class="tag">${invitation.role}</span> ${actionButton(ctx, "/account/orgs/cancel-invitation", t.cancel, { org_id: org.id, id: invitation.id })}</li>`,
        )}</ul>`
  }${form(
    ctx,
    "/account/orgs/invite",
    html`<input type="hidden" name="org_id" value="${org.id}"><div class="row"><div>${field({ name: "email", id: `f-invite-${org.id}`, label: `${t.invite} (${t.email})`, type: "email", required: true })}</div>
<div><label for="f-invite-role-${org.id}">${t.role}</label><select id="f-invite-role-${org.id}" name="role"><option>member</option><option>admin</option></select></div>
<div><button type="submit" class="secondary">${t.invite}</button></div></div>`,
    { label: `${t.invite} · ${org.name}` },
  )}`
}

// --- actions ---------------------------------------------------------------------------------------------------------

type Action = (ctx: PageContext, signedIn: SignedIn) => Effect.Effect<ReturnType<typeof htmlResponse>>

const done = (ctx: PageContext, key: string, anchor: string) =>
  Effect.succeed(redirect(`${ctx.url("/account")}?done=${key}#${anchor}`))

/** Calls the API; on success redirects with a notice, else renders the page with the error. */
const simple =
  (call: (ctx: PageContext) => [method: string, path: string, body?: unknown], key: string, anchor: string): Action =>
  (ctx, signedIn) => {
    const [method, path, body] = call(ctx)
    return Effect.flatMap(ctx.api(method, path, body), (result) =>
      result.ok
        ? done(ctx, key, anchor)
        : accountPage(ctx, signedIn, { error: errorText(ctx.t, result) }, result.status),
    )
  }

const id = (ctx: PageContext, name = "id") => encodeURIComponent(ctx.form.get(name) ?? "")

const recoveryCodes = (ctx: PageContext, codes: ReadonlyArray<string>, intro: string) =>
  html`<section class="card" aria-labelledby="codes-title"><h2 id="codes-title">${ctx.t.recoveryCodes}</h2><p role="status">${intro}</p>
<ul class="codes" id="recovery-codes">${codes.map((code) => html`<li>${code}</li>`)}</ul>
<button type="button" class="secondary small" hidden data-copy="recovery-codes" data-copied="${ctx.t.copied}">${ctx.t.copy}</button></section>`

const totpStart: Action = (ctx, signedIn) =>
  Effect.gen(function* () {
    const result = yield* ctx.api<{ secret: string; otpauth_url: string }>("POST", "/mfa/enroll", { method: "totp" })
    if (!result.ok) {
      return yield* accountPage(
        ctx,
        signedIn,
        result.status === 409 ? { notice: ctx.t.totpOn } : { error: errorText(ctx.t, result) },
      )
    }
    const qr = yield* qrCodeSvg(result.body.otpauth_url)
    return yield* totpSetup(ctx, signedIn, result.body.secret, qr)
  })

const totpSetup = (ctx: PageContext, signedIn: SignedIn, secret: string, qr: string, error?: string) => {
  const { t } = ctx
  return accountPage(
    ctx,
    signedIn,
    {
      error,
      extra: html`<section class="card" aria-labelledby="totp-title"><h2 id="totp-title">${t.totpSetUpTitle}</h2><p>${t.totpScan}</p>
<div class="qr" role="img" aria-label="${t.qrCode}">${trusted(qr)}</div>
<p>${t.totpSecret}: <code id="totp-secret">${secret}</code> <button type="button" class="secondary small" hidden data-copy="totp-secret" data-copied="${t.copied}">${t.copy}</button></p>
${form(
  ctx,
  "/account/totp/verify",
  html`<input type="hidden" name="secret" value="${secret}">${field({ name: "code", id: "f-totp-code", label: t.totpConfirm, autocomplete: "one-time-code", inputmode: "numeric", required: true, autofocus: true, invalid: !!error })}<button type="submit">${t.verify}</button>`,
  { label: t.totpConfirm },
)}</section>`,
    },
    error ? 400 : 200,
  )
}

const totpVerify: Action = (ctx, signedIn) =>
  Effect.gen(function* () {
    const result = yield* ctx.api<{ recovery_codes: ReadonlyArray<string> }>("POST", "/mfa/verify", {
      code: (ctx.form.get("code") ?? "").trim(),
    })
    if (result.ok) {
      return yield* accountPage(ctx, signedIn, {
        extra: recoveryCodes(ctx, result.body.recovery_codes, ctx.t.totpEnabled),
      })
    }
    // The enrollment is still open: show its setup again (the seed came with the form; it is the user's own).
    const secret = ctx.form.get("secret") ?? ""
    const qr = yield* qrCodeSvg(`otpauth://totp/${encodeURIComponent(ctx.brand.name)}?secret=${secret}`)
    return yield* totpSetup(ctx, signedIn, secret, qr, errorText(ctx.t, result))
  })

const totpRecovery: Action = (ctx, signedIn) =>
  Effect.flatMap(
    ctx.api<{ recovery_codes: ReadonlyArray<string> }>("POST", "/mfa/recovery/regenerate", {
      code: (ctx.form.get("code") ?? "").trim(),
    }),
    (result) =>
      result.ok
        ? accountPage(ctx, signedIn, { extra: recoveryCodes(ctx, result.body.recovery_codes, ctx.t.totpEnabled) })
        : accountPage(ctx, signedIn, { error: errorText(ctx.t, result) }, result.status),
  )

const createKey: Action = (ctx, signedIn) =>
  Effect.flatMap(ctx.api<{ key: string }>("POST", "/keys", { name: ctx.form.get("name") ?? "" }), (result) =>
    result.ok
      ? accountPage(ctx, signedIn, {
          extra: html`<section class="card" aria-labelledby="key-title"><h2 id="key-title">${ctx.t.apiKeys}</h2><p role="status">${ctx.t.apiKeyCreated}</p>
<p><code id="new-key">${result.body.key}</code> <button type="button" class="secondary small" hidden data-copy="new-key" data-copied="${ctx.t.copied}">${ctx.t.copy}</button></p></section>`,
        })
      : accountPage(ctx, signedIn, { error: errorText(ctx.t, result) }, result.status),
  )

const deleteAccount: Action = (ctx, signedIn) =>
  ctx.form.get("confirm") !== "DELETE"
    ? accountPage(ctx, signedIn, { error: ctx.t.deleteAccountConfirm }, 400)
    : Effect.flatMap(ctx.api("DELETE", "/me"), (result) =>
        result.ok
          ? Effect.succeed(redirect(`${ctx.url("/sign-in")}`))
          : accountPage(ctx, signedIn, { error: errorText(ctx.t, result) }, result.status),
      )

const optionalText = (ctx: PageContext, name: string) => {
  const value = ctx.form.get(name)?.trim()
  return value ? value : null
}

const actions: Record<string, Action> = {
  profile: simple(
    (ctx) => [
      "PATCH",
      "/me",
      {
        first_name: optionalText(ctx, "first_name"),
        last_name: optionalText(ctx, "last_name"),
        ...(optionalText(ctx, "username") ? { username: optionalText(ctx, "username") } : {}),
      },
    ],
    "saved",
    "profile",
  ),
  password: simple(
    (ctx) => [
      "POST",
      "/change-password",
      { current_password: ctx.form.get("current_password") ?? "", new_password: ctx.form.get("new_password") ?? "" },
    ],
    "password",
    "password",
  ),
  "totp/start": totpStart,
  "totp/verify": totpVerify,
  "totp/recovery": totpRecovery,
  "totp/disable": simple(
    (ctx) => ["DELETE", "/mfa/enrollment", { code: (ctx.form.get("code") ?? "").trim() }],
    "totp-off",
    "two-step",
  ),
  "passkeys/remove": simple((ctx) => ["DELETE", `/passkeys/${id(ctx)}`], "revoked", "passkeys"),
  "sessions/revoke": simple((ctx) => ["DELETE", `/sessions/${id(ctx)}`], "revoked", "sessions"),
  "sessions/revoke-others": simple(() => ["POST", "/sessions/revoke-others"], "revoked", "sessions"),
  "devices/remove": simple((ctx) => ["DELETE", `/devices/${id(ctx)}`], "revoked", "devices"),
  "linked/remove": simple((ctx) => ["DELETE", `/me/accounts/${id(ctx, "provider")}`], "revoked", "linked"),
  "orgs/switch": simple(
    (ctx) => ["POST", "/me/switch-org", { org_id: ctx.form.get("org_id") }],
    "saved",
    "organizations",
  ),
  "orgs/leave": simple((ctx) => ["POST", `/orgs/${id(ctx, "org_id")}/leave`], "left", "organizations"),
  "orgs/create": simple(
    (ctx) => ["POST", "/orgs", { name: ctx.form.get("name") ?? "", slug: ctx.form.get("slug") ?? "" }],
    "saved",
    "organizations",
  ),
  "orgs/invite": simple(
    (ctx) => [
      "POST",
      `/orgs/${id(ctx, "org_id")}/invitations`,
      { email: ctx.form.get("email") ?? "", role: ctx.form.get("role") ?? "member" },
    ],
    "invited",
    "organizations",
  ),
  "orgs/cancel-invitation": simple(
    (ctx) => ["DELETE", `/orgs/${id(ctx, "org_id")}/invitations/${id(ctx)}`],
    "revoked",
    "organizations",
  ),
  "keys/create": createKey,
  "keys/revoke": simple((ctx) => ["DELETE", `/keys/${id(ctx)}`], "revoked", "api-keys"),
  delete: deleteAccount,
}

const notices = (ctx: PageContext): Record<string, string> => ({
  saved: ctx.t.saved,
  password: ctx.t.passwordChanged,
  passkey: ctx.t.passkeyAdded,
  revoked: ctx.t.revoked,
  left: ctx.t.left,
  invited: ctx.t.invited,
  "totp-off": ctx.t.totpDisabled,
  "invitation-accepted": ctx.t.inviteAccepted,
  "invitation-declined": ctx.t.inviteDeclined,
})

/** Signed-in pages send everyone else to sign in, and back here afterwards. */
export const requireSignIn = (handler: Action) => (ctx: PageContext) =>
  Effect.flatMap(ctx.signedIn, (signedIn) =>
    signedIn
      ? handler(ctx, signedIn)
      : Effect.succeed(
          redirect(
            `${ctx.url("/sign-in")}?redirect_to=${encodeURIComponent(ctx.request.method === "GET" ? ctx.request.url : ctx.url("/account"))}`,
          ),
        ),
  )

export const accountPages = {
  "GET /account": requireSignIn((ctx, signedIn) =>
    accountPage(ctx, signedIn, { notice: notices(ctx)[ctx.query.get("done") ?? ""] }),
  ),
  ...Object.fromEntries(
    Object.entries(actions).map(([name, action]) => [`POST /account/${name}`, requireSignIn(action)]),
  ),
}
