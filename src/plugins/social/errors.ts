/** The social plugin's errors and how they are answered. */
import { Data } from "effect"
import { declareError } from "../../plugin/index.js"

/** No provider of that id is configured. */
export class UnknownProvider extends Data.TaggedError("UnknownProvider")<{ readonly provider: string }> {}

/** Why a sign-in with a provider failed; recorded in the audit log, and named by the answer's message. */
export type OAuthFailureReason =
  | "invalid_state"
  | "provider_error"
  | "token_exchange"
  | "id_token"
  | "userinfo"
  | "no_email"

const failureMessages: Record<OAuthFailureReason, string> = {
  invalid_state: "unknown, used or expired sign-in state",
  provider_error: "the provider did not authorize the sign-in",
  token_exchange: "the provider did not accept the authorization code",
  id_token: "the provider's ID token did not verify",
  userinfo: "the provider's user information could not be read",
  no_email: "the provider shared no email address",
}

/** The callback did not prove an identity: its state, code, ID token or user information did not check out. */
export class OAuthFailed extends Data.TaggedError("OAuthFailed")<{ readonly reason: OAuthFailureReason }> {}

/** The provider could not be reached, or answered with a server error. */
export class ProviderUnavailable extends Data.TaggedError("ProviderUnavailable")<{ readonly provider: string }> {}

export const socialErrors = [
  declareError<UnknownProvider>("UnknownProvider", {
    status: 404,
    type: "not_found",
    description: "no such provider is configured",
    message: () => "unknown provider",
  }),
  declareError<OAuthFailed>("OAuthFailed", {
    status: 400,
    type: "invalid_code",
    description:
      "the provider sign-in did not verify: state unknown, used or expired; code refused; ID token signature, " +
      "issuer, audience, expiry or nonce wrong; or no email address shared",
    message: (error) => failureMessages[error.reason],
  }),
  declareError<ProviderUnavailable>("ProviderUnavailable", {
    status: 503,
    type: "unavailable",
    description: "the provider could not be reached; retry after the given delay",
    message: () => "the provider is unavailable",
    headers: () => ({ "retry-after": "30" }),
  }),
]
