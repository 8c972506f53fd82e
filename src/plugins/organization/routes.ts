/**
 * The organization plugin's routes (http-api.md §4). Every `/orgs/:orgId/...` route answers 404 to anyone who is
 * not a member of that organization; members below the role a route needs get 403.
 */
import { Clock, Effect, Schema } from "effect"
import type * as M from "../../domain/models.js"
import {
  coreRateLimits,
  EmailField,
  HttpKit,
  json,
  MetadataField,
  rateLimitPolicy,
  SessionJson,
  sessionRoute,
  StatusJson,
  status,
  TokenField,
} from "../../plugin/index.js"
import type { MemberWithUser } from "../../services/store/index.js"
import { Organizations, type TeamMemberWithUser } from "./service.js"

/** The plugin's own limits (configurable by name under `rateLimit.rules`). */
export const organizationRateLimits = {
  /** Invitations mailed per inviting user. */
  orgInviteUser: rateLimitPolicy("orgInviteUser", 30, "1 hour"),
} as const

const Timestamp = Schema.String.annotations({ format: "date-time" })
const OrgRole = Schema.Literal("owner", "admin", "member")

export const OrganizationJson = Schema.Struct({
  id: Schema.String,
  app_id: Schema.String,
  name: Schema.String,
  slug: Schema.String,
  logo: Schema.NullOr(Schema.String),
  metadata: MetadataField,
  created_by: Schema.String,
  created_at: Timestamp,
  updated_at: Timestamp,
}).annotations({ identifier: "Organization" })

const MemberUserJson = Schema.Struct({
  id: Schema.String,
  email: Schema.String,
  first_name: Schema.NullOr(Schema.String),
  last_name: Schema.NullOr(Schema.String),
}).annotations({ identifier: "MemberUser" })

export const MemberJson = Schema.Struct({
  id: Schema.String,
  org_id: Schema.String,
  user_id: Schema.String,
  role: OrgRole,
  user: MemberUserJson,
  created_at: Timestamp,
}).annotations({ identifier: "Member" })

export const InvitationJson = Schema.Struct({
  id: Schema.String,
  org_id: Schema.String,
  email: Schema.String,
  role: OrgRole,
  status: Schema.Literal("pending", "accepted", "declined", "canceled", "expired"),
  expires_at: Timestamp,
  created_at: Timestamp,
}).annotations({ identifier: "Invitation" })

export const TeamJson = Schema.Struct({
  id: Schema.String,
  org_id: Schema.String,
  name: Schema.String,
  slug: Schema.String,
  created_at: Timestamp,
}).annotations({ identifier: "Team" })

const TeamMemberJson = Schema.Struct({
  team_id: Schema.String,
  user_id: Schema.String,
  user: MemberUserJson,
  created_at: Timestamp,
}).annotations({ identifier: "TeamMember" })

const iso = (date: Date) => date.toISOString()

const organizationJson = (org: M.Organization): typeof OrganizationJson.Type => ({
  id: org.id,
  app_id: org.appId,
  name: org.name,
  slug: org.slug,
  logo: org.logo,
  metadata: org.metadata,
  created_by: org.createdBy,
  created_at: iso(org.createdAt),
  updated_at: iso(org.updatedAt),
})

const memberUserJson = (user: M.User): typeof MemberUserJson.Type => ({
  id: user.id,
  email: user.email,
  first_name: user.firstName,
  last_name: user.lastName,
})

const memberJson = ({ member, user }: MemberWithUser): typeof MemberJson.Type => ({
  id: member.id,
  org_id: member.orgId,
  user_id: member.userId,
  role: member.role,
  user: memberUserJson(user),
  created_at: iso(member.createdAt),
})

/** A pending invitation past its expiry shows as `expired` (it can no longer be accepted). */
const invitationJson = (invitation: M.Invitation, now: number): typeof InvitationJson.Type => ({
  id: invitation.id,
  org_id: invitation.orgId,
  email: invitation.email,
  role: invitation.role,
  status: invitation.status === "pending" && invitation.expiresAt.getTime() <= now ? "expired" : invitation.status,
  expires_at: iso(invitation.expiresAt),
  created_at: iso(invitation.createdAt),
})

const teamJson = (team: M.Team): typeof TeamJson.Type => ({
  id: team.id,
  org_id: team.orgId,
  name: team.name,
  slug: team.slug,
  created_at: iso(team.createdAt),
})

const teamMemberJson = ({ teamMember, user }: TeamMemberWithUser): typeof TeamMemberJson.Type => ({
  team_id: teamMember.teamId,
  user_id: teamMember.userId,
  user: memberUserJson(user),
  created_at: iso(teamMember.createdAt),
})

