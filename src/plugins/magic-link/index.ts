/**
 * `authsome/magic-link`: sign-in by a single-use link mailed to the address (stored hashed, 10 minutes), which also
 * verifies it; `MagicLink.plugin({ allowSignup: true })` lets a link create the account.
 */
import { Effect, Layer, Schema } from "effect"
import { type InvalidConfig, toInvalidConfig } from "../../config.js"
import { definePlugin } from "../../plugin/index.js"
import { MagicLinkOptions, type MagicLinkOptionsInput, MagicLinkSettings } from "./options.js"
import { magicLinkRoutes } from "./routes.js"
import { MagicLinks } from "./service.js"

export { magicLinkEmail, noAccountEmail } from "./mail.js"
export {
  MagicLinkOptions,
  type MagicLinkOptionsInput,
  MagicLinkSettings,
  type ResolvedMagicLinkOptions,
} from "./options.js"
export { MagicLinks } from "./service.js"

const settingsLayer = (options: MagicLinkOptionsInput) =>
  Layer.effect(
    MagicLinkSettings,
    Schema.decodeUnknown(MagicLinkOptions, { onExcessProperty: "error" })(options).pipe(
      Effect.mapError((error) => toInvalidConfig(error, ["magicLink"])),
    ),
  )

/** The magic-link plugin (no tables of its own: links are verifications of kind `magic_link`). */
export const plugin = (options: MagicLinkOptionsInput = {}) =>
  definePlugin<MagicLinks | MagicLinkSettings, InvalidConfig>({
    name: "magic-link",
    layer: MagicLinks.Default.pipe(Layer.provideMerge(settingsLayer(options))),
    routes: magicLinkRoutes,
    hooks: Effect.succeed({ clientConfig: { magic_link: { enabled: true } } }),
  })
