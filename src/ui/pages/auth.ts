/**
 * The sign-in pages: sign-in (password, magic link, passkey, social providers), sign-up, email verification (code
 * and mailed link), forgotten and reset password, the MFA challenge, the magic link's and the invitation's targets,
 * and sign-out. Each form posts to its page, which calls the JSON API and renders its answer.
 */
import { Effect } from "effect"
import {
  type ApiResult,
  alert,
  errorText,
  field,
  form,
  htmlResponse,
  notice,
  type PageContext,
  redirect,
} from "../context.js"
import { type Fragment, html, trusted } from "../html.js"
import { layout } from "../layout.js"
import { fill } from "../text/en.js"
import { qrCodeSvg } from "../qr-code.js"

const defaultNext = "/account"

/**
 * Where to go after signing in: `redirect_to` when it is a path on this server or a URL of a trusted origin (or our
 * own), else the account page. `//host` and `/\host` are other hosts to a browser, so they are refused.
 */
export const safeRedirect = (ctx: PageContext, target: string | null | undefined) => {
  const fallback = ctx.url(defaultNext)
  if (!target) return fallback
  // Browsers drop tabs and newlines inside URLs and read `\` as `/`: `/\t/host` would be `//host`.
  if (/[\s\\]/.test(target) || [...target].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)) {
    return fallback
  }
  if (target.startsWith("/")) return target.startsWith("//") ? fallback : target
  try {
    const url = new URL(target)
    const own = ctx.config.publicUrl ? new URL(ctx.config.publicUrl).origin : undefined
    return url.origin === own || ctx.config.trustedOrigins.includes(url.origin) ? url.href : fallback
  } catch {
    return fallback
  }
}

const nextOf = (ctx: PageContext) => ctx.form.get("redirect_to") ?? ctx.query.get("redirect_to") ?? ""

const hiddenNext = (next: string) => (next ? html`<input type="hidden" name="redirect_to" value="${next}">` : "")

/** A query string keeping `redirect_to` across the sign-in pages. */
const withNext = (ctx: PageContext, path: string, next: string) =>
  ctx.url(next ? `${path}?redirect_to=${encodeURIComponent(next)}` : path)

const page = (ctx: PageContext, title: string, body: Fragment, status = 200) =>
  Effect.map(ctx.signedIn, (signedIn) =>
    htmlResponse(status, layout(ctx, { title, body: html`<div class="card">${body}</div>`, signedIn })),
  )

// --- sign-in --------------------------------------------------------------------------------------------------------

interface SignInState {
  readonly error?: string | undefined
  readonly notice?: string | undefined
  readonly email?: string | undefined
}

const signInPage = (ctx: PageContext, state: SignInState = {}, status = 200) =>
  Effect.flatMap(ctx.clientConfig, (client) => {
    const { t } = ctx
    const next = nextOf(ctx)
    const password = client.password.enabled
      ? form(
          ctx,
          "/sign-in",
          html`${hiddenNext(next)}
${field({ name: "email", label: t.email, type: "email", autocomplete: "username webauthn", required: true, value: state.email, autofocus: true, invalid: !!state.error })}
${field({ name: "password", label: t.password, type: "password", autocomplete: "current-password", required: true, invalid: !!state.error })}
<button type="submit" class="full">${t.signIn}</button>`,
          { label: t.signIn },
        )
      : ""
    const magic = client.magic_link.enabled
      ? html`<p class="or">${t.or}</p>${form(
          ctx,
          "/sign-in/magic-link",
          html`${hiddenNext(next)}${field({ name: "email", id: "f-magic-email", label: t.email, type: "email", autocomplete: "email", required: true, value: state.email })}
<button type="submit" class="secondary full">${t.magicLinkButton}</button>`,
          { label: t.magicLinkButton },
        )}`
      : ""
    const passkey = client.passkey.enabled
      ? html`<button type="button" class="secondary full" hidden data-passkey="login" data-api="${ctx.apiPath}" data-next="${safeRedirect(ctx, next)}" data-error="passkey-error" data-error-text="${t.passkeyFailed}">${t.passkeyButton}</button>
<div id="passkey-error" class="alert" role="alert" hidden></div>`
      : ""
    const social = client.social.enabled
      ? client.social.providers.map(
          (provider) =>
            html`<a class="button secondary full" href="${ctx.url(`/sign-in/social?provider=${encodeURIComponent(provider.id)}${next ? `&redirect_to=${encodeURIComponent(next)}` : ""}`)}">${fill(t.socialButton, { provider: provider.name })}</a>`,
        )
      : ""
    return page(
      ctx,
      t.signIn,
      html`<h1>${fill(t.signInTitle, { app: ctx.brand.name })}</h1>
${alert(state.error)}${notice(state.notice)}
${password}${passkey}${social}${magic}
<p class="links">${client.password.enabled ? html`<a href="${ctx.url("/forgot-password")}">${t.forgotPassword}</a><br>` : ""}${
        client.signup_enabled && client.password.enabled
          ? html`${t.noAccount} <a href="${withNext(ctx, "/sign-up", next)}">${t.signUp}</a>`
          : ""
      }</p>`,
      status,
    )
  })

