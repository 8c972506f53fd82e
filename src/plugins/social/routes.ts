/** The social plugin's routes (http-api.md §6): begin, the callback (browser and app forms), linked accounts. */
import { Effect, Schema } from "effect"
import {
  type Cookie,
  HttpKit,
  json,
  publicRoute,
  type RouteRequest,
  rateLimitPolicy,
  sessionRoute,
  StatusJson,
  TokensJson,
  withCookies,
} from "../../plugin/index.js"
import { AuthConfig } from "../../services/config.js"
import { SocialAuth } from "./service.js"
import type { OAuthConnection } from "./store.js"

/** The social routes' own limits (configurable by name under `rateLimit.rules`). */
export const socialRateLimits = {
  beginIp: rateLimitPolicy("socialBeginIp", 30, "1 minute"),
  callbackIp: rateLimitPolicy("socialCallbackIp", 30, "1 minute"),
} as const

/** The cookie binding a sign-in to the browser that began it; only the prefixed name over HTTPS. */
const stateCookieName = (secure: boolean) => (secure ? "__Secure-authsome_oauth_state" : "authsome_oauth_state")

const AccountJson = Schema.Struct({
  id: Schema.String,
  provider: Schema.String,
  provider_user_id: Schema.String,
  email: Schema.NullOr(Schema.String),
  created_at: Schema.String,
  updated_at: Schema.String,
}).annotations({ identifier: "LinkedAccount" })

const accountJson = (connection: OAuthConnection) => ({
  id: connection.id,
  provider: connection.provider,
  provider_user_id: connection.providerUserId,
  email: connection.email,
  created_at: connection.createdAt.toISOString(),
  updated_at: connection.updatedAt.toISOString(),
})

const providerParam = "The provider: `github`, `google` or `oidc:<name>`."

export const socialRoutes = Effect.gen(function* () {
  const social = yield* SocialAuth
  const kit = yield* HttpKit
  const config = yield* AuthConfig
  const cookiePath = `${config.basePath}/social`

  const stateCookie = (request: RouteRequest<unknown>, value: string, maxAge: number): Cookie => ({
    name: stateCookieName(request.secure),
    value,
    options: { path: cookiePath, secure: request.secure, httpOnly: true, sameSite: "lax", maxAge },
  })

  const begin = publicRoute({
    method: "POST",
    path: "/social/:provider",
    tag: "Social",
    summary: "Begin a sign-in with a provider: returns the URL to send the browser to",
    description:
      `${providerParam} The state (single use, 10 minutes), PKCE S256 verifier and OpenID Connect nonce stay on ` +
      "the server; a cookie binds the sign-in to this browser. `redirect_url` is where the browser goes once " +
      "signed in: a path on this site or a URL on a trusted origin, otherwise the configured default.",
    body: Schema.Struct({ redirect_url: Schema.optional(Schema.String.pipe(Schema.maxLength(2048))) }),
    responses: {
      200: { description: "the provider's authorization URL", schema: Schema.Struct({ auth_url: Schema.String }) },
    },
    handler: (request) =>
      Effect.gen(function* () {
        yield* kit.limitByIp(request, socialRateLimits.beginIp)
        const { authUrl, state } = yield* social.begin(
          request.params.provider!,
          request.body.redirect_url,
          request.client,
        )
        return withCookies(json(200, { auth_url: authUrl }), [stateCookie(request, state, 600)])
      }),
  })

  const browserCallback = publicRoute({
    method: "GET",
    path: "/social/:provider/callback",
    tag: "Social",
    summary: "Where the provider sends the browser back: signs in, sets the cookies and redirects",
    description:
      `${providerParam} Needs the state cookie of the browser that began the sign-in. The redirect goes to the ` +
      "URL accepted when the sign-in began.",
    responses: { 302: { description: "signed in: session cookies set, `Location` is the redirect URL" } },
    handler: (request) =>
      Effect.gen(function* () {
        yield* kit.limitByIp(request, socialRateLimits.callbackIp)
        const result = yield* social.finish(
          request.params.provider!,
          request.query,
          { stateCookie: request.raw.cookies[stateCookieName(request.secure)] },
          request.client,
        )
        const response = yield* kit.redirectSignedIn(request, result.tokens, result.redirectUrl)
        return withCookies(response, [stateCookie(request, "", 0)])
      }),
  })

  const appCallback = publicRoute({
    method: "POST",
    path: "/social/:provider/callback",
    tag: "Social",
    summary: "Finish a sign-in in an app that received the provider's redirect itself",
    description: `${providerParam} Takes the \`code\`, \`state\` (and \`iss\`, if any) of the provider's redirect.`,
    body: Schema.Struct({
      code: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(4096)),
      state: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(512)),
      iss: Schema.optional(Schema.String.pipe(Schema.maxLength(2048))),
    }),
    responses: {
      200: {
        description: "signed in",
        schema: Schema.extend(TokensJson, Schema.Struct({ is_new_user: Schema.Boolean })),
      },
    },
    handler: (request) =>
      Effect.gen(function* () {
        yield* kit.limitByIp(request, socialRateLimits.callbackIp)
        const { code, state, iss } = request.body
        const callback = new URLSearchParams({ code, state, ...(iss === undefined ? {} : { iss }) })
        const result = yield* social.finish(request.params.provider!, callback, "app", request.client)
        return yield* kit.signedIn(request, result.user, result.tokens, 200, { is_new_user: result.isNewUser })
      }),
  })

  const list = sessionRoute({
    method: "GET",
    path: "/me/accounts",
    tag: "Social",
    summary: "The provider accounts linked to the signed-in user",
    responses: {
      200: { description: "linked accounts", schema: Schema.Struct({ accounts: Schema.Array(AccountJson) }) },
    },
    handler: (request) =>
      Effect.map(social.accounts(request.auth.user), (accounts) => json(200, { accounts: accounts.map(accountJson) })),
  })

  const unlink = sessionRoute({
    method: "DELETE",
    path: "/me/accounts/:provider",
    credentials: "session",
    tag: "Social",
    summary: "Unlink a provider account (never the last way to sign in: 409)",
    responses: { 200: { description: "unlinked", schema: StatusJson } },
    handler: (request) =>
      Effect.as(
        social.unlink(request.auth.user, request.params.provider!, request.client),
        json(200, { status: "unlinked" }),
      ),
  })

  return [begin, browserCallback, appCallback, list, unlink]
})
