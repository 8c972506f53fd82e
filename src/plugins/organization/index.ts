/**
 * `authsome/organization`: organizations with members and roles (`owner` > `admin` > `member`), invitations mailed
 * with a single-use link, teams, and the session's current organization (http-api.md §4).
 * `Organization.plugin({ invitationTtl, allowUserToCreate })`. Its tables are core tables (library.md §3).
 */
import { Effect, Layer, Schema } from "effect"
import { type InvalidConfig, toInvalidConfig } from "../../config.js"
import { definePlugin } from "../../plugin/index.js"
import { OrganizationOptions, type OrganizationOptionsInput, OrganizationSettings } from "./options.js"
import { organizationRoutes } from "./routes.js"
import { Organizations } from "./service.js"

export {
  OrganizationOptions,
  type OrganizationOptionsInput,
  OrganizationSettings,
  type ResolvedOrganizationOptions,
} from "./options.js"
export { organizationRateLimits } from "./routes.js"
export {
  type Membership,
  type NewOrganization,
  type NewTeam,
  type OrganizationChanges,
  Organizations,
  type TeamMemberWithUser,
} from "./service.js"

const settingsLayer = (options: OrganizationOptionsInput) =>
  Layer.effect(
    OrganizationSettings,
    Schema.decodeUnknown(OrganizationOptions, { onExcessProperty: "error" })(options).pipe(
      Effect.mapError((error) => toInvalidConfig(error, ["organization"])),
    ),
  )

/** The organization plugin. Its service (`Organizations`) joins the engine's output. */
export const plugin = (options: OrganizationOptionsInput = {}) =>
  definePlugin<Organizations | OrganizationSettings, InvalidConfig>({
    name: "organization",
    layer: Organizations.Default.pipe(Layer.provideMerge(settingsLayer(options))),
    routes: organizationRoutes,
  })