const Name = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(100))
const Slug = Schema.String.pipe(
  Schema.pattern(/^[a-z0-9][a-z0-9-]{0,62}$/, { message: () => "must be lower-case letters, digits and -" }),
)
const Logo = Schema.NullOr(
  Schema.String.pipe(
    Schema.maxLength(2048),
    Schema.pattern(/^https?:\/\/[^\s]+$/i, { message: () => "must be an http(s) URL" }),
  ),
)
const Id = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64))

const MembersJson = Schema.Struct({ members: Schema.Array(MemberJson) })
const TeamMembersJson = Schema.Struct({ members: Schema.Array(TeamMemberJson) })

export const organizationRoutes = Effect.gen(function* () {
  const organizations = yield* Organizations
  const kit = yield* HttpKit
  const param = (request: { readonly params: Readonly<Record<string, string>> }, name: string) =>
    request.params[name] ?? ""

  const create = sessionRoute({
    method: "POST",
    path: "/orgs",
    tag: "Organizations",
    summary: "Create an organization; the caller becomes its owner",
    body: Schema.Struct({
      name: Name,
      slug: Slug,
      logo: Schema.optional(Logo),
      metadata: Schema.optional(MetadataField),
    }),
    responses: { 201: { description: "the organization", schema: OrganizationJson } },
    handler: (request) =>
      Effect.map(
        organizations.create(request.auth.user, request.client, request.body, request.auth.apiKey?.scopes),
        (org) => json(201, organizationJson(org)),
      ),
  })

  const list = sessionRoute({
    method: "GET",
    path: "/orgs",
    tag: "Organizations",
    summary: "The caller's organizations, newest first",
    responses: {
      200: { description: "organizations", schema: Schema.Struct({ organizations: Schema.Array(OrganizationJson) }) },
    },
    handler: (request) =>
      Effect.map(organizations.listForUser(request.auth.user), (all) =>
        json(200, { organizations: all.map(organizationJson) }),
      ),
  })

  const get = sessionRoute({
    method: "GET",
    path: "/orgs/:orgId",
    tag: "Organizations",
    summary: "One of the caller's organizations (members)",
    responses: { 200: { description: "the organization", schema: OrganizationJson } },
    handler: (request) =>
      Effect.map(organizations.get(request.auth.user, param(request, "orgId")), (org) =>
        json(200, organizationJson(org)),
      ),
  })

  const update = sessionRoute({
    method: "PATCH",
    path: "/orgs/:orgId",
    tag: "Organizations",
    summary: "Update an organization (admins and owners)",
    body: Schema.Struct({
      name: Schema.optional(Name),
      logo: Schema.optional(Logo),
      metadata: Schema.optional(MetadataField),
    }),
    responses: { 200: { description: "the organization", schema: OrganizationJson } },
    handler: (request) => {
      const { name, logo, metadata } = request.body
      const changes = {
        ...(name === undefined ? {} : { name }),
        ...(logo === undefined ? {} : { logo }),
        ...(metadata === undefined ? {} : { metadata }),
      }
      return Effect.map(
        organizations.update(request.auth.user, request.client, param(request, "orgId"), changes),
        (org) => json(200, organizationJson(org)),
      )
    },
  })

  const remove = sessionRoute({
    method: "DELETE",
    path: "/orgs/:orgId",
    tag: "Organizations",
    summary: "Delete an organization with its members, teams and invitations (owners)",
    responses: { 200: { description: "deleted", schema: StatusJson } },
    handler: (request) =>
      Effect.as(organizations.remove(request.auth.user, request.client, param(request, "orgId")), status("deleted")),
  })

  const members = sessionRoute({
    method: "GET",
    path: "/orgs/:orgId/members",
    tag: "Organizations",
    summary: "The organization's members, oldest first (members)",
    responses: { 200: { description: "members", schema: MembersJson } },
    handler: (request) =>
      Effect.map(organizations.listMembers(request.auth.user, param(request, "orgId")), (all) =>
        json(200, { members: all.map(memberJson) }),
      ),
  })

  const changeRole = sessionRoute({
    method: "PATCH",
    path: "/orgs/:orgId/members/:memberId",
    tag: "Organizations",
    summary: "Change a member's role (admins and owners; only owners make or change owners)",
    description: "The last owner cannot be demoted: 409 `conflict`.",
    body: Schema.Struct({ role: OrgRole }),
    responses: { 200: { description: "the member", schema: MemberJson } },
    handler: (request) =>
      Effect.map(
        organizations.changeRole(
          request.auth.user,
          request.client,
          param(request, "orgId"),
          param(request, "memberId"),
          request.body.role,
        ),
        (member) => json(200, memberJson(member)),
      ),
  })

  const removeMember = sessionRoute({
    method: "DELETE",
    path: "/orgs/:orgId/members/:memberId",
    tag: "Organizations",
    summary: "Remove a member (admins and owners; only owners remove owners; never the last owner)",
    responses: { 200: { description: "removed", schema: StatusJson } },
    handler: (request) =>
      Effect.as(
        organizations.removeMember(
          request.auth.user,
          request.client,
          param(request, "orgId"),
          param(request, "memberId"),
        ),
        status("removed"),
      ),
  })

  const leave = sessionRoute({
    method: "POST",
    path: "/orgs/:orgId/leave",
    tag: "Organizations",
    summary: "Leave the organization (the last owner cannot: 409 `conflict`)",
    responses: { 200: { description: "left", schema: StatusJson } },
    handler: (request) =>
      Effect.as(organizations.leave(request.auth.user, request.client, param(request, "orgId")), status("left")),
  })

  const invite = sessionRoute({
    method: "POST",
    path: "/orgs/:orgId/invitations",
    tag: "Organizations",
    summary: "Invite someone by email (admins and owners): a single-use link is mailed, valid 7 days",
    body: Schema.Struct({ email: EmailField, role: Schema.optional(OrgRole) }),
    responses: { 201: { description: "the invitation", schema: InvitationJson } },
    handler: (request) =>
      Effect.gen(function* () {
        yield* kit.limitByAppSubject(request, organizationRateLimits.orgInviteUser, `user:${request.auth.user.id}`)
        const invitation = yield* organizations.invite(
          request.auth.user,
          request.client,
          param(request, "orgId"),
          request.body.email,
          request.body.role ?? "member",
        )
        return json(201, invitationJson(invitation, invitation.createdAt.getTime()))
      }),
  })

  const invitations = sessionRoute({
    method: "GET",
    path: "/orgs/:orgId/invitations",
    tag: "Organizations",
    summary: "The organization's invitations, newest first (admins and owners)",
    responses: {
      200: { description: "invitations", schema: Schema.Struct({ invitations: Schema.Array(InvitationJson) }) },
    },
    handler: (request) =>
      Effect.gen(function* () {
        const all = yield* organizations.listInvitations(request.auth.user, param(request, "orgId"))
        const now = yield* Clock.currentTimeMillis
        return json(200, { invitations: all.map((invitation) => invitationJson(invitation, now)) })
      }),
  })

  const cancel = sessionRoute({
    method: "DELETE",
    path: "/orgs/:orgId/invitations/:id",
    tag: "Organizations",
    summary: "Cancel a pending invitation (admins and owners)",
    responses: { 200: { description: "canceled", schema: StatusJson } },
    handler: (request) =>
      Effect.as(
        organizations.cancelInvitation(
          request.auth.user,
          request.client,
          param(request, "orgId"),
          param(request, "id"),
        ),
        status("canceled"),
      ),
  })

  const accept = sessionRoute({
    method: "POST",
    path: "/orgs/invitations/accept",
    tag: "Organizations",
    summary: "Accept an invitation with the token from its mail",
    description:
      "The signed-in user's verified email must be the invited address (403 otherwise). A used, expired " +
      "(7 days) or unknown token is 400 `invalid_code`.",
    body: Schema.Struct({ token: TokenField }),
    responses: { 201: { description: "the new member", schema: MemberJson } },
    handler: (request) =>
      Effect.gen(function* () {
        yield* kit.limitByIp(request, coreRateLimits.codeIp)
        return json(201, memberJson(yield* organizations.accept(request.auth.user, request.client, request.body.token)))
      }),
  })

  const decline = sessionRoute({
    method: "POST",
    path: "/orgs/invitations/decline",
    tag: "Organizations",
    summary: "Decline an invitation with the token from its mail",
    body: Schema.Struct({ token: TokenField }),
    responses: { 200: { description: "declined", schema: StatusJson } },
    handler: (request) =>
      Effect.gen(function* () {
        yield* kit.limitByIp(request, coreRateLimits.codeIp)
        yield* organizations.decline(request.auth.user, request.client, request.body.token)
        return status("declined")
      }),
  })

  const createTeam = sessionRoute({
    method: "POST",
    path: "/orgs/:orgId/teams",
    tag: "Organizations",
    summary: "Create a team (admins and owners); the slug defaults to one made from the name",
    body: Schema.Struct({ name: Name, slug: Schema.optional(Slug) }),
    responses: { 201: { description: "the team", schema: TeamJson } },
    handler: (request) =>
      Effect.map(
        organizations.createTeam(request.auth.user, request.client, param(request, "orgId"), request.body),
        (team) => json(201, teamJson(team)),
      ),
  })

  const listTeams = sessionRoute({
    method: "GET",
    path: "/orgs/:orgId/teams",
    tag: "Organizations",
    summary: "The organization's teams, oldest first (members)",
    responses: { 200: { description: "teams", schema: Schema.Struct({ teams: Schema.Array(TeamJson) }) } },
    handler: (request) =>
      Effect.map(organizations.listTeams(request.auth.user, param(request, "orgId")), (all) =>
        json(200, { teams: all.map(teamJson) }),
      ),
  })

  const getTeam = sessionRoute({
    method: "GET",
    path: "/orgs/:orgId/teams/:teamId",
    tag: "Organizations",
    summary: "One team (members)",
    responses: { 200: { description: "the team", schema: TeamJson } },
    handler: (request) =>
      Effect.map(organizations.getTeam(request.auth.user, param(request, "orgId"), param(request, "teamId")), (team) =>
        json(200, teamJson(team)),
      ),
  })

  const updateTeam = sessionRoute({
    method: "PATCH",
    path: "/orgs/:orgId/teams/:teamId",
    tag: "Organizations",
    summary: "Rename a team or change its slug (admins and owners)",
    body: Schema.Struct({ name: Schema.optional(Name), slug: Schema.optional(Slug) }),
    responses: { 200: { description: "the team", schema: TeamJson } },
    handler: (request) =>
      Effect.map(
        organizations.updateTeam(
          request.auth.user,
          request.client,
          param(request, "orgId"),
          param(request, "teamId"),
          request.body,
        ),
        (team) => json(200, teamJson(team)),
      ),
  })

  const deleteTeam = sessionRoute({
    method: "DELETE",
    path: "/orgs/:orgId/teams/:teamId",
    tag: "Organizations",
    summary: "Delete a team (admins and owners)",
    responses: { 200: { description: "deleted", schema: StatusJson } },
    handler: (request) =>
      Effect.as(
        organizations.deleteTeam(request.auth.user, request.client, param(request, "orgId"), param(request, "teamId")),
        status("deleted"),
      ),
  })

  const addTeamMember = sessionRoute({
    method: "POST",
    path: "/orgs/:orgId/teams/:teamId/members",
    tag: "Organizations",
    summary: "Add a member of the organization to a team (admins and owners); answers the team's members",
    body: Schema.Struct({ user_id: Id }),
    responses: { 201: { description: "the team's members", schema: TeamMembersJson } },
    handler: (request) =>
      Effect.map(
        organizations.addTeamMember(
          request.auth.user,
          request.client,
          param(request, "orgId"),
          param(request, "teamId"),
          request.body.user_id,
        ),
        (all) => json(201, { members: all.map(teamMemberJson) }),
      ),
  })

  const teamMembers = sessionRoute({
    method: "GET",
    path: "/orgs/:orgId/teams/:teamId/members",
    tag: "Organizations",
    summary: "A team's members, oldest first (members)",
    responses: { 200: { description: "the team's members", schema: TeamMembersJson } },
    handler: (request) =>
      Effect.map(
        organizations.listTeamMembers(request.auth.user, param(request, "orgId"), param(request, "teamId")),
        (all) => json(200, { members: all.map(teamMemberJson) }),
      ),
  })

  const removeTeamMember = sessionRoute({
    method: "DELETE",
    path: "/orgs/:orgId/teams/:teamId/members/:userId",
    tag: "Organizations",
    summary: "Remove someone from a team (admins and owners)",
    responses: { 200: { description: "removed", schema: StatusJson } },
    handler: (request) =>
      Effect.as(
        organizations.removeTeamMember(
          request.auth.user,
          request.client,
          param(request, "orgId"),
          param(request, "teamId"),
          param(request, "userId"),
        ),
        status("removed"),
      ),
  })

  const switchOrg = sessionRoute({
    method: "POST",
    path: "/me/switch-org",
    tag: "Organizations",
    summary: "Set the session's current organization (one of the caller's); `null` clears it",
    credentials: "session",
    body: Schema.Struct({ org_id: Schema.NullOr(Id) }),
    responses: {
      200: {
        description: "the session's organization",
        schema: Schema.Struct({ session_id: Schema.String, org_id: SessionJson.fields.org_id }),
      },
    },
    handler: (request) =>
      Effect.map(
        organizations.switchOrganization(request.auth.user, request.auth.session, request.body.org_id),
        (session) => json(200, { session_id: session.id, org_id: session.orgId }),
      ),
  })

  return [
    create,
    list,
    get,
    update,
    remove,
    members,
    changeRole,
    removeMember,
    leave,
    invite,
    invitations,
    cancel,
    accept,
    decline,
    createTeam,
    listTeams,
    getTeam,
    updateTeam,
    deleteTeam,
    addTeamMember,
    teamMembers,
    removeTeamMember,
    switchOrg,
  ]
})
