/**
 * TypeIDs: `<prefix>_<26 chars of Crockford base32>` encoding a UUIDv7, so ids sort by creation time.
 * Cursor pagination (`id < cursor ORDER BY id DESC`) relies on that ordering.
 */
import { Schema } from "effect"
import { fillRandom } from "./random.js"

const ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"

export const prefixes = {
  user: "ausr",
  session: "ases",
  app: "aapp",
  environment: "aenv",
  organization: "aorg",
  member: "amem",
  invitation: "ainv",
  team: "atm",
  device: "adev",
  webhook: "awhk",
  webhookDelivery: "awhd",
  notification: "antf",
  verification: "avrf",
  passwordReset: "apwr",
  apiKey: "akey",
  role: "arol",
  permission: "aprm",
  auditEvent: "aevt",
  formConfig: "afcf",
  branding: "abrd",
  appSessionConfig: "ascf",
  sessionFamily: "asfm",
} as const

export type IdKind = keyof typeof prefixes

// Monotonic UUIDv7: within one millisecond the random tail is incremented, so ids made by one process in one
// millisecond still sort in creation order.
let lastMs = 0
const state = new Uint8Array(16)

const nextUuidV7Bytes = (): Uint8Array => {
  const now = Date.now()
  if (now > lastMs) {
    lastMs = now
    fillRandom(state, 6, 10)
    state[6] = state[6]! & 0x07 // keep headroom in rand_a so increments never overflow into the version
  } else {
    for (let i = 15; i >= 6; i--) {
      state[i] = (state[i]! + 1) & 0xff
      if (state[i] !== 0) break
    }
  }
  let ms = lastMs
  for (let i = 5; i >= 0; i--) {
    state[i] = ms & 0xff
    ms = Math.floor(ms / 256)
  }
  const out = new Uint8Array(state)
  out[6] = (out[6]! & 0x0f) | 0x70
  out[8] = (out[8]! & 0x3f) | 0x80
  return out
}

/** Encodes 128 bits as 26 base32 characters (the first carries 3 bits), as the TypeID spec does. */
const encodeBase32 = (bytes: Uint8Array): string => {
  let value = 0n
  for (const b of bytes) value = (value << 8n) | BigInt(b)
  let out = ""
  for (let i = 0; i < 26; i++) {
    out = ALPHABET[Number(value & 31n)] + out
    value >>= 5n
  }
  return out
}

/** A fresh TypeID with `prefix`. */
export const makeTypeId = <P extends string>(prefix: P): `${P}_${string}` =>
  `${prefix}_${encodeBase32(nextUuidV7Bytes())}`

export const makeId = <K extends IdKind>(kind: K): `${(typeof prefixes)[K]}_${string}` => makeTypeId(prefixes[kind])

const suffixPattern = "[0-7][0-9a-hjkmnp-tv-z]{25}"

export const isId = (kind: IdKind, value: string): boolean =>
  new RegExp(`^${prefixes[kind]}_${suffixPattern}$`).test(value)

/** The branded schema of TypeIDs with `prefix` (plugins define their own kinds with it). */
export const typeIdSchema = <B extends string>(prefix: string, brand: B) =>
  Schema.String.pipe(
    Schema.pattern(new RegExp(`^${prefix}_${suffixPattern}$`), { message: () => `expected a ${prefix}_ id` }),
    Schema.brand(brand),
  )

/**
 * A plugin's id kind: `const PasskeyId = defineId("apsk", "PasskeyId")` gives the schema, a constructor and a
 * check (path ids of the wrong shape are 404, never 500).
 */
export const defineId = <B extends string>(prefix: string, brand: B) => {
  const schema = typeIdSchema(prefix, brand)
  const pattern = new RegExp(`^${prefix}_${suffixPattern}$`)
  return {
    schema,
    make: () => makeTypeId(prefix) as typeof schema.Type,
    is: (value: string): value is typeof schema.Type => pattern.test(value),
  } as const
}

const typeId = <B extends string>(kind: IdKind, brand: B) => typeIdSchema(prefixes[kind], brand)

