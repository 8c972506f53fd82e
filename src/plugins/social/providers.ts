/**
 * The providers: each builds its authorization URL and turns a callback into a verified identity. The OAuth 2.0
 * protocol work (authorization response, PKCE code exchange, ID-token claims, userinfo subject) is `oauth4webapi`'s;
 * ID-token signatures are verified by `jose` against the issuer's JWKS (oauth4webapi leaves that to the caller for
 * responses of the token endpoint).
 */
import { Effect, Option, Redacted, Schema } from "effect"
import * as jose from "jose"
import * as oauth from "oauth4webapi"
import { constantTimeEqual, EmailField } from "../../plugin/index.js"
import { OAuthFailed, type OAuthFailureReason, ProviderUnavailable } from "./errors.js"
import type { GitHubOptions, GoogleOptions, OidcOptions } from "./options.js"

/** Who the provider says signed in. */
export interface ProviderIdentity {
  readonly providerUserId: string
  /** Trimmed and lower-cased; `null` when the provider shared none (or none that is a valid address). */
  readonly email: string | null
  /** Whether the provider vouches that the user controls `email`. */
  readonly emailVerified: boolean
  readonly firstName: string | null
  readonly lastName: string | null
  readonly image: string | null
}

/** The provider's tokens for the user (kept sealed with the connection). */
export interface ProviderTokens {
  readonly accessToken: string
  readonly refreshToken: string | null
  readonly expiresIn: number | null
  readonly scope: string | null
}

/** What the callback must match: the values stored with the state when the sign-in began. */
export interface ExpectedCallback {
  readonly state: string
  readonly codeVerifier: string
  readonly nonce: string
}

export interface Provider {
  /** `github`, `google` or `oidc:<name>`. */
  readonly id: string
  /** Shown to users (`GET /client-config`). */
  readonly name: string
  readonly redirectUrl: string
  /** The provider's authorization URL for this sign-in (PKCE S256, and the nonce for OpenID Connect). */
  readonly authorizationUrl: (input: {
    readonly state: string
    readonly codeChallenge: string
    readonly nonce: string
  }) => Effect.Effect<URL, ProviderUnavailable>
  /** Checks the callback's parameters, exchanges the code and returns the verified identity and tokens. */
  readonly finish: (
    callback: URLSearchParams,
    expected: ExpectedCallback,
  ) => Effect.Effect<
    { readonly identity: ProviderIdentity; readonly tokens: ProviderTokens },
    OAuthFailed | ProviderUnavailable
  >
}

/** Every request to a provider gives up after this long. */
const requestTimeoutMs = 10_000

/** Plain http, which the options accept only on loopback addresses (development and tests). */
const isPlainHttp = (url: string) => new URL(url).protocol === "http:"

/** A provider that cannot be reached (network, timeout, 5xx) is unavailable; any other failure proves nothing. */
const classify =
  (provider: string, reason: OAuthFailureReason) =>
  (cause: unknown): OAuthFailed | ProviderUnavailable => {
    const unreachable =
      (cause instanceof Error && (cause.name === "TimeoutError" || cause.name === "AbortError")) ||
      (cause instanceof TypeError && cause.message === "fetch failed") ||
      cause instanceof jose.errors.JWKSTimeout ||
      (cause instanceof oauth.OperationProcessingError &&
        cause.cause instanceof Response &&
        cause.cause.status >= 500) ||
      (cause instanceof ProviderHttpError && cause.status >= 500)
    return unreachable ? new ProviderUnavailable({ provider }) : new OAuthFailed({ reason })
  }

class ProviderHttpError extends Error {
  constructor(readonly status: number) {
    super(`provider answered ${status}`)
  }
}

const attempt = <A>(provider: string, reason: OAuthFailureReason, run: () => Promise<A>) =>
  Effect.tryPromise({ try: run, catch: classify(provider, reason) })

const decodeEmail = Schema.decodeUnknownOption(EmailField)

/** A provider's address as we store addresses, or `null` if it is none. */
const normalizedEmail = (value: unknown): string | null =>
  typeof value === "string" ? Option.getOrNull(decodeEmail(value)) : null

const text = (value: unknown, max = 255): string | null =>
  typeof value === "string" && value.trim() !== "" ? value.trim().slice(0, max) : null

const imageUrl = (value: unknown): string | null => {
  if (typeof value !== "string" || value.length > 2048) return null
  try {
    const { protocol } = new URL(value)
    return protocol === "https:" || protocol === "http:" ? value : null
  } catch {
    return null
  }
}

