/**
 * What every page handler works with: the request, its form, its CSP nonce and CSRF token, the texts, and `api` —
 * the JSON API itself, called in-process with the browser's cookies. The pages hold no rule of their own: sign-in,
 * rate limits, lockout, MFA gates and permissions are the API's, so a page can never do what the API would refuse.
 */
import { Effect } from "effect"
import type { ResolvedConfig } from "../config.js"
import type { ApiRequest, ApiResponse, Cookie } from "../http/message.js"
import { type Fragment, type Html, html } from "./html.js"
import { type Texts, fill } from "./text/en.js"

/** The JSON API's answer to an in-process call. */
export interface ApiResult<A = any> {
  readonly ok: boolean
  readonly status: number
  readonly body: A
  /** The error envelope's `type` (on failures). */
  readonly type: string | undefined
}

export interface Brand {
  readonly name: string
  readonly logoUrl: string | null
  readonly primaryColor: string | null
}

export interface SignedIn {
  readonly user: {
    readonly id: string
    readonly email: string
    readonly first_name: string | null
    readonly last_name: string | null
    readonly username: string | null
    readonly image: string | null
    readonly email_verified: boolean
  }
  readonly session: { readonly id: string; readonly org_id: string | null; readonly impersonated_by: string | null }
}

export interface ClientConfig {
  readonly signup_enabled: boolean
  readonly password: { readonly enabled: boolean }
  readonly social: { readonly enabled: boolean; readonly providers: ReadonlyArray<{ id: string; name: string }> }
  readonly mfa: { readonly enabled: boolean }
  readonly passkey: { readonly enabled: boolean }
  readonly magic_link: { readonly enabled: boolean }
  readonly supported_plugins: ReadonlyArray<string>
}

export interface PageContext {
  readonly config: ResolvedConfig
  readonly request: ApiRequest
  readonly query: URLSearchParams
  /** The submitted form (POST), else empty. */
  readonly form: URLSearchParams
  readonly nonce: string
  readonly csrf: string
  /** The browser talks HTTPS to us (directly or through a trusted proxy): cookie names and flags. */
  readonly secure: boolean
  readonly t: Texts
  readonly brand: Brand
  /** The API's base path (for the script's passkey calls). */
  readonly apiPath: string
  /** A page's URL: the pages' base path (that of `publicUrl`) + `path`. */
  readonly url: (path: string) => string
  readonly api: <A = any>(method: string, path: string, body?: unknown) => Effect.Effect<ApiResult<A>>
  /** The signed-in user and session, from the session cookie (the API's `GET /session`), once per request. */
  readonly signedIn: Effect.Effect<SignedIn | undefined>
  readonly clientConfig: Effect.Effect<ClientConfig>
  /** Cookies the response must carry (the API's session cookies after a sign-in, ...). */
  readonly cookies: Array<Cookie>
}

export const htmlResponse = (status: number, body: Html, headers: Record<string, string> = {}): ApiResponse => ({
  status,
  headers: { "content-type": "text/html; charset=utf-8", ...headers },
  cookies: [],
  body: body.value,
})

export const redirect = (location: string): ApiResponse => ({
  status: 303,
  headers: { location },
  cookies: [],
  body: undefined,
})

/** The text for an API failure: the catalogue's for its type, with the API's message as detail. */
export const errorText = (t: Texts, result: ApiResult) => {
  const template = (result.type && t.errors[result.type]) || t.genericError
  const detail =
    result.body?.details?.map((d: { path: string; message: string }) => `${d.path} ${d.message}`).join("; ") ??
    result.body?.error ??
    ""
  return fill(template, { detail })
}

/** The hidden CSRF field every form carries. */
export const csrfField = (ctx: PageContext) => html`<input type="hidden" name="_csrf" value="${ctx.csrf}">`

export interface FieldSpec {
  readonly name: string
  /** Default `f-<name>`; set when a page has two fields of one name (two forms). */
  readonly id?: string
  readonly label: string
  readonly type?: string
  readonly value?: string | null | undefined
  readonly autocomplete?: string
  readonly required?: boolean
  readonly hint?: string
  readonly inputmode?: string
  readonly autofocus?: boolean
  readonly invalid?: boolean
}

export const field = (f: FieldSpec) => {
  const id = f.id ?? `f-${f.name}`
  const hintId = f.hint ? `${id}-hint` : undefined
  return html`<label for="${id}">${f.label}</label>
<input id="${id}" name="${f.name}" type="${f.type ?? "text"}"${f.value ? html` value="${f.value}"` : ""}${
    f.autocomplete ? html` autocomplete="${f.autocomplete}"` : ""
  }${f.required ? html` required` : ""}${f.inputmode ? html` inputmode="${f.inputmode}"` : ""}${
    f.autofocus ? html` autofocus` : ""
  }${f.invalid ? html` aria-invalid="true" aria-describedby="form-error${hintId ? ` ${hintId}` : ""}"` : hintId ? html` aria-describedby="${hintId}"` : ""}>
${f.hint ? html`<p class="hint" id="${hintId}">${f.hint}</p>` : ""}`
}

/** A POST form to a page, with its CSRF field. */
export const form = (
  ctx: PageContext,
  action: string,
  content: Fragment,
  options: { readonly className?: string; readonly label?: string } = {},
) =>
  html`<form method="post" action="${ctx.url(action)}"${options.className ? html` class="${options.className}"` : ""}${
    options.label ? html` aria-label="${options.label}"` : ""
  }>${csrfField(ctx)}${content}</form>`

/** A one-button form (revoke, leave, ...), with hidden fields. */
export const actionButton = (
  ctx: PageContext,
  action: string,
  label: string,
  fields: Record<string, string> = {},
  options: { readonly danger?: boolean; readonly describedBy?: string } = {},
) =>
  form(
    ctx,
    action,
    html`${Object.entries(fields).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`)}<button type="submit" class="small${options.danger ? " danger" : " secondary"}"${
      options.describedBy ? html` aria-describedby="${options.describedBy}"` : ""
    }>${label}</button>`,
    { className: "inline" },
  )

export const alert = (message: string | undefined) =>
  message ? html`<div class="alert" role="alert" id="form-error">${message}</div>` : ""

export const notice = (message: string | undefined) =>
  message ? html`<div class="notice" role="status" aria-live="polite">${message}</div>` : ""

export const fetchAll = <T extends Record<string, Effect.Effect<any>>>(effects: T) =>
  Effect.all(effects, { concurrency: "unbounded" })