export const UserId = typeId("user", "UserId")
export type UserId = typeof UserId.Type
export const SessionId = typeId("session", "SessionId")
export type SessionId = typeof SessionId.Type
export const AppId = typeId("app", "AppId")
export type AppId = typeof AppId.Type
export const EnvironmentId = typeId("environment", "EnvironmentId")
export type EnvironmentId = typeof EnvironmentId.Type
export const OrganizationId = typeId("organization", "OrganizationId")
export type OrganizationId = typeof OrganizationId.Type
export const MemberId = typeId("member", "MemberId")
export type MemberId = typeof MemberId.Type
export const InvitationId = typeId("invitation", "InvitationId")
export type InvitationId = typeof InvitationId.Type
export const TeamId = typeId("team", "TeamId")
export type TeamId = typeof TeamId.Type
export const DeviceId = typeId("device", "DeviceId")
export type DeviceId = typeof DeviceId.Type
export const WebhookId = typeId("webhook", "WebhookId")
export type WebhookId = typeof WebhookId.Type
export const WebhookDeliveryId = typeId("webhookDelivery", "WebhookDeliveryId")
export type WebhookDeliveryId = typeof WebhookDeliveryId.Type
export const NotificationId = typeId("notification", "NotificationId")
export type NotificationId = typeof NotificationId.Type
export const VerificationId = typeId("verification", "VerificationId")
export type VerificationId = typeof VerificationId.Type
export const PasswordResetId = typeId("passwordReset", "PasswordResetId")
export type PasswordResetId = typeof PasswordResetId.Type
export const ApiKeyId = typeId("apiKey", "ApiKeyId")
export type ApiKeyId = typeof ApiKeyId.Type
export const RoleId = typeId("role", "RoleId")
export type RoleId = typeof RoleId.Type
export const PermissionId = typeId("permission", "PermissionId")
export type PermissionId = typeof PermissionId.Type
export const AuditEventId = typeId("auditEvent", "AuditEventId")
export type AuditEventId = typeof AuditEventId.Type
export const FormConfigId = typeId("formConfig", "FormConfigId")
export type FormConfigId = typeof FormConfigId.Type
export const BrandingId = typeId("branding", "BrandingId")
export type BrandingId = typeof BrandingId.Type
export const AppSessionConfigId = typeId("appSessionConfig", "AppSessionConfigId")
export type AppSessionConfigId = typeof AppSessionConfigId.Type
export const SessionFamilyId = typeId("sessionFamily", "SessionFamilyId")
export type SessionFamilyId = typeof SessionFamilyId.Type

/** Typed constructors: `newId.user()` returns a fresh `UserId`. */
export const newId = {
  user: () => makeId("user") as UserId,
  session: () => makeId("session") as SessionId,
  app: () => makeId("app") as AppId,
  environment: () => makeId("environment") as EnvironmentId,
  organization: () => makeId("organization") as OrganizationId,
  member: () => makeId("member") as MemberId,
  invitation: () => makeId("invitation") as InvitationId,
  team: () => makeId("team") as TeamId,
  device: () => makeId("device") as DeviceId,
  webhook: () => makeId("webhook") as WebhookId,
  webhookDelivery: () => makeId("webhookDelivery") as WebhookDeliveryId,
  notification: () => makeId("notification") as NotificationId,
  verification: () => makeId("verification") as VerificationId,
  passwordReset: () => makeId("passwordReset") as PasswordResetId,
  apiKey: () => makeId("apiKey") as ApiKeyId,
  role: () => makeId("role") as RoleId,
  permission: () => makeId("permission") as PermissionId,
  auditEvent: () => makeId("auditEvent") as AuditEventId,
  formConfig: () => makeId("formConfig") as FormConfigId,
  branding: () => makeId("branding") as BrandingId,
  appSessionConfig: () => makeId("appSessionConfig") as AppSessionConfigId,
  sessionFamily: () => makeId("sessionFamily") as SessionFamilyId,
}
