/**
 * Organizations, usable without HTTP: organizations with members (`owner` > `admin` > `member`), mailed
 * single-use invitations, teams, and the session's current organization.
 *
 * An organization is visible only to its members: to anyone else every organization route answers `NotFound`, so
 * its existence never leaks. Membership changes of one organization serialise on its row (`getForUpdate`), which
 * keeps the last owner from leaving or being demoted whatever the concurrency. Every change is recorded through
 * `Events` in its transaction.
 */
import { Clock, Duration, Effect, Option } from "effect"
import { Conflict, EmailNotVerified, Forbidden, InvalidCode, InvalidRequest, NotFound } from "../../domain/errors.js"
import {
  type InvitationId,
  isId,
  type MemberId,
  newId,
  type OrganizationId,
  type TeamId,
  type UserId,
} from "../../domain/ids.js"
import type * as M from "../../domain/models.js"
import { Accounts } from "../../services/accounts.js"
import { Authorization } from "../../services/authorization.js"
import { AuthConfig } from "../../services/config.js"
import type { ClientContext } from "../../services/context.js"
import { randomToken, sha256Hex } from "../../services/crypto.js"
import { Events } from "../../services/events.js"
import { invitationEmail, MailQueue } from "../../services/mail/index.js"
import {
  InvitationStore,
  MemberStore,
  type MemberWithUser,
  OrganizationStore,
  RbacStore,
  SessionStore,
  Store,
  TeamMemberStore,
  TeamStore,
  UserStore,
} from "../../services/store/index.js"
import { OrganizationSettings } from "./options.js"

const rank: Record<M.OrgRole, number> = { member: 1, admin: 2, owner: 3 }

/** The caller's view of one organization: it, and their membership. */
export interface Membership {
  readonly org: M.Organization
  readonly member: M.Member
}

export interface NewOrganization {
  readonly name: string
  readonly slug: string
  readonly logo?: string | null | undefined
  readonly metadata?: M.Metadata | undefined
}

export type OrganizationChanges = Partial<Pick<M.Organization, "name" | "logo" | "metadata">>

export interface NewTeam {
  readonly name: string
  readonly slug?: string | undefined
}

/** A team member with their user. */
export interface TeamMemberWithUser {
  readonly teamMember: M.TeamMember
  readonly user: M.User
}

const orgNotFound = () => new NotFound({ entity: "organization" })
const invalidInvitation = () => new InvalidCode({ message: "invalid, expired or already used invitation" })

/** `My Team!` → `my-team` (a team's default slug). */
const slugify = (name: string) =>
  name
    .normalize("NFKD")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 63)