/** What a sign-in answer leads to: the next page, the MFA challenge, or the form again with the reason. */
const afterSignIn = (
  ctx: PageContext,
  result: ApiResult,
  again: (error: string) => Effect.Effect<ReturnType<typeof htmlResponse>>,
) => {
  const next = nextOf(ctx)
  if (result.ok) return Effect.succeed(redirect(safeRedirect(ctx, next)))
  if (result.type === "mfa_required" && typeof result.body?.mfa_ticket === "string") {
    return mfaStep(ctx, result.body)
  }
  if (result.type === "email_not_verified") {
    return verifyCodePage(ctx, ctx.form.get("email") ?? "", { error: errorText(ctx.t, result) }, 403)
  }
  return again(errorText(ctx.t, result))
}

const signIn = (ctx: PageContext) => {
  const email = ctx.form.get("email") ?? ""
  return Effect.flatMap(ctx.api("POST", "/signin", { email, password: ctx.form.get("password") ?? "" }), (result) =>
    afterSignIn(ctx, result, (error) => signInPage(ctx, { error, email }, result.status)),
  )
}

const sendMagicLink = (ctx: PageContext) => {
  const email = ctx.form.get("email") ?? ""
  return Effect.flatMap(ctx.api("POST", "/magic-link/send", { email }), (result) =>
    result.ok
      ? signInPage(ctx, { notice: fill(ctx.t.magicLinkSent, { email }), email })
      : signInPage(ctx, { error: errorText(ctx.t, result), email }, result.status),
  )
}

/** A social provider's sign-in starts with a link (a form's redirect to the provider would be a `form-action`). */
const socialStart = (ctx: PageContext) => {
  const provider = ctx.query.get("provider") ?? ""
  const next = safeRedirect(ctx, nextOf(ctx))
  return Effect.flatMap(ctx.api("POST", `/social/${encodeURIComponent(provider)}`, { redirect_url: next }), (result) =>
    result.ok && typeof result.body?.auth_url === "string"
      ? Effect.succeed(redirect(result.body.auth_url))
      : signInPage(ctx, { error: errorText(ctx.t, result) }, result.status),
  )
}

// --- sign-up --------------------------------------------------------------------------------------------------------

const signUpPage = (ctx: PageContext, state: { error?: string; values?: URLSearchParams } = {}, status = 200) => {
  const { t } = ctx
  const values = state.values ?? new URLSearchParams()
  const next = nextOf(ctx)
  return page(
    ctx,
    t.signUp,
    html`<h1>${fill(t.signUpTitle, { app: ctx.brand.name })}</h1>
${alert(state.error)}
${form(
  ctx,
  "/sign-up",
  html`${hiddenNext(next)}
${field({ name: "email", label: t.email, type: "email", autocomplete: "email", required: true, value: values.get("email"), autofocus: true, invalid: !!state.error })}
${field({ name: "password", label: t.password, type: "password", autocomplete: "new-password", required: true, hint: t.passwordHint, invalid: !!state.error })}
${field({ name: "first_name", label: `${t.firstName} (${t.optional})`, autocomplete: "given-name", value: values.get("first_name") })}
${field({ name: "last_name", label: `${t.lastName} (${t.optional})`, autocomplete: "family-name", value: values.get("last_name") })}
<button type="submit" class="full">${t.signUp}</button>`,
  { label: t.signUp },
)}
<p class="links">${t.haveAccount} <a href="${withNext(ctx, "/sign-in", next)}">${t.signIn}</a></p>`,
    status,
  )
}

const signUp = (ctx: PageContext) => {
  const email = ctx.form.get("email") ?? ""
  const optional = (name: string) => {
    const value = ctx.form.get(name)?.trim()
    return value ? { [name]: value } : {}
  }
  return Effect.flatMap(
    ctx.api("POST", "/signup", {
      email,
      password: ctx.form.get("password") ?? "",
      ...optional("first_name"),
      ...optional("last_name"),
    }),
    (result) => {
      if (result.ok && result.body?.verification_required) return verifyCodePage(ctx, email, {})
      if (result.ok) return Effect.succeed(redirect(safeRedirect(ctx, nextOf(ctx))))
      return signUpPage(ctx, { error: errorText(ctx.t, result), values: ctx.form }, result.status)
    },
  )
}

