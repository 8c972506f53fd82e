import { Context, Layer } from "effect"
import { type AuthsomeConfigInput, type InvalidConfig, type ResolvedConfig, resolveConfig } from "../config.js"

/** The engine's resolved configuration. */
export class AuthConfig extends Context.Tag("authsome/AuthConfig")<AuthConfig, ResolvedConfig>() {
  /** Decodes the host's configuration (defaults applied; a bad value is `InvalidConfig` naming its path). */
  static readonly layer = (config: AuthsomeConfigInput = {}): Layer.Layer<AuthConfig, InvalidConfig> =>
    Layer.effect(AuthConfig, resolveConfig(config))
}
