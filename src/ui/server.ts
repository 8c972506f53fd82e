/**
 * The hosted pages (sign-in, account, admin): server-rendered HTML under the path of `publicUrl`, the targets of the
 * mailed links. Every page is answered with a strict Content-Security-Policy (a nonce per response, only this
 * server's own files), the security headers of the API, and a CSRF token: each form carries the token of its
 * `authsome_csrf` cookie, and each POST must bring both, equal, from the server's own (or a trusted) origin.
 */
import { randomBytes, randomUUID } from "node:crypto"
import { Effect } from "effect"
import type { ResolvedConfig } from "../config.js"
import type { RequestLogEntry } from "../http/app.js"
import { clientAddress, makeProxyMatcher } from "../http/client-ip.js"
import type { ApiRequest, ApiResponse, Cookie } from "../http/message.js"
import { makeOriginPolicy } from "../http/origin.js"
import { constantTimeEqual } from "../services/crypto.js"
import { assetByFile } from "./assets.js"
import {
  type ApiResult,
  type Brand,
  type ClientConfig,
  htmlResponse,
  type PageContext,
  type SignedIn,
} from "./context.js"
import { html } from "./html.js"
import { layout } from "./layout.js"
import { accountPages } from "./pages/account.js"
import { adminPages } from "./pages/admin.js"
import { authPages } from "./pages/auth.js"
import { en } from "./text/en.js"

export type PageHandler = (ctx: PageContext) => Effect.Effect<ApiResponse>

/** `"GET /sign-in"` → handler. */
export type PageTable = Readonly<Record<string, PageHandler>>

export interface PagesDeps {
  readonly config: ResolvedConfig
  /** The JSON API (the pipeline, without its request log: the page's own line is written). */
  readonly api: (request: ApiRequest) => Effect.Effect<ApiResponse>
  /** The app's brand (name, logo, colour); `orgId` picks an organization's branding where it has one. */
  readonly brand: (orgId: string | null) => Effect.Effect<Brand>
  readonly requestLog?: ((entry: RequestLogEntry) => void) | undefined
}

const maxFormBytes = 16 * 1024

const securityHeaders = {
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "strict-origin-when-cross-origin",
}

/** Where the pages live: the path of `publicUrl` (mailed links are `{publicUrl}/verify-email?...`). */
export const pagesBasePath = (config: ResolvedConfig) =>
  config.publicUrl ? new URL(config.publicUrl).pathname.replace(/\/+$/, "") : ""

