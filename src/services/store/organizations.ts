import { Context, type Effect, type Option } from "effect"
import type { Conflict, NotFound, SlugTaken } from "../../domain/errors.js"
import type * as Id from "../../domain/ids.js"
import type * as M from "../../domain/models.js"
import type { Page, PageRequest } from "./common.js"

export type OrganizationPatch = Partial<Pick<M.Organization, "name" | "slug" | "logo" | "metadata">>

/** Organizations; slugs are unique per app. Deleting one removes its members, teams, invitations and branding. */
export interface OrganizationStoreShape {
  readonly create: (org: M.Organization) => Effect.Effect<M.Organization, SlugTaken>
  readonly get: (id: Id.OrganizationId) => Effect.Effect<M.Organization, NotFound>
  /**
   * `get`, locking the row until the enclosing transaction ends: membership changes of one organization serialise
   * on it (so two owners demoting each other cannot leave it without one).
   */
  readonly getForUpdate: (id: Id.OrganizationId) => Effect.Effect<M.Organization, NotFound>
  readonly getBySlug: (appId: Id.AppId, slug: string) => Effect.Effect<M.Organization, NotFound>
  readonly update: (
    id: Id.OrganizationId,
    patch: OrganizationPatch,
    now: Date,
  ) => Effect.Effect<M.Organization, NotFound | SlugTaken>
  readonly delete: (id: Id.OrganizationId) => Effect.Effect<void, NotFound>
  readonly listByApp: (appId: Id.AppId, page: PageRequest) => Effect.Effect<Page<M.Organization>>
  /** Organizations the user is a member of, newest first. */
  readonly listForUser: (userId: Id.UserId) => Effect.Effect<ReadonlyArray<M.Organization>>
  readonly count: (appId: Id.AppId) => Effect.Effect<number>
}
export class OrganizationStore extends Context.Tag("authsome/OrganizationStore")<
  OrganizationStore,
  OrganizationStoreShape
>() {}

export interface MemberWithUser {
  readonly member: M.Member
  readonly user: M.User
}

/** Organization memberships; a user is a member of an organization at most once (`Conflict` otherwise). */
export interface MemberStoreShape {
  readonly create: (member: M.Member) => Effect.Effect<M.Member, Conflict>
  readonly get: (id: Id.MemberId) => Effect.Effect<M.Member, NotFound>
  readonly getByUserAndOrg: (userId: Id.UserId, orgId: Id.OrganizationId) => Effect.Effect<M.Member, NotFound>
  readonly updateRole: (id: Id.MemberId, role: M.OrgRole, now: Date) => Effect.Effect<M.Member, NotFound>
  readonly delete: (id: Id.MemberId) => Effect.Effect<void, NotFound>
  /** Oldest first. */
  readonly listByOrg: (orgId: Id.OrganizationId) => Effect.Effect<ReadonlyArray<M.Member>>
  /** `listByOrg` with each member's user, in one read; members whose user is deleted are left out. */
  readonly listWithUsers: (orgId: Id.OrganizationId) => Effect.Effect<ReadonlyArray<MemberWithUser>>
  readonly countByRole: (orgId: Id.OrganizationId, role: M.OrgRole) => Effect.Effect<number>
}
export class MemberStore extends Context.Tag("authsome/MemberStore")<MemberStore, MemberStoreShape>() {}

/** Invitations; accepting or declining is an atomic status change from `pending`. */
export interface InvitationStoreShape {
  readonly create: (invitation: M.Invitation) => Effect.Effect<M.Invitation>
  readonly get: (id: Id.InvitationId) => Effect.Effect<M.Invitation, NotFound>
  readonly findByTokenHash: (tokenHash: string) => Effect.Effect<Option.Option<M.Invitation>>
  /** Newest first. */
  readonly listByOrg: (orgId: Id.OrganizationId) => Effect.Effect<ReadonlyArray<M.Invitation>>
  /** Moves a `pending` invitation to `status`; true for exactly one of any number of concurrent callers. */
  readonly resolve: (
    id: Id.InvitationId,
    status: Exclude<M.InvitationStatus, "pending">,
    now: Date,
  ) => Effect.Effect<boolean>
  readonly delete: (id: Id.InvitationId) => Effect.Effect<void, NotFound>
}
export class InvitationStore extends Context.Tag("authsome/InvitationStore")<InvitationStore, InvitationStoreShape>() {}

export type TeamPatch = Partial<Pick<M.Team, "name" | "slug">>

/** Teams of an organization; slugs are unique per organization. */
export interface TeamStoreShape {
  readonly create: (team: M.Team) => Effect.Effect<M.Team, SlugTaken>
  readonly get: (id: Id.TeamId) => Effect.Effect<M.Team, NotFound>
  readonly update: (id: Id.TeamId, patch: TeamPatch, now: Date) => Effect.Effect<M.Team, NotFound | SlugTaken>
  readonly delete: (id: Id.TeamId) => Effect.Effect<void, NotFound>
  /** Oldest first. */
  readonly listByOrg: (orgId: Id.OrganizationId) => Effect.Effect<ReadonlyArray<M.Team>>
}
export class TeamStore extends Context.Tag("authsome/TeamStore")<TeamStore, TeamStoreShape>() {}

export interface TeamMemberStoreShape {
  /** `Conflict` when the user already is in the team. */
  readonly add: (member: M.TeamMember) => Effect.Effect<M.TeamMember, Conflict>
  readonly remove: (teamId: Id.TeamId, userId: Id.UserId) => Effect.Effect<void, NotFound>
  /** Oldest first. */
  readonly list: (teamId: Id.TeamId) => Effect.Effect<ReadonlyArray<M.TeamMember>>
  /** Removes the user from every team of the organization; returns how many memberships went. */
  readonly removeFromOrg: (orgId: Id.OrganizationId, userId: Id.UserId) => Effect.Effect<number>
}
export class TeamMemberStore extends Context.Tag("authsome/TeamMemberStore")<TeamMemberStore, TeamMemberStoreShape>() {}
