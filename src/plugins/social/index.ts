/**
 * `authsome/social`: sign-in with GitHub, Google and any OpenID Connect issuer (authorization code with PKCE S256,
 * server-side single-use state, nonce and ID-token verification against the issuer's JWKS), linked accounts.
 * `Social.plugin({ providers: { github: { clientId, clientSecret }, "oidc:acme": { issuer, ... } } })`.
 */
import { Effect, Layer, Schema } from "effect"
import { type InvalidConfig, toInvalidConfig } from "../../config.js"
import { definePlugin } from "../../plugin/index.js"
import { socialErrors } from "./errors.js"
import { socialMigrations } from "./migrations.js"
import { SocialOptions, type SocialOptionsInput, SocialSettings } from "./options.js"
import { socialRoutes } from "./routes.js"
import { SocialAuth, socialPluginName } from "./service.js"
import { OAuthConnectionStore, type OAuthStateStore } from "./store.js"
import { SocialStoresLive } from "./stores.js"

export { OAuthFailed, type OAuthFailureReason, ProviderUnavailable, socialErrors, UnknownProvider } from "./errors.js"
export { socialMigrations } from "./migrations.js"
export {
  GitHubOptions,
  GoogleOptions,
  OidcOptions,
  type ResolvedSocialOptions,
  SocialOptions,
  type SocialOptionsInput,
  SocialSettings,
} from "./options.js"
export type { ProviderIdentity } from "./providers.js"
export { socialRateLimits } from "./routes.js"
export { type CallbackBinding, SocialAuth } from "./service.js"
export {
  OAuthConnection,
  OAuthConnectionId,
  OAuthConnectionStore,
  type OAuthConnectionStoreShape,
  OAuthState,
  OAuthStateStore,
  type OAuthStateStoreShape,
  type OAuthTokens,
} from "./store.js"
export { OAuthConnectionStoreLive, OAuthStateStoreLive, SocialStoresLive } from "./stores.js"

const settingsLayer = (options: SocialOptionsInput) =>
  Layer.effect(
    SocialSettings,
    Schema.decodeUnknown(SocialOptions, { onExcessProperty: "error" })(options).pipe(
      Effect.mapError((error) => toInvalidConfig(error, ["social"])),
    ),
  )

/** The social plugin. Its services (`SocialAuth`, the connection and state stores) join the engine's output. */
export const plugin = (options: SocialOptionsInput = {}) =>
  definePlugin<SocialAuth | OAuthConnectionStore | OAuthStateStore | SocialSettings, InvalidConfig>({
    name: socialPluginName,
    migrations: socialMigrations,
    layer: SocialAuth.Default.pipe(Layer.provideMerge(SocialStoresLive), Layer.provideMerge(settingsLayer(options))),
    routes: socialRoutes,
    errors: socialErrors,
    hooks: Effect.gen(function* () {
      const social = yield* SocialAuth
      const connections = yield* OAuthConnectionStore
      return {
        clientConfig: {
          social: { enabled: social.listProviders.length > 0, providers: social.listProviders },
        },
        userHasSignInMethod: (user) => Effect.map(connections.listByUser(user.id), (linked) => linked.length > 0),
        exportUserData: (user) =>
          Effect.map(connections.listByUser(user.id), (linked) => ({
            linked_accounts: linked.map((connection) => ({
              provider: connection.provider,
              provider_user_id: connection.providerUserId,
              email: connection.email,
              created_at: connection.createdAt.toISOString(),
            })),
          })),
      }
    }),
  })