const tokensOf = (response: oauth.TokenEndpointResponse): ProviderTokens => ({
  accessToken: response.access_token,
  refreshToken: response.refresh_token ?? null,
  expiresIn: response.expires_in ?? null,
  scope: response.scope ?? null,
})

interface ClientSettings {
  readonly id: string
  readonly clientId: string
  readonly clientSecret: Redacted.Redacted<string>
  readonly redirectUrl: string
  readonly scopes: ReadonlyArray<string>
}

/** The authorization request every provider shares: code flow, PKCE S256, our state. */
const authorizationRequest = (
  endpoint: string,
  client: ClientSettings,
  input: { readonly state: string; readonly codeChallenge: string },
) => {
  const url = new URL(endpoint)
  url.searchParams.set("client_id", client.clientId)
  url.searchParams.set("redirect_uri", client.redirectUrl)
  url.searchParams.set("response_type", "code")
  url.searchParams.set("scope", client.scopes.join(" "))
  url.searchParams.set("state", input.state)
  url.searchParams.set("code_challenge", input.codeChallenge)
  url.searchParams.set("code_challenge_method", "S256")
  return url
}

/** Checks the authorization response (state, `iss`, error) and exchanges the code with the PKCE verifier. */
const exchangeCode = (
  client: ClientSettings,
  as: oauth.AuthorizationServer,
  clientAuth: oauth.ClientAuth,
  callback: URLSearchParams,
  expected: ExpectedCallback,
  insecure: boolean,
  expectedNonce: string | typeof oauth.expectNoNonce,
) =>
  Effect.gen(function* () {
    const oauthClient: oauth.Client = { client_id: client.clientId }
    const params = yield* Effect.try({
      try: () => oauth.validateAuthResponse(as, oauthClient, callback, expected.state),
      catch: () => new OAuthFailed({ reason: "provider_error" }),
    })
    const response = yield* attempt(client.id, "token_exchange", () =>
      oauth.authorizationCodeGrantRequest(
        as,
        oauthClient,
        clientAuth,
        params,
        client.redirectUrl,
        expected.codeVerifier,
        { signal: AbortSignal.timeout(requestTimeoutMs), [oauth.allowInsecureRequests]: insecure },
      ),
    )
    // The token endpoint's own refusal (invalid_grant: a wrong code or verifier) is the code's fault; anything else
    // wrong with an OpenID Connect answer is its ID token's (issuer, audience, expiry, nonce).
    return yield* Effect.tryPromise({
      try: () =>
        oauth.processAuthorizationCodeResponse(as, oauthClient, response, {
          expectedNonce,
          requireIdToken: expectedNonce !== oauth.expectNoNonce,
        }),
      catch: (cause) =>
        classify(
          client.id,
          cause instanceof oauth.ResponseBodyError || expectedNonce === oauth.expectNoNonce
            ? "token_exchange"
            : "id_token",
        )(cause),
    })
  })

// --- OpenID Connect (Google, and any issuer by discovery) ------------------------------------------------------------

/** Signature algorithms accepted for ID tokens when the issuer does not list its own. */
const defaultIdTokenAlgorithms = ["RS256"]

