/**
 * `authsome/password`: sign-up and sign-in with email (or username) and password, forgotten and changed passwords.
 * `Password.plugin({ policy, hash, hashConcurrency, hashQueue, resetTokenTtl })`.
 */
import { Effect, Layer, Option, Schema } from "effect"
import { type InvalidConfig, toInvalidConfig } from "../../config.js"
import { definePlugin } from "../../plugin/index.js"
import { PasswordHasher } from "./hasher.js"
import { passwordMigrations } from "./migrations.js"
import { PasswordOptions, type PasswordOptionsInput, PasswordSettings } from "./options.js"
import { passwordRoutes } from "./routes.js"
import { PasswordAuth } from "./service.js"
import { PasswordHashStore } from "./store.js"
import { PasswordHashStoreLive } from "./stores.js"

export { defaultHashParams, type HashParams, PasswordHasher } from "./hasher.js"
export { passwordMigrations } from "./migrations.js"
export {
  PasswordOptions,
  type PasswordOptionsInput,
  PasswordSettings,
  type ResolvedPasswordOptions,
} from "./options.js"
export { checkPassword, defaultPasswordPolicy, type PasswordPolicy } from "./policy.js"
export { passwordRateLimits } from "./routes.js"
export { PasswordAuth, type SignInInput, signInIdentifier, type SignUpInput } from "./service.js"
export { type PasswordHash, PasswordHashStore, type PasswordHashStoreShape } from "./store.js"
export { PasswordHashStoreLive } from "./stores.js"

const settingsLayer = (options: PasswordOptionsInput) =>
  Layer.effect(
    PasswordSettings,
    Schema.decodeUnknown(PasswordOptions, { onExcessProperty: "error" })(options).pipe(
      Effect.mapError((error) => toInvalidConfig(error, ["password"])),
    ),
  )

const hasherLayer = Layer.unwrapEffect(
  Effect.map(PasswordSettings, (settings) =>
    PasswordHasher.layer(settings.hash, {
      ...(settings.hashConcurrency === undefined ? {} : { maxConcurrency: settings.hashConcurrency }),
      ...(settings.hashQueue === undefined ? {} : { maxQueued: settings.hashQueue }),
    }),
  ),
)

/** The password plugin. Its services (`PasswordAuth`, `PasswordHasher`, the hash store) join the engine's output. */
export const plugin = (options: PasswordOptionsInput = {}) =>
  definePlugin<PasswordAuth | PasswordHasher | PasswordHashStore | PasswordSettings, InvalidConfig>({
    name: "password",
    migrations: passwordMigrations,
    layer: PasswordAuth.Default.pipe(
      Layer.provideMerge(Layer.mergeAll(hasherLayer, PasswordHashStoreLive)),
      Layer.provideMerge(settingsLayer(options)),
    ),
    routes: passwordRoutes,
    hooks: Effect.map(Effect.all([PasswordAuth, PasswordHashStore]), ([passwords, hashes]) => ({
      clientConfig: { password: { enabled: true } },
      completeSignUp: passwords.completeSignUp,
      preparePassword: passwords.preparePassword,
      userHasSignInMethod: (user) => Effect.map(hashes.get(user.id), Option.isSome),
      revokeUnprovenCredentials: (user) => hashes.delete(user.id),
    })),
  })
