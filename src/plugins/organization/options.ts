/** The organization plugin's options: how long invitations work, and who may create organizations. */
import { Context, Schema } from "effect"
import { DurationField, withDefault } from "../../config.js"

export const OrganizationOptions = Schema.Struct({
  /** How long a mailed invitation link works. */
  invitationTtl: withDefault(DurationField, () => "7 days"),
  /** When false, creating an organization needs the app-wide permission `org:create` (admins and owners hold it). */
  allowUserToCreate: withDefault(Schema.Boolean, () => true),
}).annotations({ identifier: "OrganizationOptions" })

export type OrganizationOptionsInput = Schema.Schema.Encoded<typeof OrganizationOptions>
export type ResolvedOrganizationOptions = typeof OrganizationOptions.Type

/** The plugin's decoded options, for its service. */
export class OrganizationSettings extends Context.Tag("authsome/OrganizationSettings")<
  OrganizationSettings,
  ResolvedOrganizationOptions
>() {}
