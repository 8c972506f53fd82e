/**
 * `authsome/passkey`: passkeys (WebAuthn) for registration by signed-in users and for sign-in by email or
 * discoverable. `Passkey.plugin({ rpId, rpName, origins, challengeTtl, userVerification })`; the relying party
 * defaults to `publicUrl`.
 */
import { Effect, Layer, Schema } from "effect"
import { type InvalidConfig, toInvalidConfig } from "../../config.js"
import { definePlugin } from "../../plugin/index.js"
import { AuthConfig } from "../../services/config.js"
import { passkeyMigrations } from "./migrations.js"
import { PasskeyOptions, type PasskeyOptionsInput, PasskeySettings, resolvePasskeyOptions } from "./options.js"
import { passkeyJson, passkeyRoutes } from "./routes.js"
import { PasskeyAuth } from "./service.js"
import type { PasskeyStore } from "./store.js"
import { PasskeyStoreLive } from "./stores.js"

export { passkeyMigrations } from "./migrations.js"
export { PasskeyOptions, type PasskeyOptionsInput, PasskeySettings, type ResolvedPasskeyOptions } from "./options.js"
export { passkeyRateLimits } from "./routes.js"
export { PasskeyAuth } from "./service.js"
export {
  Passkey,
  PasskeyChallenge,
  PasskeyChallengeId,
  PasskeyId,
  PasskeyStore,
  type PasskeyStoreShape,
} from "./store.js"
export { PasskeyStoreLive } from "./stores.js"

const settingsLayer = (options: PasskeyOptionsInput) =>
  Layer.effect(
    PasskeySettings,
    Effect.gen(function* () {
      const decoded = yield* Schema.decodeUnknown(PasskeyOptions, { onExcessProperty: "error" })(options).pipe(
        Effect.mapError((error) => toInvalidConfig(error, ["passkey"])),
      )
      return yield* resolvePasskeyOptions(decoded, yield* AuthConfig)
    }),
  )

/** The passkey plugin. Its services (`PasskeyAuth`, the passkey store) join the engine's output. */
export const plugin = (options: PasskeyOptionsInput = {}) =>
  definePlugin<PasskeyAuth | PasskeyStore | PasskeySettings, InvalidConfig>({
    name: "passkey",
    migrations: passkeyMigrations,
    layer: PasskeyAuth.Default.pipe(Layer.provideMerge(PasskeyStoreLive), Layer.provideMerge(settingsLayer(options))),
    routes: passkeyRoutes,
    hooks: Effect.map(PasskeyAuth, (passkeys) => ({
      exportUserData: (user) => Effect.map(passkeys.list(user), (all) => ({ passkeys: all.map(passkeyJson) })),
      clientConfig: { passkey: { enabled: true } },
    })),
  })
