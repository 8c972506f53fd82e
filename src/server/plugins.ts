/**
 * The built-in plugins the standalone server can mount (`AUTHSOME_PLUGINS`, default: all of them), each configured
 * from its section of the `AUTHSOME_CONFIG` file.
 */
import type { Schema } from "effect"
import type { AnyPlugin } from "../plugin/plugin.js"
import * as Mfa from "../plugins/mfa/index.js"
import * as Passkey from "../plugins/passkey/index.js"
import * as MagicLink from "../plugins/magic-link/index.js"
import * as Organization from "../plugins/organization/index.js"
import * as Password from "../plugins/password/index.js"
import * as Social from "../plugins/social/index.js"

export interface BuiltInPlugin {
  readonly name: string
  /** The plugin's section of the configuration file. */
  readonly configKey: string
  readonly options: Schema.Schema<any, any>
  readonly make: (options: any) => AnyPlugin
}

export const builtInPlugins: ReadonlyArray<BuiltInPlugin> = [
  { name: "password", configKey: "password", options: Password.PasswordOptions, make: Password.plugin },
  { name: "mfa", configKey: "mfa", options: Mfa.MfaOptions, make: Mfa.plugin },
  { name: "passkey", configKey: "passkey", options: Passkey.PasskeyOptions, make: Passkey.plugin },
  { name: "magic-link", configKey: "magicLink", options: MagicLink.MagicLinkOptions, make: MagicLink.plugin },
  { name: "social", configKey: "social", options: Social.SocialOptions, make: Social.plugin },
  {
    name: "organization",
    configKey: "organization",
    options: Organization.OrganizationOptions,
    make: Organization.plugin,
  },
]