const openIdConnect = (
  client: ClientSettings,
  name: string,
  metadata: Effect.Effect<oauth.AuthorizationServer, ProviderUnavailable>,
  clientAuthFor: (as: oauth.AuthorizationServer) => oauth.ClientAuth,
  insecure: boolean,
): Provider => {
  const keySets = new Map<string, ReturnType<typeof jose.createRemoteJWKSet>>()
  const keySetOf = (jwksUri: string) => {
    let keys = keySets.get(jwksUri)
    if (keys === undefined) {
      keys = jose.createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: requestTimeoutMs })
      keySets.set(jwksUri, keys)
    }
    return keys
  }

  /** The ID token's signature (by a key of the issuer's JWKS) and its claims: `iss`, `aud`, `exp`, `nonce`. */
  const verifyIdToken = (as: oauth.AuthorizationServer, idToken: string, nonce: string) =>
    Effect.gen(function* () {
      if (as.jwks_uri === undefined) return yield* new OAuthFailed({ reason: "id_token" })
      const algorithms = (as.id_token_signing_alg_values_supported ?? defaultIdTokenAlgorithms).filter(
        (alg) => alg !== "none",
      )
      const { payload } = yield* attempt(client.id, "id_token", () =>
        jose.jwtVerify(idToken, keySetOf(as.jwks_uri!), {
          issuer: as.issuer,
          audience: client.clientId,
          algorithms,
          requiredClaims: ["sub", "exp", "iat"],
          clockTolerance: 30,
        }),
      )
      if (typeof payload.nonce !== "string" || !constantTimeEqual(payload.nonce, nonce)) {
        return yield* new OAuthFailed({ reason: "id_token" })
      }
      return payload
    })

  /** The userinfo claims, whose `sub` must be the ID token's. */
  const userInfo = (as: oauth.AuthorizationServer, accessToken: string, subject: string) =>
    Effect.gen(function* () {
      if (as.userinfo_endpoint === undefined) return {}
      const oauthClient: oauth.Client = { client_id: client.clientId }
      const response = yield* attempt(client.id, "userinfo", () =>
        oauth.userInfoRequest(as, oauthClient, accessToken, {
          signal: AbortSignal.timeout(requestTimeoutMs),
          [oauth.allowInsecureRequests]: insecure,
        }),
      )
      return yield* attempt(client.id, "userinfo", () =>
        oauth.processUserInfoResponse(as, oauthClient, subject, response),
      )
    })

  return {
    id: client.id,
    name,
    redirectUrl: client.redirectUrl,
    authorizationUrl: (input) =>
      Effect.map(metadata, (as) => {
        const url = authorizationRequest(as.authorization_endpoint!, client, input)
        url.searchParams.set("nonce", input.nonce)
        return url
      }),
    finish: (callback, expected) =>
      Effect.gen(function* () {
        const as = yield* metadata
        const response = yield* exchangeCode(
          client,
          as,
          clientAuthFor(as),
          callback,
          expected,
          insecure,
          expected.nonce,
        )
        const idToken = yield* verifyIdToken(as, response.id_token!, expected.nonce)
        const claims: Record<string, unknown> = {
          ...idToken,
          ...(yield* userInfo(as, response.access_token, idToken.sub!)),
        }
        const email = normalizedEmail(claims.email)
        return {
          identity: {
            providerUserId: idToken.sub!,
            email,
            emailVerified: email !== null && (claims.email_verified === true || claims.email_verified === "true"),
            firstName: text(claims.given_name) ?? text(claims.name),
            lastName: text(claims.given_name) === null ? null : text(claims.family_name),
            image: imageUrl(claims.picture),
          },
          tokens: tokensOf(response),
        }
      }),
  }
}

/** An issuer's metadata by discovery, fetched at first use and kept once it was read (failures are retried). */
const discovered = (id: string, issuer: string, insecure: boolean) => {
  let cached: oauth.AuthorizationServer | undefined
  const issuerUrl = new URL(issuer)
  const fetchMetadata = attempt(id, "provider_error", async () => {
    const response = await oauth.discoveryRequest(issuerUrl, {
      algorithm: "oidc",
      signal: AbortSignal.timeout(requestTimeoutMs),
      [oauth.allowInsecureRequests]: insecure,
    })
    return oauth.processDiscoveryResponse(issuerUrl, response)
  }).pipe(
    // Metadata that cannot be read is the issuer's fault, not the user's: unavailable either way.
    Effect.catchTag("OAuthFailed", () => Effect.fail(new ProviderUnavailable({ provider: id }))),
    Effect.tap((as) => {
      cached = as
    }),
  )
  return Effect.suspend(() => (cached === undefined ? fetchMetadata : Effect.succeed(cached)))
}

/** Client authentication at the token endpoint: HTTP Basic unless the issuer only takes the secret in the body. */
const secretAuthFor = (secret: Redacted.Redacted<string>) => (as: oauth.AuthorizationServer) => {
  const methods = as.token_endpoint_auth_methods_supported
  return methods !== undefined && !methods.includes("client_secret_basic") && methods.includes("client_secret_post")
    ? oauth.ClientSecretPost(Redacted.value(secret))
    : oauth.ClientSecretBasic(Redacted.value(secret))
}

export const oidcProvider = (
  id: string,
  options: typeof OidcOptions.Type,
  client: Omit<ClientSettings, "id" | "scopes">,
): Provider => {
  const insecure = isPlainHttp(options.issuer)
  return openIdConnect(
    { ...client, id, scopes: options.scopes ?? ["openid", "email", "profile"] },
    options.name ?? id.slice("oidc:".length),
    discovered(id, options.issuer, insecure),
    secretAuthFor(client.clientSecret),
    insecure,
  )
}

