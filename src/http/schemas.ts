/**
 * The public JSON objects of the spec (§2) — their schemas document the OpenAPI responses, and the serializers below
 * are typed against them, so the two cannot drift. Also the shared request field schemas.
 */
import { Schema } from "effect"
import type * as M from "../domain/models.js"

// --- request fields ------------------------------------------------------------------------------------------------

/**
 * One RFC 5321 mailbox, `local@domain`: a dot-atom local part (at most 64 characters) and a host name of
 * letter-digit-hyphen labels with at least one dot; no display name, comment, quoted string, comma, semicolon,
 * angle bracket or space can get through, so the address stored is exactly the address mailed.
 */
const mailbox =
  "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@" +
  "(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
const mailboxPattern = new RegExp(`^${mailbox}$`)
const invalidEmail = { message: () => "must be a single email address (local@domain)" }

export const EmailField = Schema.Trim.pipe(
  Schema.compose(Schema.Lowercase),
  Schema.maxLength(254, { message: () => "must be at most 254 characters" }),
  Schema.pattern(mailboxPattern, invalidEmail),
  Schema.filter((email) => email.indexOf("@") <= 64 || "the part before @ must be at most 64 characters"),
  Schema.annotations({
    title: "email",
    description: "trimmed and lower-cased",
    // What the document promises: the encoded side is plain text, so the rules are stated here.
    jsonSchema: {
      type: "string",
      format: "email",
      maxLength: 254,
      pattern: `^\\s*${mailbox}\\s*$`,
      description: "one mailbox (local@domain), at most 254 characters; trimmed and lower-cased",
    },
  }),
)

/** Passwords are checked against the policy by the service, which names the unmet rule. */
export const PasswordField = Schema.String.pipe(
  Schema.maxLength(4096, { message: () => "is too long" }),
  Schema.annotations({ format: "password" }),
)

/** A token as issued (opaque, base64url); what is not one of ours is answered as an unknown token. */
export const TokenField = Schema.String.pipe(
  Schema.minLength(1),
  Schema.maxLength(512),
  Schema.annotations({ description: "an opaque token as issued, 1 to 512 characters" }),
)

export const NameField = Schema.NullOr(Schema.String.pipe(Schema.maxLength(255)))

export const UsernameField = Schema.NullOr(
  Schema.String.pipe(
    Schema.pattern(/^[A-Za-z0-9_.-]{3,64}$/, {
      message: () => "must be 3 to 64 letters, digits, dots, dashes or underscores",
    }),
  ),
)

export const MetadataField = Schema.NullOr(Schema.Record({ key: Schema.String, value: Schema.Unknown }))

/** An `https:` or `http:` URL (a profile image): never `javascript:`, `data:` or anything a browser would run. */
export const HttpUrlField = Schema.String.pipe(
  Schema.maxLength(2048, { message: () => "must be at most 2048 characters" }),
  Schema.pattern(/^https?:\/\/[^\s]+$/i, { message: () => "must be an http(s) URL" }),
  Schema.filter((value) => {
    try {
      const url = new URL(value)
      return (url.protocol === "https:" || url.protocol === "http:") && url.hostname !== ""
        ? true
        : "must be an http(s) URL"
    } catch {
      return "must be an http(s) URL"
    }
  }),
)

// --- response objects ----------------------------------------------------------------------------------------------

const Timestamp = Schema.String.annotations({ jsonSchema: { format: "date-time" } })
const NullableString = Schema.NullOr(Schema.String)

export const UserJson = Schema.Struct({
  id: Schema.String,
  app_id: Schema.String,
  env_id: Schema.String,
  email: Schema.String,
  email_verified: Schema.Boolean,
  first_name: NullableString,
  last_name: NullableString,
  image: NullableString,
  username: NullableString,
  phone: NullableString,
  banned: Schema.Boolean,
  ban_reason: NullableString,
  ban_expires: Schema.NullOr(Timestamp),
  metadata: MetadataField,
  created_at: Timestamp,
  updated_at: Timestamp,
}).annotations({ identifier: "User" })

export const SessionJson = Schema.Struct({
  id: Schema.String,
  user_id: Schema.String,
  app_id: Schema.String,
  env_id: Schema.String,
  org_id: NullableString,
  ip_address: NullableString,
  user_agent: NullableString,
  device_id: NullableString,
  impersonated_by: NullableString,
  expires_at: Timestamp,
  refresh_token_expires_at: Timestamp,
  last_activity_at: Timestamp,
  created_at: Timestamp,
}).annotations({ identifier: "Session" })

export const ListedSessionJson = Schema.Struct({ ...SessionJson.fields, current: Schema.Boolean }).annotations({
  identifier: "ListedSession",
})

