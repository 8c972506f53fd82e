/**
 * Sign-in with a provider, usable without HTTP: `begin` stores the sign-in's state server-side (single use,
 * 10 minutes, with the PKCE verifier sealed and the nonce) and returns the provider's authorization URL; `finish`
 * consumes that state, lets the provider prove the identity, finds or creates the user and signs them in through
 * `SignIn.complete`. Plus the user's linked accounts, and unlinking one (never the last way to sign in).
 */
import { Clock, Duration, Effect, Option, type Redacted } from "effect"
import * as oauth from "oauth4webapi"
import { Conflict, EmailTaken, Forbidden, NotFound } from "../../domain/errors.js"
import { newId } from "../../domain/ids.js"
import type * as M from "../../domain/models.js"
import { constantTimeEqual, randomToken, sha256Hex } from "../../plugin/index.js"
import { Events } from "../../services/events.js"
import { AuthConfig } from "../../services/config.js"
import type { ClientContext } from "../../services/context.js"
import { PluginRegistry } from "../../services/plugin-registry.js"
import { SecretBox } from "../../services/secrets.js"
import { SignIn } from "../../services/sign-in.js"
import { AppStore, EnvironmentStore, Store, UserStore } from "../../services/store/index.js"
import { Authorization } from "../../services/authorization.js"
import { OAuthFailed, type OAuthFailureReason, UnknownProvider } from "./errors.js"
import { SocialSettings } from "./options.js"
import {
  gitHubProvider,
  googleProvider,
  oidcProvider,
  type Provider,
  type ProviderIdentity,
  type ProviderTokens,
} from "./providers.js"
import { type OAuthState, OAuthConnectionId, OAuthConnectionStore, OAuthStateStore } from "./store.js"

/** The plugin's name, as registered (the sign-in-method hooks of other plugins are asked besides it). */
export const socialPluginName = "social"

/** How long a sign-in may take between `begin` and the callback. */
const stateTtl = Duration.minutes(10)

/** `SecretBox` purposes. */
const sealedVerifier = "oauth-pkce-verifier"
const sealedToken = "oauth-provider-token"

/**
 * How the callback proves it comes from the browser that began the sign-in (RFC 6749 §10.12): the browser flow
 * passes the state cookie set by `begin`; an app finishing the flow itself (a JSON POST, which no other site can
 * send cross-origin) passes `"app"`.
 */
export type CallbackBinding = { readonly stateCookie: string | undefined } | "app"