// --- email verification ---------------------------------------------------------------------------------------------

const verifyCodePage = (ctx: PageContext, email: string, state: { error?: string; notice?: string }, status = 200) => {
  const { t } = ctx
  const next = nextOf(ctx)
  return page(
    ctx,
    t.verifyTitle,
    html`<h1>${t.verifyTitle}</h1>
${alert(state.error)}${notice(state.notice)}
${email ? html`<p>${fill(t.verifySent, { email })}</p>` : ""}
${form(
  ctx,
  "/verify-email",
  html`${hiddenNext(next)}
${email ? html`<input type="hidden" name="email" value="${email}">` : field({ name: "email", label: t.email, type: "email", autocomplete: "email", required: true })}
${field({ name: "code", label: t.code, autocomplete: "one-time-code", inputmode: "numeric", required: true, hint: t.codeHint, autofocus: true, invalid: !!state.error })}
<button type="submit" class="full">${t.verify}</button>`,
  { label: t.verify },
)}
${
  email
    ? form(
        ctx,
        "/verify-email/resend",
        html`<input type="hidden" name="email" value="${email}"><button type="submit" class="secondary">${t.resend}</button>`,
        { label: t.resend },
      )
    : ""
}`,
    status,
  )
}

const verifyLinkPage = (ctx: PageContext, token: string, error?: string, status = 200) =>
  page(
    ctx,
    ctx.t.verifyTitle,
    html`<h1>${ctx.t.verifyTitle}</h1>${alert(error)}<p>${ctx.t.verifyLinkIntro}</p>
${form(ctx, "/verify-email", html`<input type="hidden" name="token" value="${token}"><button type="submit" class="full">${ctx.t.verifyConfirm}</button>`)}`,
    status,
  )

const verifyEmailGet = (ctx: PageContext) => {
  const token = ctx.query.get("token")
  return token ? verifyLinkPage(ctx, token) : verifyCodePage(ctx, ctx.query.get("email") ?? "", {})
}

const verifyEmail = (ctx: PageContext) => {
  const token = ctx.form.get("token")
  const email = ctx.form.get("email") ?? ""
  const body = token ? { token } : { email, code: (ctx.form.get("code") ?? "").trim() }
  return Effect.flatMap(ctx.api("POST", "/verify-email", body), (result) =>
    afterSignIn(ctx, result, (error) =>
      token ? verifyLinkPage(ctx, token, error, result.status) : verifyCodePage(ctx, email, { error }, result.status),
    ),
  )
}

const resendVerification = (ctx: PageContext) => {
  const email = ctx.form.get("email") ?? ""
  return Effect.flatMap(ctx.api("POST", "/verify-email/resend", { email }), (result) =>
    verifyCodePage(ctx, email, result.ok ? { notice: ctx.t.resent } : { error: errorText(ctx.t, result) }),
  )
}

// --- passwords ------------------------------------------------------------------------------------------------------

const forgotPage = (ctx: PageContext, state: { error?: string; notice?: string } = {}) =>
  page(
    ctx,
    ctx.t.forgotTitle,
    html`<h1>${ctx.t.forgotTitle}</h1>${alert(state.error)}${notice(state.notice)}<p>${ctx.t.forgotIntro}</p>
${form(
  ctx,
  "/forgot-password",
  html`${field({ name: "email", label: ctx.t.email, type: "email", autocomplete: "email", required: true, autofocus: true })}
<button type="submit" class="full">${ctx.t.sendResetLink}</button>`,
)}
<p class="links"><a href="${ctx.url("/sign-in")}">${ctx.t.signIn}</a></p>`,
  )

const forgot = (ctx: PageContext) => {
  const email = ctx.form.get("email") ?? ""
  return Effect.flatMap(ctx.api("POST", "/forgot-password", { email }), (result) =>
    result.ok
      ? forgotPage(ctx, { notice: fill(ctx.t.resetSent, { email }) })
      : forgotPage(ctx, { error: errorText(ctx.t, result) }),
  )
}