export const DeviceJson = Schema.Struct({
  id: Schema.String,
  user_id: Schema.String,
  name: NullableString,
  type: Schema.String,
  browser: NullableString,
  os: NullableString,
  ip_address: NullableString,
  trusted: Schema.Boolean,
  last_seen_at: Timestamp,
  created_at: Timestamp,
}).annotations({ identifier: "Device" })

export const RefreshedJson = Schema.Struct({
  session_token: Schema.String,
  refresh_token: Schema.String,
  expires_at: Timestamp,
  refresh_token_expires_at: Timestamp,
}).annotations({ identifier: "RefreshedTokens" })

export const TokensJson = Schema.Struct({ user: UserJson, ...RefreshedJson.fields }).annotations({
  identifier: "Tokens",
})

export const AuditEventJson = Schema.Struct({
  id: Schema.String,
  app_id: Schema.String,
  user_id: NullableString,
  actor_id: NullableString.annotations({ description: "who acted (an administrator), when not the user" }),
  type: Schema.String,
  outcome: Schema.Literal("success", "failure"),
  reason: NullableString,
  ip_address: NullableString,
  user_agent: NullableString,
  metadata: MetadataField,
  created_at: Timestamp,
}).annotations({ identifier: "AuditEvent" })

export const StatusJson = Schema.Struct({ status: Schema.String }).annotations({ identifier: "Status" })

/** `/health`: the status, and the read replica's state when one is configured (`"lagging 1.2 s"`). */
export const HealthJson = Schema.Struct({ status: Schema.String, replica: Schema.optional(Schema.String) }).annotations(
  { identifier: "Health" },
)

export const ErrorJson = Schema.Struct({
  error: Schema.String,
  code: Schema.Int,
  type: Schema.String,
  /** `invalid_request`: each problem, by path (the submitted values are never repeated). */
  details: Schema.optional(Schema.Array(Schema.Struct({ path: Schema.String, message: Schema.String }))),
  /** `user_banned`: when the ban ends, if ever. */
  ban_expires: Schema.optional(Schema.NullOr(Timestamp)),
}).annotations({ identifier: "Error" })

// --- serializers ---------------------------------------------------------------------------------------------------

const iso = (date: Date) => date.toISOString()

export const userJson = (user: M.User): typeof UserJson.Type => ({
  id: user.id,
  app_id: user.appId,
  env_id: user.envId,
  email: user.email,
  email_verified: user.emailVerified,
  first_name: user.firstName,
  last_name: user.lastName,
  image: user.image,
  username: user.username,
  phone: user.phone,
  banned: user.banned,
  ban_reason: user.banReason,
  ban_expires: user.banExpires && iso(user.banExpires),
  metadata: user.metadata,
  created_at: iso(user.createdAt),
  updated_at: iso(user.updatedAt),
})

export const sessionJson = (session: M.Session): typeof SessionJson.Type => ({
  id: session.id,
  user_id: session.userId,
  app_id: session.appId,
  env_id: session.envId,
  org_id: session.orgId,
  ip_address: session.ipAddress,
  user_agent: session.userAgent,
  device_id: session.deviceId,
  impersonated_by: session.impersonatedBy,
  expires_at: iso(session.expiresAt),
  refresh_token_expires_at: iso(session.refreshTokenExpiresAt),
  last_activity_at: iso(session.lastActivityAt),
  created_at: iso(session.createdAt),
})

export const deviceJson = (device: M.Device): typeof DeviceJson.Type => ({
  id: device.id,
  user_id: device.userId,
  name: device.name,
  type: device.type,
  browser: device.browser,
  os: device.os,
  ip_address: device.ipAddress,
  trusted: device.trusted,
  last_seen_at: iso(device.lastSeenAt),
  created_at: iso(device.createdAt),
})

export const auditEventJson = (event: M.AuditEvent): typeof AuditEventJson.Type => ({
  id: event.id,
  app_id: event.appId,
  user_id: event.userId,
  actor_id: event.actorId,
  type: event.type,
  outcome: event.outcome,
  reason: event.reason,
  ip_address: event.ipAddress,
  user_agent: event.userAgent,
  metadata: event.metadata,
  created_at: iso(event.createdAt),
})

export interface IssuedTokensLike {
  readonly session: M.Session
  readonly sessionToken: string
  readonly refreshToken: string
}

export const refreshedJson = (tokens: IssuedTokensLike): typeof RefreshedJson.Type => ({
  session_token: tokens.sessionToken,
  refresh_token: tokens.refreshToken,
  expires_at: iso(tokens.session.expiresAt),
  refresh_token_expires_at: iso(tokens.session.refreshTokenExpiresAt),
})

export const tokensJson = (user: M.User, tokens: IssuedTokensLike): typeof TokensJson.Type => ({
  user: userJson(user),
  ...refreshedJson(tokens),
})
