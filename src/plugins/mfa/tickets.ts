/**
 * MFA tickets: what the sign-in gate hands out instead of a session. A ticket is sealed (AES-256-GCM under the
 * `mfa-ticket` key) and carries who signs in, for which app and environment, by which method and until when, so
 * the gate writes nothing: it may run inside the caller's transaction, which its refusal rolls back. The tries and
 * the single use are counted server-side by the ticket's hash (`MfaStore.chargeTicket`).
 */
import { Option, Schema } from "effect"
import { AppId, EnvironmentId, UserId } from "../../domain/ids.js"
import type { ClientContext } from "../../plugin/index.js"
import { randomToken } from "../../plugin/index.js"
import type { SecretBox } from "../../services/secrets.js"

const purpose = "mfa-ticket"

export const TicketClaims = Schema.Struct({
  userId: UserId,
  appId: AppId,
  envId: EnvironmentId,
  /** The sign-in method that proved the identity (the session's `auth.signin` event names it). */
  method: Schema.String,
  /** `challenge`: prove the enrolled factor; `enrollment`: the app requires MFA and the user enrolls first. */
  purpose: Schema.Literal("challenge", "enrollment"),
  /** Milliseconds since the epoch. */
  expiresAt: Schema.Number,
  /** Makes every ticket distinct. */
  nonce: Schema.String,
})
export type TicketClaims = typeof TicketClaims.Type

const decodeClaims = Schema.decodeUnknownOption(Schema.parseJson(TicketClaims))

export const sealTicket = (box: SecretBox, claims: Omit<TicketClaims, "nonce">): string =>
  box.seal(purpose, JSON.stringify({ ...claims, nonce: randomToken(16) }))

/** The claims of a genuine ticket for the client's app and environment that has not expired by `nowMs`. */
export const openTicket = (
  box: SecretBox,
  ticket: string,
  client: ClientContext,
  nowMs: number,
): Option.Option<TicketClaims> => {
  let plain: string
  try {
    plain = box.open(purpose, ticket)
  } catch {
    // Tampered, truncated, or sealed under another secret.
    return Option.none()
  }
  return Option.filter(
    decodeClaims(plain),
    (claims) => claims.appId === client.app.id && claims.envId === client.env.id && claims.expiresAt > nowMs,
  )
}