const resetPage = (ctx: PageContext, token: string, error?: string, status = 200) =>
  page(
    ctx,
    ctx.t.resetTitle,
    html`<h1>${ctx.t.resetTitle}</h1>${alert(error)}
${form(
  ctx,
  "/reset-password",
  html`<input type="hidden" name="token" value="${token}">
${field({ name: "new_password", label: ctx.t.newPassword, type: "password", autocomplete: "new-password", required: true, hint: ctx.t.passwordHint, autofocus: true, invalid: !!error })}
<button type="submit" class="full">${ctx.t.resetButton}</button>`,
)}`,
    status,
  )

const reset = (ctx: PageContext) => {
  const token = ctx.form.get("token") ?? ""
  return Effect.flatMap(
    ctx.api("POST", "/reset-password", { token, new_password: ctx.form.get("new_password") ?? "" }),
    (result) =>
      result.ok
        ? signInPage(ctx, { notice: ctx.t.resetDone })
        : resetPage(ctx, token, errorText(ctx.t, result), result.status),
  )
}

// --- MFA ------------------------------------------------------------------------------------------------------------

/** The setup an app that requires MFA shows a user who has none yet (with the ticket of the refused sign-in). */
interface MfaSetup {
  readonly secret: string
  readonly otpauthUrl: string
}

const mfaPage = (ctx: PageContext, ticket: string, error?: string, status = 200, setup?: MfaSetup) =>
  Effect.flatMap(setup ? qrCodeSvg(setup.otpauthUrl) : Effect.succeed(undefined), (qr) =>
    page(
      ctx,
      ctx.t.mfaTitle,
      html`<h1>${ctx.t.mfaTitle}</h1>${alert(error)}${
        setup && qr
          ? html`<p>${ctx.t.mfaEnrollRequired}</p><p>${ctx.t.totpScan}</p><div class="qr" role="img" aria-label="${ctx.t.qrCode}">${trusted(qr)}</div>
<p>${ctx.t.totpSecret}: <code id="totp-secret">${setup.secret}</code></p>`
          : html`<p>${ctx.t.mfaIntro}</p>`
      }
${form(
  ctx,
  "/mfa",
  html`<input type="hidden" name="mfa_ticket" value="${ticket}">${hiddenNext(nextOf(ctx))}${
    setup
      ? html`<input type="hidden" name="secret" value="${setup.secret}"><input type="hidden" name="otpauth_url" value="${setup.otpauthUrl}">`
      : ""
  }
${field({ name: "code", label: ctx.t.mfaCode, autocomplete: "one-time-code", required: true, autofocus: true, invalid: !!error })}
<button type="submit" class="full">${ctx.t.verify}</button>`,
)}`,
      status,
    ),
  )

/** A sign-in refused for MFA: the code step, after enrolling first where the app requires MFA of everyone. */
const mfaStep = (ctx: PageContext, body: { mfa_ticket: string; enrollment_required?: boolean }) =>
  body.enrollment_required
    ? Effect.flatMap(
        ctx.api<{ secret: string; otpauth_url: string }>("POST", "/mfa/challenge/enroll", {
          mfa_ticket: body.mfa_ticket,
        }),
        (enrolled) =>
          enrolled.ok
            ? mfaPage(ctx, body.mfa_ticket, undefined, 200, {
                secret: enrolled.body.secret,
                otpauthUrl: enrolled.body.otpauth_url,
              })
            : signInPage(ctx, { error: errorText(ctx.t, enrolled) }, enrolled.status),
      )
    : mfaPage(ctx, body.mfa_ticket)

/** The setup carried by the form of an enrolment step (the user's own new seed, shown to them already). */
const setupOf = (ctx: PageContext): MfaSetup | undefined => {
  const secret = ctx.form.get("secret")
  const otpauthUrl = ctx.form.get("otpauth_url")
  return secret && otpauthUrl?.startsWith("otpauth://") ? { secret, otpauthUrl } : undefined
}

const mfaChallenge = (ctx: PageContext) => {
  const ticket = ctx.form.get("mfa_ticket") ?? ""
  return Effect.flatMap(
    ctx.api("POST", "/mfa/challenge", { mfa_ticket: ticket, code: (ctx.form.get("code") ?? "").replace(/\s+/g, "") }),
    (result) =>
      result.ok
        ? Effect.succeed(redirect(safeRedirect(ctx, nextOf(ctx))))
        : result.type === "invalid_code"
          ? mfaPage(ctx, ticket, errorText(ctx.t, result), result.status, setupOf(ctx))
          : signInPage(ctx, { error: errorText(ctx.t, result) }, result.status),
  )
}

// --- magic link ------------------------------------------------------------------------------------------------------