export const makePages = (deps: PagesDeps) => {
  const { config } = deps
  const base = pagesBasePath(config)
  const table: PageTable = { ...authPages, ...accountPages, ...adminPages }
  const isTrustedProxy = makeProxyMatcher(config.trustedProxies)
  const { ensureSameOrigin } = makeOriginPolicy(config)
  const ownOrigin = config.publicUrl ? new URL(config.publicUrl).origin : undefined
  const formTargets = ["'self'", ...config.trustedOrigins].join(" ")

  const policy = (nonce: string) =>
    `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'self' 'nonce-${nonce}'; img-src 'self' data: https:; ` +
    `connect-src 'self'; form-action ${formTargets}; base-uri 'none'; frame-ancestors 'none'`

  /** The page path of a request, or undefined when it is not one of ours. */
  const pagePath = (url: string) => {
    const path = url.split("?", 1)[0]!
    if (base !== "" && path !== base && !path.startsWith(`${base}/`)) return undefined
    const rest = path.slice(base.length) || "/"
    if (rest.startsWith("/ui-assets/")) return rest
    return table[`GET ${rest}`] || table[`POST ${rest}`] ? rest : undefined
  }

  const log = (entry: RequestLogEntry) =>
    deps.requestLog
      ? Effect.sync(() => deps.requestLog!(entry))
      : Effect.logInfo("request").pipe(Effect.annotateLogs({ ...entry }))

  const serveAsset = (file: string): ApiResponse => {
    const asset = assetByFile(file)
    return asset
      ? {
          status: 200,
          headers: { "content-type": asset.type, "cache-control": "public, max-age=31536000, immutable" },
          cookies: [],
          body: asset.body,
        }
      : { status: 404, headers: { "content-type": "text/plain; charset=utf-8" }, cookies: [], body: "not found" }
  }

  const readForm = (request: ApiRequest) =>
    request.method === "POST"
      ? request.text(maxFormBytes).pipe(
          Effect.map((text) => new URLSearchParams(text)),
          Effect.orElseSucceed(() => new URLSearchParams()),
        )
      : Effect.succeed(new URLSearchParams())

  const serve = (request: ApiRequest): Effect.Effect<ApiResponse> => {
    const started = performance.now()
    const path = pagePath(request.url) ?? "/"
    const method = request.method === "HEAD" ? "GET" : request.method
    const address = clientAddress(
      isTrustedProxy,
      request.remoteAddress,
      request.headers["x-forwarded-for"],
      request.headers["x-forwarded-proto"],
      request.directlySecure,
    )
    const csrfCookie = address.secure ? "__Host-authsome_csrf" : "authsome_csrf"
    const existingCsrf = request.cookies[csrfCookie]
    const csrf =
      existingCsrf && /^[A-Za-z0-9_-]{43}$/.test(existingCsrf) ? existingCsrf : randomBytes(32).toString("base64url")
    const nonce = randomBytes(18).toString("base64")
    let userId: string | null = null
    const given = request.headers["x-request-id"]
    const requestId = given !== undefined && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : randomUUID()
    const queryAt = request.url.indexOf("?")
    const query = new URLSearchParams(queryAt === -1 ? "" : request.url.slice(queryAt + 1))

    const answer = Effect.gen(function* () {
      if (path.startsWith("/ui-assets/")) return serveAsset(path.slice("/ui-assets/".length))
      const form = yield* readForm(request)
      const cookies: Array<Cookie> = []
      // The browser's cookies, updated by those the API sets during this request (a sign-in's session).
      const jar: Record<string, string> = { ...request.cookies }

      const api = <A>(apiMethod: string, apiPath: string, body?: unknown): Effect.Effect<ApiResult<A>> => {
        const text = body === undefined ? "" : JSON.stringify(body)
        const headers: Record<string, string | undefined> = {
          "user-agent": request.headers["user-agent"],
          "x-forwarded-for": request.headers["x-forwarded-for"],
          "x-forwarded-proto": request.headers["x-forwarded-proto"],
          "x-publishable-key": request.headers["x-publishable-key"],
          "content-type": "application/json",
          // The page checked its own form's origin and token; the API sees the request as coming from its origin.
          origin: ownOrigin ?? request.headers["origin"],
        }
        const inner: ApiRequest = {
          method: apiMethod,
          url: `${config.basePath}${apiPath}`,
          headers,
          cookies: jar,
          remoteAddress: request.remoteAddress,
          directlySecure: request.directlySecure,
          text: () => Effect.succeed(text),
        }
        return Effect.map(deps.api(inner), (response) => {
          for (const cookie of response.cookies) {
            cookies.push(cookie)
            if (cookie.options.path === "/") {
              if (cookie.options.maxAge === 0) delete jar[cookie.name]
              else jar[cookie.name] = cookie.value
            }
          }
          let parsed: any
          try {
            parsed = response.body ? JSON.parse(response.body) : undefined
          } catch {
            parsed = undefined
          }
          const ok = response.status >= 200 && response.status < 300
          return { ok, status: response.status, body: parsed as A, type: ok ? undefined : parsed?.type }
        })
      }

      const signedIn = yield* Effect.cached(
        Effect.map(api<SignedIn>("GET", "/session"), (result) => {
          if (!result.ok) return undefined
          userId = result.body.user.id
          return result.body
        }),
      )
      const clientConfig = yield* Effect.cached(
        Effect.map(api<ClientConfig>("GET", "/client-config"), (result) => result.body),
      )
      const ctx: PageContext = {
        config,
        request,
        query,
        form,
        nonce,
        csrf,
        secure: address.secure,
        t: en,
        // An organization's branding applies to its members' pages (the session's active organization).
        brand: yield* deps.brand((yield* signedIn)?.session.org_id ?? null),
        apiPath: config.basePath,
        url: (to) => `${base}${to}`,
        api,
        signedIn,
        clientConfig,
        cookies,
      }

      if (method === "POST") {
        const given = form.get("_csrf") ?? ""
        const fromOurOrigin = yield* Effect.isSuccess(ensureSameOrigin(request))
        if (!existingCsrf || !fromOurOrigin || !constantTimeEqual(given, existingCsrf)) {
          return htmlResponse(
            403,
            layout(ctx, {
              title: en.errorTitle,
              body: html`<div class="card"><h1>${en.errorTitle}</h1><div class="alert" role="alert">${en.formExpired}</div><a href="${ctx.url(path)}">${en.continue}</a></div>`,
            }),
          )
        }
      }
      const handler = table[`${method} ${path}`]
      if (handler === undefined) {
        return htmlResponse(
          404,
          layout(ctx, {
            title: en.notFoundTitle,
            body: html`<div class="card"><h1>${en.notFoundTitle}</h1><a href="${ctx.url("/")}">${en.continue}</a></div>`,
          }),
        )
      }
      const response = yield* handler(ctx)
      return { ...response, cookies: [...cookies, ...response.cookies] }
    })

    return Effect.flatMap(answer, (response) => {
      const isPage = !path.startsWith("/ui-assets/")
      const csrfCookies: Array<Cookie> =
        isPage && existingCsrf !== csrf
          ? [
              {
                name: csrfCookie,
                value: csrf,
                options: { path: "/", secure: address.secure, httpOnly: true, sameSite: "lax", maxAge: 60 * 60 * 24 },
              },
            ]
          : []
      const finished: ApiResponse = {
        ...response,
        body: request.method === "HEAD" ? undefined : response.body,
        headers: {
          ...securityHeaders,
          "x-request-id": requestId,
          ...(isPage ? { "cache-control": "no-store", "content-security-policy": policy(nonce) } : {}),
          ...response.headers,
        },
        cookies: [...response.cookies, ...csrfCookies],
      }
      return Effect.as(
        log({
          request_id: requestId,
          method: request.method,
          route: `${base}${path}`,
          status: finished.status,
          duration_ms: Math.round(performance.now() - started),
          ip: address.ip,
          user_id: userId,
        }),
        finished,
      )
    })
  }

  return { owns: (url: string) => pagePath(url) !== undefined, serve }
}

export type Pages = ReturnType<typeof makePages>