/** Google's published metadata (https://accounts.google.com/.well-known/openid-configuration), endpoints overridable. */
export const googleProvider = (
  options: typeof GoogleOptions.Type,
  client: Omit<ClientSettings, "id" | "scopes">,
): Provider => {
  const endpoints = [options.authorizationEndpoint, options.tokenEndpoint, options.userinfoEndpoint, options.jwksUri]
  const as: oauth.AuthorizationServer = {
    issuer: "https://accounts.google.com",
    authorization_endpoint: options.authorizationEndpoint,
    token_endpoint: options.tokenEndpoint,
    userinfo_endpoint: options.userinfoEndpoint,
    jwks_uri: options.jwksUri,
    id_token_signing_alg_values_supported: ["RS256"],
  }
  return openIdConnect(
    { ...client, id: "google", scopes: options.scopes ?? ["openid", "email", "profile"] },
    "Google",
    Effect.succeed(as),
    () => oauth.ClientSecretPost(Redacted.value(client.clientSecret)),
    endpoints.some(isPlainHttp),
  )
}

// --- GitHub (OAuth 2.0 and its REST API) -----------------------------------------------------------------------------

interface GitHubEmail {
  readonly email: string
  readonly primary: boolean
  readonly verified: boolean
}

const isGitHubEmail = (value: unknown): value is GitHubEmail =>
  typeof value === "object" &&
  value !== null &&
  typeof (value as GitHubEmail).email === "string" &&
  typeof (value as GitHubEmail).primary === "boolean" &&
  typeof (value as GitHubEmail).verified === "boolean"

/** The address to use: the primary one, else any verified one, else the profile's public one (unverified). */
const gitHubEmail = (emails: ReadonlyArray<GitHubEmail>, profileEmail: unknown) => {
  const chosen =
    emails.find((e) => e.primary && e.verified) ?? emails.find((e) => e.primary) ?? emails.find((e) => e.verified)
  if (chosen !== undefined) {
    const email = normalizedEmail(chosen.email)
    return { email, emailVerified: email !== null && chosen.verified }
  }
  return { email: normalizedEmail(profileEmail), emailVerified: false }
}

export const gitHubProvider = (
  options: typeof GitHubOptions.Type,
  client: Omit<ClientSettings, "id" | "scopes">,
): Provider => {
  const settings: ClientSettings = { ...client, id: "github", scopes: options.scopes ?? ["read:user", "user:email"] }
  const endpoints = [options.authorizationEndpoint, options.tokenEndpoint, options.userinfoEndpoint]
  const emailsEndpoint = options.emailsEndpoint ?? `${options.userinfoEndpoint.replace(/\/+$/, "")}/emails`
  const insecure = [...endpoints, emailsEndpoint].some(isPlainHttp)
  const as: oauth.AuthorizationServer = {
    issuer: "https://github.com",
    authorization_endpoint: options.authorizationEndpoint,
    token_endpoint: options.tokenEndpoint,
  }

  /** A GET of GitHub's REST API as the user; `undefined` for 403/404 (a scope not granted). */
  const api = (url: string, accessToken: string) =>
    attempt("github", "userinfo", async () => {
      const response = await fetch(url, {
        headers: {
          accept: "application/vnd.github+json",
          authorization: `Bearer ${accessToken}`,
          "user-agent": "authsome",
          "x-github-api-version": "2022-11-28",
        },
        signal: AbortSignal.timeout(requestTimeoutMs),
      })
      if (response.status === 403 || response.status === 404) return undefined
      if (!response.ok) throw new ProviderHttpError(response.status)
      return (await response.json()) as unknown
    })

  return {
    id: "github",
    name: "GitHub",
    redirectUrl: client.redirectUrl,
    authorizationUrl: (input) => Effect.succeed(authorizationRequest(options.authorizationEndpoint, settings, input)),
    finish: (callback, expected) =>
      Effect.gen(function* () {
        const response = yield* exchangeCode(
          settings,
          as,
          oauth.ClientSecretPost(Redacted.value(client.clientSecret)),
          callback,
          expected,
          insecure,
          oauth.expectNoNonce,
        )
        const profile = (yield* api(options.userinfoEndpoint, response.access_token)) as
          | Record<string, unknown>
          | undefined
        if (profile === undefined || typeof profile.id !== "number" || !Number.isSafeInteger(profile.id)) {
          return yield* new OAuthFailed({ reason: "userinfo" })
        }
        const emails = yield* api(emailsEndpoint, response.access_token)
        return {
          identity: {
            providerUserId: String(profile.id),
            ...gitHubEmail(Array.isArray(emails) ? emails.filter(isGitHubEmail) : [], profile.email),
            firstName: text(profile.name) ?? text(profile.login),
            lastName: null,
            image: imageUrl(profile.avatar_url),
          },
          tokens: tokensOf(response),
        }
      }),
  }
}
