/**
 * `authsome/mfa`: TOTP multi-factor authentication (RFC 6238) with single-use codes, recovery codes, and the
 * sign-in gate every sign-in method passes. `Mfa.plugin({ issuer, required, ticketTtl, ticketMaxAttempts })`.
 */
import { Effect, Layer, Schema } from "effect"
import { type InvalidConfig, toInvalidConfig } from "../../config.js"
import { definePlugin } from "../../plugin/index.js"
import { mfaErrors } from "./errors.js"
import { mfaMigrations } from "./migrations.js"
import { MfaOptions, type MfaOptionsInput, MfaSettings } from "./options.js"
import { mfaRoutes } from "./routes.js"
import { MfaAuth } from "./service.js"
import type { MfaStore } from "./store.js"
import { MfaStoreLive } from "./stores.js"

export { MfaRequired, mfaErrors } from "./errors.js"
export { mfaMigrations } from "./migrations.js"
export { MfaOptions, type MfaOptionsInput, MfaSettings, type ResolvedMfaOptions } from "./options.js"
export { mfaRateLimits } from "./routes.js"
export { type Factor, MfaAuth } from "./service.js"
export {
  MfaEnrollment,
  MfaEnrollmentId,
  MfaRecoveryCode,
  MfaStore,
  type MfaStoreShape,
  MfaTicket,
  type NewMfaTicket,
  RecoveryCodeId,
} from "./store.js"
export { MfaStoreLive } from "./stores.js"
export { codeAt, matchStep, otpauthUrl, stepAt, totpParameters } from "./totp.js"

const settingsLayer = (options: MfaOptionsInput) =>
  Layer.effect(
    MfaSettings,
    Schema.decodeUnknown(MfaOptions, { onExcessProperty: "error" })(options).pipe(
      Effect.mapError((error) => toInvalidConfig(error, ["mfa"])),
    ),
  )

/** The MFA plugin. Its services (`MfaAuth`, the MFA store) join the engine's output. */
export const plugin = (options: MfaOptionsInput = {}) =>
  definePlugin<MfaAuth | MfaStore | MfaSettings, InvalidConfig>({
    name: "mfa",
    migrations: mfaMigrations,
    layer: MfaAuth.Default.pipe(Layer.provideMerge(MfaStoreLive), Layer.provideMerge(settingsLayer(options))),
    routes: mfaRoutes,
    errors: mfaErrors,
    hooks: Effect.map(MfaAuth, (mfa) => ({
      beforeSignIn: mfa.gate,
      exportUserData: mfa.exportUserData,
      clientConfig: { mfa: { enabled: true, methods: ["totp", "recovery_code"] } },
    })),
  })
