/**
 * The social plugin's options (library.md §6): the providers — `github`, `google` and any OpenID Connect issuer as
 * `oidc:<name>` — and where the browser goes after a sign-in when the client named no acceptable place.
 */
import { Context, Schema } from "effect"
import { SecretField, withDefault } from "../../config.js"

const isLoopback = (hostname: string) =>
  hostname === "localhost" || hostname === "[::1]" || /^127(\.\d{1,3}){3}$/.test(hostname)

/** An `https:` URL; plain `http:` only on a loopback address (development and tests). */
const ProviderUrl = Schema.String.pipe(
  Schema.filter((value) => {
    let url: URL
    try {
      url = new URL(value)
    } catch {
      return `expected a URL, got ${JSON.stringify(value)}`
    }
    if (url.protocol === "https:" || (url.protocol === "http:" && isLoopback(url.hostname))) return undefined
    return "expected an https URL (plain http only on a loopback address)"
  }),
)

const HttpUrl = Schema.String.pipe(
  Schema.filter((value) => {
    try {
      const { protocol } = new URL(value)
      return protocol === "http:" || protocol === "https:" ? undefined : "expected an http(s) URL"
    } catch {
      return `expected a URL, got ${JSON.stringify(value)}`
    }
  }),
)

/** A path on this site (`/dashboard`) or an absolute http(s) URL. */
const RedirectTarget = Schema.Union(
  Schema.String.pipe(Schema.pattern(/^\/(?![/\\])[^\\\s]*$/, { message: () => "expected a path like /home" })),
  HttpUrl,
)

const clientFields = {
  clientId: Schema.NonEmptyString,
  clientSecret: SecretField,
  /** Where the provider sends the browser back. Default: `{publicUrl}{basePath}/social/{provider}/callback`. */
  redirectUrl: Schema.optional(HttpUrl),
  /** Default: what the provider needs for the user's id, email and name. */
  scopes: Schema.optional(Schema.Array(Schema.NonEmptyString)),
}

/** GitHub (OAuth 2.0; no ID token): the endpoints can be overridden for GitHub Enterprise. */
export const GitHubOptions = Schema.Struct({
  ...clientFields,
  authorizationEndpoint: withDefault(ProviderUrl, () => "https://github.com/login/oauth/authorize"),
  tokenEndpoint: withDefault(ProviderUrl, () => "https://github.com/login/oauth/access_token"),
  userinfoEndpoint: withDefault(ProviderUrl, () => "https://api.github.com/user"),
  /** The user's addresses and whether GitHub verified them. Default: `{userinfoEndpoint}/emails`. */
  emailsEndpoint: Schema.optional(ProviderUrl),
})

/** Google (OpenID Connect with Google's published metadata; every endpoint can be overridden). */
export const GoogleOptions = Schema.Struct({
  ...clientFields,
  authorizationEndpoint: withDefault(ProviderUrl, () => "https://accounts.google.com/o/oauth2/v2/auth"),
  tokenEndpoint: withDefault(ProviderUrl, () => "https://oauth2.googleapis.com/token"),
  userinfoEndpoint: withDefault(ProviderUrl, () => "https://openidconnect.googleapis.com/v1/userinfo"),
  jwksUri: withDefault(ProviderUrl, () => "https://www.googleapis.com/oauth2/v3/certs"),
})

/** Any OpenID Connect issuer, found by discovery (`{issuer}/.well-known/openid-configuration`). */
export const OidcOptions = Schema.Struct({
  ...clientFields,
  issuer: ProviderUrl,
  /** Shown by `GET /client-config`. Default: the name after `oidc:`. */
  name: Schema.optional(Schema.NonEmptyString),
})

export const SocialOptions = Schema.Struct({
  providers: withDefault(
    Schema.Struct(
      { github: Schema.optional(GitHubOptions), google: Schema.optional(GoogleOptions) },
      Schema.Record({
        key: Schema.TemplateLiteral("oidc:", Schema.String).pipe(
          Schema.pattern(/^oidc:[a-z0-9][a-z0-9_-]{0,62}$/, {
            message: () => "expected github, google or oidc:<name> (lower-case letters, digits, - and _)",
          }),
        ),
        value: OidcOptions,
      }),
    ),
    () => ({}),
  ),
  /**
   * Where the browser goes after a sign-in when the client named no redirect URL, or one that is neither a path on
   * this site nor on a trusted origin.
   */
  defaultRedirectUrl: withDefault(RedirectTarget, () => "/"),
}).annotations({ identifier: "SocialOptions" })

export type SocialOptionsInput = Schema.Schema.Encoded<typeof SocialOptions>
export type ResolvedSocialOptions = typeof SocialOptions.Type

/** The plugin's decoded options, for its services. */
export class SocialSettings extends Context.Tag("authsome/SocialSettings")<SocialSettings, ResolvedSocialOptions>() {}
