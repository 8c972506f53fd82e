import { Context, Layer } from "effect"
import { type AuthsomeConfig, type ResolvedConfig, resolveConfig } from "../config.js"

/** The engine's resolved configuration. */
export class AuthConfig extends Context.Tag("authsome/AuthConfig")<AuthConfig, ResolvedConfig>() {
  static readonly layer = (config: AuthsomeConfig) => Layer.succeed(AuthConfig, resolveConfig(config))
}