export class Organizations extends Effect.Service<Organizations>()("authsome/Organizations", {
  effect: Effect.gen(function* () {
    const config = yield* AuthConfig
    const settings = yield* OrganizationSettings
    const store = yield* Store
    const orgs = yield* OrganizationStore
    const members = yield* MemberStore
    const invitations = yield* InvitationStore
    const teams = yield* TeamStore
    const teamMembers = yield* TeamMemberStore
    const users = yield* UserStore
    const sessions = yield* SessionStore
    const rbac = yield* RbacStore
    const authorization = yield* Authorization
    const accounts = yield* Accounts
    const events = yield* Events
    const mail = yield* MailQueue
    const now = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

    // --- membership ------------------------------------------------------------------------------------------------

    /** The organization and the user's membership of it; `NotFound` for anyone else (never a hint that it exists). */
    const membership = (user: M.User, orgId: string): Effect.Effect<Membership, NotFound> =>
      isId("organization", orgId)
        ? Effect.gen(function* () {
            const org = yield* orgs.get(orgId as OrganizationId).pipe(Effect.mapError(orgNotFound))
            if (org.appId !== user.appId) return yield* orgNotFound()
            const member = yield* members.getByUserAndOrg(user.id, org.id).pipe(Effect.mapError(orgNotFound))
            return { org, member }
          })
        : Effect.fail(orgNotFound())

    /** `membership`, requiring at least `role` (a member below it gets `Forbidden`: they may know the org exists). */
    const membershipWith = (user: M.User, orgId: string, role: M.OrgRole) =>
      Effect.flatMap(membership(user, orgId), (found) =>
        rank[found.member.role] >= rank[role]
          ? Effect.succeed(found)
          : Effect.fail(new Forbidden({ message: `needs the organization role ${role}` })),
      )

    /**
     * In one transaction, with the organization locked: the caller's membership read again (it may have changed
     * since the request began), then `body`.
     */
    const lockedChange = <A, E>(
      user: M.User,
      orgId: string,
      role: M.OrgRole,
      body: (current: Membership) => Effect.Effect<A, E>,
    ) =>
      Effect.flatMap(membershipWith(user, orgId, role), ({ org }) =>
        store.transaction(
          Effect.gen(function* () {
            yield* orgs.getForUpdate(org.id).pipe(Effect.mapError(orgNotFound))
            return yield* body(yield* membershipWith(user, org.id, role))
          }),
        ),
      )

    /** Fails with `Conflict` when `member` is the organization's last owner. */
    const ensureNotLastOwner = (member: M.Member, what: string) =>
      member.role !== "owner"
        ? Effect.void
        : Effect.flatMap(members.countByRole(member.orgId, "owner"), (owners) =>
            owners <= 1 ? Effect.fail(new Conflict({ message: `the last owner cannot ${what}` })) : Effect.void,
          )

    /** What goes with a membership: the user's teams and roles in the org, and the org as their sessions' current one. */
    const endMembership = (member: M.Member, at: Date) =>
      Effect.all(
        [
          members.delete(member.id),
          teamMembers.removeFromOrg(member.orgId, member.userId),
          rbac.unassignInOrg(member.userId, member.orgId),
          sessions.clearOrganization(member.userId, member.orgId, at),
        ],
        { discard: true },
      )

    // --- organizations ---------------------------------------------------------------------------------------------

    /** Creates the organization with its creator as `owner`. A slug taken in the app is `SlugTaken`. */
    const create = (user: M.User, client: ClientContext, input: NewOrganization, scopes?: ReadonlyArray<string>) =>
      Effect.gen(function* () {
        if (!settings.allowUserToCreate) {
          yield* authorization.ensure({ userId: user.id, appId: user.appId, resource: "org", action: "create", scopes })
        }
        const at = yield* now
        return yield* store.transaction(
          Effect.gen(function* () {
            const org = yield* orgs.create({
              id: newId.organization(),
              appId: user.appId,
              envId: user.envId,
              name: input.name,
              slug: input.slug,
              logo: input.logo ?? null,
              metadata: input.metadata ?? null,
              createdBy: user.id,
              createdAt: at,
              updatedAt: at,
            })
            yield* members.create({
              id: newId.member(),
              appId: org.appId,
              orgId: org.id,
              userId: user.id,
              role: "owner",
              createdAt: at,
              updatedAt: at,
            })
            yield* events.emit(client, {
              type: "org.created",
              userId: user.id,
              metadata: { org_id: org.id, name: org.name, slug: org.slug },
            })
            return org
          }),
        )
      })

    const listForUser = (user: M.User) =>
      Effect.map(orgs.listForUser(user.id), (all) => all.filter((org) => org.appId === user.appId))

    const get = (user: M.User, orgId: string) => Effect.map(membership(user, orgId), ({ org }) => org)

    /** Admins and owners. */
    const update = (user: M.User, client: ClientContext, orgId: string, changes: OrganizationChanges) =>
      Effect.flatMap(membershipWith(user, orgId, "admin"), ({ org }) =>
        store.transaction(
          Effect.gen(function* () {
            const updated = yield* orgs.update(org.id, changes, yield* now).pipe(Effect.mapError(orgNotFound))
            yield* events.emit(client, {
              type: "org.updated",
              userId: user.id,
              metadata: { org_id: org.id, fields: Object.keys(changes) },
            })
            return updated
          }),
        ),
      )

    /** Owners only. Members, teams, invitations, branding and org-scoped roles go with it, in one transaction. */
    const remove = (user: M.User, client: ClientContext, orgId: string) =>
      lockedChange(user, orgId, "owner", ({ org }) =>
        Effect.zipRight(
          orgs.delete(org.id).pipe(Effect.mapError(orgNotFound)),
          events.emit(client, {
            type: "org.deleted",
            userId: user.id,
            metadata: { org_id: org.id, name: org.name, slug: org.slug },
          }),
        ),
      )

    // --- members ---------------------------------------------------------------------------------------------------

    const listMembers = (user: M.User, orgId: string) =>
      Effect.flatMap(membership(user, orgId), ({ org }) => members.listWithUsers(org.id))

    const memberOf = (org: M.Organization, memberId: string) =>
      isId("member", memberId)
        ? members.get(memberId as MemberId).pipe(
            Effect.filterOrFail(
              (member) => member.orgId === org.id,
              () => new NotFound({ entity: "member" }),
            ),
          )
        : Effect.fail(new NotFound({ entity: "member" }))

    const withUser = (member: M.Member) =>
      Effect.map(users.get(member.userId).pipe(Effect.orDie), (user): MemberWithUser => ({ member, user }))

    /**
     * Changes a member's role (admins and owners). Only an owner makes or unmakes owners; the last owner cannot be
     * demoted (`Conflict`).
     */
    const changeRole = (user: M.User, client: ClientContext, orgId: string, memberId: string, role: M.OrgRole) =>
      Effect.flatMap(
        lockedChange(user, orgId, "admin", ({ org, member: actor }) =>
          Effect.gen(function* () {
            const target = yield* memberOf(org, memberId)
            if ((target.role === "owner" || role === "owner") && actor.role !== "owner") {
              return yield* new Forbidden({ message: "only an owner can make or change an owner" })
            }
            if (target.role === role) return target
            if (role !== "owner") yield* ensureNotLastOwner(target, "be demoted")
            const updated = yield* members.updateRole(target.id, role, yield* now)
            yield* events.emit(client, {
              type: "org.member.role_changed",
              userId: target.userId,
              actorId: user.id,
              metadata: { org_id: org.id, member_id: target.id, from: target.role, to: role },
            })
            return updated
          }),
        ),
        withUser,
      )

    /** Removes a member (admins and owners; only an owner removes an owner; never the last owner). */
    const removeMember = (user: M.User, client: ClientContext, orgId: string, memberId: string) =>
      lockedChange(user, orgId, "admin", ({ org, member: actor }) =>
        Effect.gen(function* () {
          const target = yield* memberOf(org, memberId)
          if (target.role === "owner" && actor.role !== "owner") {
            return yield* new Forbidden({ message: "only an owner can remove an owner" })
          }
          yield* ensureNotLastOwner(target, "be removed")
          yield* endMembership(target, yield* now)
          yield* events.emit(client, {
            type: "org.member.removed",
            userId: target.userId,
            actorId: user.id,
            metadata: { org_id: org.id, member_id: target.id, role: target.role },
          })
        }),
      )

    /** The caller leaves; the last owner cannot (`Conflict`). */
    const leave = (user: M.User, client: ClientContext, orgId: string) =>
      lockedChange(user, orgId, "member", ({ org, member }) =>
        Effect.gen(function* () {
          yield* ensureNotLastOwner(member, "leave")
          yield* endMembership(member, yield* now)
          yield* events.emit(client, {
            type: "org.member.removed",
            userId: user.id,
            metadata: { org_id: org.id, member_id: member.id, role: member.role, reason: "left" },
          })
        }),
      )

    // --- invitations -----------------------------------------------------------------------------------------------

    /**
     * Invites `email` (admins and owners; only an owner invites an owner) and mails a single-use link, replacing
     * any pending invitation of that address. Someone already a member is a `Conflict`.
     */
    const invite = (user: M.User, client: ClientContext, orgId: string, email: string, role: M.OrgRole) =>
      lockedChange(user, orgId, "admin", ({ org, member: actor }) =>
        Effect.gen(function* () {
          if (role === "owner" && actor.role !== "owner") {
            return yield* new Forbidden({ message: "only an owner can invite an owner" })
          }
          const existing = yield* Effect.option(users.getByEmail(org.appId, org.envId, email))
          if (
            Option.isSome(existing) &&
            Option.isSome(yield* Effect.option(members.getByUserAndOrg(existing.value.id, org.id)))
          ) {
            return yield* new Conflict({ message: "already a member of the organization" })
          }
          const at = yield* now
          for (const previous of yield* invitations.listByOrg(org.id)) {
            if (previous.email === email && previous.status === "pending") {
              yield* invitations.resolve(previous.id, "canceled", at)
            }
          }
          const token = randomToken()
          const invitation = yield* invitations.create({
            id: newId.invitation(),
            appId: org.appId,
            orgId: org.id,
            email,
            role,
            inviterId: user.id,
            status: "pending",
            tokenHash: sha256Hex(token),
            expiresAt: new Date(at.getTime() + Duration.toMillis(settings.invitationTtl)),
            createdAt: at,
            updatedAt: at,
          })
          const inviter = [user.firstName, user.lastName].filter((part) => part).join(" ") || user.email
          yield* mail.enqueue({
            appId: org.appId,
            envId: org.envId,
            type: "org_invitation",
            to: email,
            ...invitationEmail({
              appName: config.mail.appName ?? config.appId,
              organizationName: org.name,
              inviter,
              role,
              link: accounts.link("/accept-invitation", token),
              expiresInDays: Duration.toHours(settings.invitationTtl) / 24,
            }),
          })
          yield* events.emit(client, {
            type: "org.member.invited",
            userId: user.id,
            metadata: { org_id: org.id, invitation_id: invitation.id, email, role },
          })
          return invitation
        }),
      )

    const listInvitations = (user: M.User, orgId: string) =>
      Effect.flatMap(membershipWith(user, orgId, "admin"), ({ org }) => invitations.listByOrg(org.id))

    /** Cancels a pending invitation (admins and owners); one no longer pending is a `Conflict`. */
    const cancelInvitation = (user: M.User, client: ClientContext, orgId: string, invitationId: string) =>
      lockedChange(user, orgId, "admin", ({ org }) =>
        Effect.gen(function* () {
          const invitation = isId("invitation", invitationId)
            ? yield* Effect.option(invitations.get(invitationId as InvitationId))
            : Option.none<M.Invitation>()
          if (Option.isNone(invitation) || invitation.value.orgId !== org.id) {
            return yield* new NotFound({ entity: "invitation" })
          }
          if (!(yield* invitations.resolve(invitation.value.id, "canceled", yield* now))) {
            return yield* new Conflict({ message: "the invitation is no longer pending" })
          }
          yield* events.emit(client, {
            type: "org.invitation.canceled",
            userId: user.id,
            metadata: { org_id: org.id, invitation_id: invitation.value.id },
          })
        }),
      )

    /**
     * The pending, unexpired invitation of `token` in the caller's app, addressed to the caller's verified email.
     * Unknown, used, expired or another app's: `InvalidCode`; someone else's: `Forbidden`.
     */
    const invitationFor = (user: M.User, client: ClientContext, token: string) =>
      Effect.gen(function* () {
        const found = yield* invitations.findByTokenHash(sha256Hex(token))
        const at = yield* now
        if (
          Option.isNone(found) ||
          found.value.appId !== client.app.id ||
          found.value.status !== "pending" ||
          found.value.expiresAt.getTime() <= at.getTime()
        ) {
          return yield* invalidInvitation()
        }
        if (found.value.email !== user.email) {
          return yield* new Forbidden({ message: "the invitation is for another email address" })
        }
        if (!user.emailVerified) return yield* new EmailNotVerified()
        return found.value
      })

    /** Accepts an invitation: the caller becomes a member with its role. A second use is `InvalidCode`. */
    const accept = (user: M.User, client: ClientContext, token: string) =>
      Effect.gen(function* () {
        const invitation = yield* invitationFor(user, client, token)
        const member = yield* store.transaction(
          Effect.gen(function* () {
            const org = yield* orgs.getForUpdate(invitation.orgId).pipe(Effect.mapError(invalidInvitation))
            const at = yield* now
            if (!(yield* invitations.resolve(invitation.id, "accepted", at))) return yield* invalidInvitation()
            const existing = yield* Effect.option(members.getByUserAndOrg(user.id, org.id))
            if (Option.isSome(existing)) return yield* new Conflict({ message: "already a member of the organization" })
            const member = yield* members.create({
              id: newId.member(),
              appId: org.appId,
              orgId: org.id,
              userId: user.id,
              role: invitation.role,
              createdAt: at,
              updatedAt: at,
            })
            yield* events.emit(client, {
              type: "org.member.joined",
              userId: user.id,
              metadata: { org_id: org.id, member_id: member.id, role: member.role, invitation_id: invitation.id },
            })
            return member
          }),
        )
        return { member, user } satisfies MemberWithUser
      })

    const decline = (user: M.User, client: ClientContext, token: string) =>
      Effect.gen(function* () {
        const invitation = yield* invitationFor(user, client, token)
        yield* store.transaction(
          Effect.gen(function* () {
            if (!(yield* invitations.resolve(invitation.id, "declined", yield* now))) return yield* invalidInvitation()
            yield* events.emit(client, {
              type: "org.invitation.declined",
              userId: user.id,
              metadata: { org_id: invitation.orgId, invitation_id: invitation.id },
            })
          }),
        )
      })

    // --- teams -----------------------------------------------------------------------------------------------------

    const teamOf = (org: M.Organization, teamId: string) =>
      isId("team", teamId)
        ? teams.get(teamId as TeamId).pipe(
            Effect.filterOrFail(
              (team) => team.orgId === org.id,
              () => new NotFound({ entity: "team" }),
            ),
          )
        : Effect.fail(new NotFound({ entity: "team" }))

    const teamSlug = (input: NewTeam) => {
      const slug = input.slug ?? slugify(input.name)
      return slug === ""
        ? Effect.fail(
            new InvalidRequest({
              message: "a slug is needed",
              details: [{ path: "slug", message: "cannot be derived from the name; give one" }],
            }),
          )
        : Effect.succeed(slug)
    }

    /** Admins and owners; the slug (by default from the name) is unique in the organization (`SlugTaken`). */
    const createTeam = (user: M.User, client: ClientContext, orgId: string, input: NewTeam) =>
      Effect.gen(function* () {
        const { org } = yield* membershipWith(user, orgId, "admin")
        const slug = yield* teamSlug(input)
        const at = yield* now
        return yield* store.transaction(
          Effect.tap(
            teams.create({
              id: newId.team(),
              appId: org.appId,
              orgId: org.id,
              name: input.name,
              slug,
              createdAt: at,
              updatedAt: at,
            }),
            (team) =>
              events.emit(client, {
                type: "org.team.created",
                userId: user.id,
                metadata: { org_id: org.id, team_id: team.id },
              }),
          ),
        )
      })

    const listTeams = (user: M.User, orgId: string) =>
      Effect.flatMap(membership(user, orgId), ({ org }) => teams.listByOrg(org.id))

    const getTeam = (user: M.User, orgId: string, teamId: string) =>
      Effect.flatMap(membership(user, orgId), ({ org }) => teamOf(org, teamId))

    const updateTeam = (
      user: M.User,
      client: ClientContext,
      orgId: string,
      teamId: string,
      changes: { readonly name?: string | undefined; readonly slug?: string | undefined },
    ) =>
      Effect.gen(function* () {
        const { org } = yield* membershipWith(user, orgId, "admin")
        const team = yield* teamOf(org, teamId)
        const patch = {
          ...(changes.name === undefined ? {} : { name: changes.name }),
          ...(changes.slug === undefined ? {} : { slug: changes.slug }),
        }
        return yield* store.transaction(
          Effect.gen(function* () {
            const updated = yield* teams.update(team.id, patch, yield* now)
            yield* events.emit(client, {
              type: "org.team.updated",
              userId: user.id,
              metadata: { org_id: org.id, team_id: team.id, fields: Object.keys(patch) },
            })
            return updated
          }),
        )
      })

    const deleteTeam = (user: M.User, client: ClientContext, orgId: string, teamId: string) =>
      Effect.gen(function* () {
        const { org } = yield* membershipWith(user, orgId, "admin")
        const team = yield* teamOf(org, teamId)
        yield* store.transaction(
          Effect.zipRight(
            teams.delete(team.id),
            events.emit(client, {
              type: "org.team.deleted",
              userId: user.id,
              metadata: { org_id: org.id, team_id: team.id },
            }),
          ),
        )
      })

    /** The team's members with their users (a team member is always an org member). */
    const teamMembersOf = (org: M.Organization, team: M.Team) =>
      Effect.map(Effect.all([teamMembers.list(team.id), members.listWithUsers(org.id)]), ([inTeam, inOrg]) => {
        const usersById = new Map(inOrg.map(({ user }) => [user.id, user]))
        return inTeam.flatMap((teamMember): Array<TeamMemberWithUser> => {
          const user = usersById.get(teamMember.userId)
          return user ? [{ teamMember, user }] : []
        })
      })

    const listTeamMembers = (user: M.User, orgId: string, teamId: string) =>
      Effect.gen(function* () {
        const { org } = yield* membership(user, orgId)
        return yield* teamMembersOf(org, yield* teamOf(org, teamId))
      })

    /** Adds an org member to a team (admins and owners); someone outside the organization is an invalid request. */
    const addTeamMember = (user: M.User, client: ClientContext, orgId: string, teamId: string, userId: string) =>
      Effect.gen(function* () {
        const { org } = yield* membershipWith(user, orgId, "admin")
        const team = yield* teamOf(org, teamId)
        const notMember = new InvalidRequest({
          message: "a team member must be a member of the organization",
          details: [{ path: "user_id", message: "is not a member of the organization" }],
        })
        if (!isId("user", userId)) return yield* notMember
        yield* members.getByUserAndOrg(userId as UserId, org.id).pipe(Effect.mapError(() => notMember))
        yield* store.transaction(
          Effect.zipRight(
            teamMembers.add({ teamId: team.id, userId: userId as UserId, appId: org.appId, createdAt: yield* now }),
            events.emit(client, {
              type: "org.team.member_added",
              userId: userId as UserId,
              actorId: user.id,
              metadata: { org_id: org.id, team_id: team.id },
            }),
          ),
        )
        return yield* teamMembersOf(org, team)
      })

    const removeTeamMember = (user: M.User, client: ClientContext, orgId: string, teamId: string, userId: string) =>
      Effect.gen(function* () {
        const { org } = yield* membershipWith(user, orgId, "admin")
        const team = yield* teamOf(org, teamId)
        if (!isId("user", userId)) return yield* new NotFound({ entity: "team_member" })
        yield* store.transaction(
          Effect.zipRight(
            teamMembers.remove(team.id, userId as UserId),
            events.emit(client, {
              type: "org.team.member_removed",
              userId: userId as UserId,
              actorId: user.id,
              metadata: { org_id: org.id, team_id: team.id },
            }),
          ),
        )
      })

    // --- the session's organization --------------------------------------------------------------------------------

    /** Makes `orgId` (one of the user's organizations) the session's current one; `null` clears it. */
    const switchOrganization = (user: M.User, session: M.Session, orgId: string | null) =>
      Effect.gen(function* () {
        const org = orgId === null ? null : (yield* membership(user, orgId)).org
        return yield* sessions.setOrganization(session.id, org?.id ?? null, yield* now)
      })

    return {
      membership,
      create,
      listForUser,
      get,
      update,
      remove,
      listMembers,
      changeRole,
      removeMember,
      leave,
      invite,
      listInvitations,
      cancelInvitation,
      accept,
      decline,
      createTeam,
      listTeams,
      getTeam,
      updateTeam,
      deleteTeam,
      listTeamMembers,
      addTeamMember,
      removeTeamMember,
      switchOrganization,
    } as const
  }),
}) {}