export class SocialAuth extends Effect.Service<SocialAuth>()("authsome/SocialAuth", {
  effect: Effect.gen(function* () {
    const config = yield* AuthConfig
    const settings = yield* SocialSettings
    const store = yield* Store
    const users = yield* UserStore
    const apps = yield* AppStore
    const environments = yield* EnvironmentStore
    const connections = yield* OAuthConnectionStore
    const states = yield* OAuthStateStore
    const box = yield* SecretBox
    const signIn = yield* SignIn
    const events = yield* Events
    const registry = yield* PluginRegistry
    const authorization = yield* Authorization
    const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

    const publicUrl = config.publicUrl ?? "http://localhost:8080"
    const callbackUrl = (id: string) => `${publicUrl}${config.basePath}/social/${id}/callback`
    const clientOf = (
      id: string,
      options: {
        readonly clientId: string
        readonly clientSecret: Redacted.Redacted<string>
        readonly redirectUrl?: string | undefined
      },
    ) => ({
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      redirectUrl: options.redirectUrl ?? callbackUrl(id),
    })

    const providers = new Map<string, Provider>()
    const { github, google, ...issuers } = settings.providers
    if (github !== undefined) providers.set("github", gitHubProvider(github, clientOf("github", github)))
    if (google !== undefined) providers.set("google", googleProvider(google, clientOf("google", google)))
    for (const [id, options] of Object.entries(issuers))
      providers.set(id, oidcProvider(id, options, clientOf(id, options)))

    const providerOf = (id: string) =>
      Effect.suspend(() => {
        const provider = providers.get(id)
        return provider === undefined ? Effect.fail(new UnknownProvider({ provider: id })) : Effect.succeed(provider)
      })

    // --- redirect targets: a path on this site, or a trusted origin; anything else gets the default ------------

    const trustedOrigins = new Set([
      ...config.trustedOrigins,
      ...(config.publicUrl === undefined ? [] : [new URL(config.publicUrl).origin]),
    ])
    /**
     * A path on this site. Browsers read `//host` and `/\host` as other hosts, and drop tabs and newlines from URLs,
     * so neither a second slash nor any backslash, control character or space passes.
     */
    const isLocalPath = (url: string) => {
      if (!url.startsWith("/") || url.startsWith("//")) return false
      for (let i = 0; i < url.length; i++) {
        const code = url.charCodeAt(i)
        if (code <= 0x20 || code === 0x7f || code === 0x5c) return false
      }
      return true
    }
    const redirectTarget = (requested: string | undefined): string => {
      if (requested === undefined) return settings.defaultRedirectUrl
      if (isLocalPath(requested)) return requested
      try {
        const url = new URL(requested)
        if (
          (url.protocol === "https:" || url.protocol === "http:") &&
          url.username === "" &&
          url.password === "" &&
          trustedOrigins.has(url.origin)
        ) {
          return url.href
        }
      } catch {}
      return settings.defaultRedirectUrl
    }

    /**
     * Starts a sign-in with `providerId` for the app of `client`: returns the provider's authorization URL and the
     * state (for the browser's state cookie). `redirectUrl` is where the browser goes afterwards, if acceptable.
     */
    const begin = (providerId: string, redirectUrl: string | undefined, client: ClientContext) =>
      Effect.gen(function* () {
        const provider = yield* providerOf(providerId)
        const state = randomToken()
        const nonce = randomToken()
        const codeVerifier = oauth.generateRandomCodeVerifier()
        const codeChallenge = yield* Effect.promise(() => oauth.calculatePKCECodeChallenge(codeVerifier))
        const authUrl = yield* provider.authorizationUrl({ state, codeChallenge, nonce })
        const at = yield* now
        yield* states.deleteExpired(at)
        yield* states.create({
          stateHash: sha256Hex(state),
          appId: client.app.id,
          envId: client.env.id,
          provider: provider.id,
          codeVerifier: box.seal(sealedVerifier, codeVerifier),
          nonce,
          redirectUrl: redirectTarget(redirectUrl),
          expiresAt: new Date(at.getTime() + Duration.toMillis(stateTtl)),
          createdAt: at,
        })
        return { authUrl: authUrl.href, state }
      })

    const sealTokens = (tokens: ProviderTokens, at: Date) => ({
      accessToken: box.seal(sealedToken, tokens.accessToken),
      refreshToken: tokens.refreshToken === null ? null : box.seal(sealedToken, tokens.refreshToken),
      expiresAt: tokens.expiresIn === null ? null : new Date(at.getTime() + tokens.expiresIn * 1000),
      scope: tokens.scope,
    })

    /**
     * The user this identity signs in, in one transaction: the linked one; else the user with that email, linked
     * now only if the provider verified the email and the user had verified it too (anything else could hand the
     * account to whoever registered the address first); else a new user. A taken email that may not be linked is
     * `EmailTaken`: a second account with the same address cannot exist.
     */
    const resolveUser = (
      provider: Provider,
      identity: ProviderIdentity,
      tokens: ProviderTokens,
      client: ClientContext,
    ) =>
      store
        .transaction(
          Effect.gen(function* () {
            const at = yield* now
            const sealed = sealTokens(tokens, at)
            const linked = yield* connections.findByProviderUser(client.app.id, provider.id, identity.providerUserId)
            if (Option.isSome(linked)) {
              const user = yield* Effect.option(users.get(linked.value.userId))
              if (Option.isSome(user)) {
                if (user.value.envId !== client.env.id) {
                  return yield* new Conflict({ message: "this account is linked to a user of another environment" })
                }
                yield* connections.updateTokens(linked.value.id, sealed, at).pipe(Effect.orDie)
                return { user: user.value, isNewUser: false }
              }
              // Its user was deleted (soft delete keeps the row): the link goes too, and the identity starts afresh.
              yield* connections.delete(linked.value.userId, provider.id).pipe(Effect.orDie)
            }
            if (identity.email === null) return yield* new OAuthFailed({ reason: "no_email" })
            const link = (user: M.User) =>
              connections.create({
                id: OAuthConnectionId.make(),
                appId: client.app.id,
                userId: user.id,
                provider: provider.id,
                providerUserId: identity.providerUserId,
                email: identity.email,
                ...sealed,
                createdAt: at,
                updatedAt: at,
              })
            const existing = yield* Effect.option(users.getByEmail(client.app.id, client.env.id, identity.email))
            if (Option.isSome(existing)) {
              if (!identity.emailVerified || !existing.value.emailVerified) return yield* new EmailTaken()
              yield* link(existing.value)
              yield* events.emit(client, {
                type: "user.account_linked",
                userId: existing.value.id,
                metadata: { provider: provider.id },
              })
              return { user: existing.value, isNewUser: false }
            }
            if (!config.signupEnabled) return yield* new Forbidden({ message: "sign-up is disabled" })
            const user = yield* users.create({
              id: newId.user(),
              appId: client.app.id,
              envId: client.env.id,
              email: identity.email,
              emailVerified: identity.emailVerified,
              firstName: identity.firstName,
              lastName: identity.lastName,
              image: identity.image,
              username: null,
              phone: null,
              banned: false,
              banReason: null,
              banExpires: null,
              metadata: null,
              createdAt: at,
              updatedAt: at,
              deletedAt: null,
            })
            yield* authorization.assignInitialRoles(user, client)
            yield* link(user)
            yield* events.userCreated(client, user, "social")
            yield* events.emit(client, {
              type: "auth.signup",
              userId: user.id,
              metadata: { method: "social", provider: provider.id },
            })
            return { user, isNewUser: true }
          }),
        )
        .pipe(Effect.catchTag("UsernameTaken", Effect.die))

    /** The request of a sign-in that began for another app or environment belongs to that one. */
    const tenantOf = (state: OAuthState, client: ClientContext) =>
      Effect.all({ app: apps.get(state.appId), env: environments.get(state.envId) }).pipe(
        Effect.map((tenant): ClientContext => ({ ...client, ...tenant })),
        Effect.catchTag("NotFound", () => Effect.fail(new OAuthFailed({ reason: "invalid_state" }))),
      )

    const recordFailure = (client: ClientContext, providerId: string, reason: OAuthFailureReason) =>
      events.emit(client, {
        type: "auth.signin.failed",
        outcome: "failure",
        reason: `oauth_${reason}`,
        metadata: { method: "social", provider: providerId },
      })

    /**
     * Finishes a sign-in from the provider's callback parameters (`code`, `state`, `iss`, or `error`). The state is
     * consumed first, so it is spent whatever happens next. Returns the user, the issued tokens, whether the user
     * is new, and where the browser goes now.
     */
    const finish = (providerId: string, callback: URLSearchParams, binding: CallbackBinding, request: ClientContext) =>
      Effect.gen(function* () {
        const provider = yield* providerOf(providerId)
        const state = callback.get("state") ?? ""
        const invalidState = new OAuthFailed({ reason: "invalid_state" })
        if (state === "") return yield* invalidState
        if (
          binding !== "app" &&
          (binding.stateCookie === undefined || !constantTimeEqual(binding.stateCookie, state))
        ) {
          return yield* invalidState
        }
        const stored = yield* states.consume(sha256Hex(state), yield* now)
        if (Option.isNone(stored) || stored.value.provider !== provider.id) return yield* invalidState
        const client = yield* tenantOf(stored.value, request)
        const { identity, tokens } = yield* provider.finish(callback, {
          state,
          codeVerifier: box.open(sealedVerifier, stored.value.codeVerifier),
          nonce: stored.value.nonce,
        })
        const { user, isNewUser } = yield* resolveUser(provider, identity, tokens, client)
        // After the commit: a sign-in gate (a second factor) must not undo the link or the new account.
        const issued = yield* signIn.complete(user, client, "social")
        return { user, tokens: issued, isNewUser, redirectUrl: stored.value.redirectUrl }
      }).pipe(
        Effect.tapError((error) =>
          error instanceof OAuthFailed ? recordFailure(request, providerId, error.reason) : Effect.void,
        ),
      )

    /** The user's linked provider accounts, oldest first. */
    const accounts = (user: M.User) => connections.listByUser(user.id)

    /**
     * Removes the link to `provider`. Refused (`Conflict`) when it is the user's last way to sign in: no other
     * linked account, and no other plugin's credential (a password, a passkey).
     */
    const unlink = (user: M.User, provider: string, client: ClientContext) =>
      store.transaction(
        Effect.gen(function* () {
          const linked = yield* connections.listByUser(user.id)
          if (!linked.some((connection) => connection.provider === provider)) {
            return yield* new NotFound({ entity: "oauth_connection" })
          }
          const another =
            linked.some((connection) => connection.provider !== provider) ||
            (yield* registry.hasSignInMethodBesides(user, socialPluginName))
          if (!another) {
            return yield* new Conflict({ message: "the account's last sign-in method cannot be removed" })
          }
          yield* connections.delete(user.id, provider)
          yield* events.emit(client, { type: "user.account_unlinked", userId: user.id, metadata: { provider } })
        }),
      )

    /** Configured providers, for sign-in UIs. */
    const listProviders = [...providers.values()].map((provider) => ({ id: provider.id, name: provider.name }))

    return { begin, finish, accounts, unlink, listProviders } as const
  }),
}) {}