const magicLinkPage = (ctx: PageContext, token: string, error?: string, status = 200) =>
  page(
    ctx,
    ctx.t.magicTitle,
    html`<h1>${ctx.t.magicTitle}</h1>${alert(error)}<p>${ctx.t.magicIntro}</p>
${form(ctx, "/magic-link", html`<input type="hidden" name="token" value="${token}"><button type="submit" class="full">${ctx.t.continue}</button>`)}`,
    status,
  )

const magicLink = (ctx: PageContext) => {
  const token = ctx.form.get("token") ?? ""
  return Effect.flatMap(ctx.api("POST", "/magic-link/verify", { token }), (result) =>
    afterSignIn(ctx, result, (error) => magicLinkPage(ctx, token, error, result.status)),
  )
}

// --- invitations ---------------------------------------------------------------------------------------------------

const invitationGet = (ctx: PageContext) =>
  Effect.flatMap(ctx.signedIn, (signedIn) => {
    const token = ctx.query.get("token") ?? ""
    if (!signedIn) {
      const here = `${ctx.url("/accept-invitation")}?token=${encodeURIComponent(token)}`
      return Effect.succeed(redirect(`${ctx.url("/sign-in")}?redirect_to=${encodeURIComponent(here)}`))
    }
    return invitationPage(ctx, token)
  })

const invitationPage = (ctx: PageContext, token: string, error?: string, status = 200) =>
  page(
    ctx,
    ctx.t.inviteTitle,
    html`<h1>${ctx.t.inviteTitle}</h1>${alert(error)}<p>${ctx.t.inviteIntro}</p>
${form(
  ctx,
  "/accept-invitation",
  html`<input type="hidden" name="token" value="${token}">
<button type="submit" name="decision" value="accept">${ctx.t.accept}</button>
<button type="submit" name="decision" value="decline" class="secondary">${ctx.t.decline}</button>`,
)}`,
    status,
  )

const invitationAnswer = (ctx: PageContext) => {
  const token = ctx.form.get("token") ?? ""
  const accept = ctx.form.get("decision") !== "decline"
  return Effect.flatMap(
    ctx.api("POST", accept ? "/orgs/invitations/accept" : "/orgs/invitations/decline", { token }),
    (result) =>
      result.ok
        ? Effect.succeed(
            redirect(
              `${ctx.url("/account")}?done=${accept ? "invitation-accepted" : "invitation-declined"}#organizations`,
            ),
          )
        : result.status === 401
          ? Effect.succeed(redirect(ctx.url("/sign-in")))
          : invitationPage(ctx, token, errorText(ctx.t, result), result.status),
  )
}

// --- the rest --------------------------------------------------------------------------------------------------------

const home = (ctx: PageContext) =>
  Effect.map(ctx.signedIn, (signedIn) => redirect(ctx.url(signedIn ? "/account" : "/sign-in")))

const signInGet = (ctx: PageContext) =>
  Effect.flatMap(ctx.signedIn, (signedIn) =>
    signedIn ? Effect.succeed(redirect(safeRedirect(ctx, nextOf(ctx)))) : signInPage(ctx),
  )

const signOut = (ctx: PageContext) => Effect.as(ctx.api("POST", "/signout"), redirect(ctx.url("/sign-in")))

export const authPages = {
  "GET /": home,
  "GET /sign-in": signInGet,
  "POST /sign-in": signIn,
  "POST /sign-in/magic-link": sendMagicLink,
  "GET /sign-in/social": socialStart,
  "GET /sign-up": (ctx: PageContext) =>
    Effect.flatMap(ctx.clientConfig, (client) =>
      client.signup_enabled && client.password.enabled
        ? signUpPage(ctx)
        : Effect.succeed(redirect(withNext(ctx, "/sign-in", nextOf(ctx)))),
    ),
  "POST /sign-up": signUp,
  "GET /verify-email": verifyEmailGet,
  "POST /verify-email": verifyEmail,
  "POST /verify-email/resend": resendVerification,
  "GET /forgot-password": (ctx: PageContext) => forgotPage(ctx),
  "POST /forgot-password": forgot,
  "GET /reset-password": (ctx: PageContext) => resetPage(ctx, ctx.query.get("token") ?? ""),
  "POST /reset-password": reset,
  "POST /mfa": mfaChallenge,
  "GET /magic-link": (ctx: PageContext) => magicLinkPage(ctx, ctx.query.get("token") ?? ""),
  "POST /magic-link": magicLink,
  "GET /accept-invitation": invitationGet,
  "POST /accept-invitation": invitationAnswer,
  "POST /sign-out": signOut,
}
