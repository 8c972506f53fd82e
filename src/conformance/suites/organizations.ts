import { Effect } from "effect"
import { describe, expect } from "vitest"
import { newId } from "../../domain/ids.js"
import type * as M from "../../domain/models.js"
import {
  BrandingStore,
  InvitationStore,
  MemberStore,
  OrganizationStore,
  Store,
  TeamMemberStore,
  TeamStore,
  UserStore,
} from "../../services/store/index.js"
import {
  at,
  hash,
  HOUR,
  makeBranding,
  makeInvitation,
  makeMember,
  makeOrg,
  makeTeam,
  makeTeamMember,
  unique,
} from "../fixtures.js"
import { countTrue, expectFailure, expectNone, getSome, type Harness, race } from "../harness.js"
import { seedMember, seedOrg, seedTenant, seedUser } from "../seed.js"

const NOW = at(HOUR)

/** A tenant, a user and an organization that user created. */
const seedOrgWithCreator = Effect.gen(function* () {
  const tenant = yield* seedTenant()
  const creator = yield* seedUser(tenant)
  const org = yield* seedOrg(creator)
  return { tenant, creator, org }
})

const seedTeam = (org: M.Organization, team: Partial<M.Team> = {}) =>
  Effect.flatMap(TeamStore, (teams) => teams.create(makeTeam(org, team))).pipe(Effect.orDie)

const seedInvitation = (org: M.Organization, inviter: M.User) =>
  Effect.flatMap(InvitationStore, (invitations) => invitations.create(makeInvitation(org, inviter)))

export const organizationsSuite = (h: Harness) => {
  describe("OrganizationStore", () => {
    h.test(
      "create returns the organization; get and getBySlug find it; unknown ones are NotFound",
      Effect.gen(function* () {
        const orgs = yield* OrganizationStore
        const tenant = yield* seedTenant()
        const creator = yield* seedUser(tenant)
        const org = makeOrg(creator, { logo: "https://img.example.com/acme.png", metadata: { size: 10 } })
        expect(yield* orgs.create(org)).toEqual(org)
        expect(yield* orgs.get(org.id)).toEqual(org)
        expect(yield* orgs.getBySlug(tenant.app.id, org.slug)).toEqual(org)
        yield* expectFailure(orgs.get(newId.organization()), "NotFound")
        yield* expectFailure(orgs.getBySlug(tenant.app.id, unique("nope")), "NotFound")
        yield* expectFailure(orgs.getBySlug((yield* seedTenant()).app.id, org.slug), "NotFound")
      }),
    )

    h.test(
      "slugs are unique per app (SlugTaken); another app may reuse them",
      Effect.gen(function* () {
        const orgs = yield* OrganizationStore
        const { org, creator } = yield* seedOrgWithCreator
        yield* expectFailure(orgs.create(makeOrg(creator, { slug: org.slug })), "SlugTaken")
        const stranger = yield* seedUser(yield* seedTenant())
        expect((yield* orgs.create(makeOrg(stranger, { slug: org.slug }))).slug).toBe(org.slug)
      }),
    )

    h.test(
      "update patches the given fields and stamps updatedAt; SlugTaken / NotFound",
      Effect.gen(function* () {
        const orgs = yield* OrganizationStore
        const { org, creator } = yield* seedOrgWithCreator
        const sibling = yield* seedOrg(creator)
        const patch = {
          name: "Acme Inc",
          slug: unique("acme"),
          logo: "https://img.example.com/new.png",
          metadata: null,
        }
        const updated = yield* orgs.update(org.id, patch, NOW)
        expect(updated).toEqual({ ...org, ...patch, updatedAt: NOW })
        expect(yield* orgs.get(org.id)).toEqual(updated)
        yield* expectFailure(orgs.update(org.id, { slug: sibling.slug }, NOW), "SlugTaken")
        yield* expectFailure(orgs.update(newId.organization(), { name: "x" }, NOW), "NotFound")
      }),
    )

    h.test(
      "listByApp pages newest first; count counts the app's organizations",
      Effect.gen(function* () {
        const orgs = yield* OrganizationStore
        const tenant = yield* seedTenant()
        const creator = yield* seedUser(tenant)
        const created: Array<M.Organization> = []
        for (let i = 0; i < 5; i++) created.push(yield* seedOrg(creator))
        yield* seedOrg(yield* seedUser(yield* seedTenant()))
        const [o1, o2, o3, o4, o5] = created.map((o) => o.id)
        const first = yield* orgs.listByApp(tenant.app.id, { limit: 2 })
        expect(first.items.map((o) => o.id)).toEqual([o5, o4])
        expect(first.nextCursor).toBe(o4)
        const second = yield* orgs.listByApp(tenant.app.id, { limit: 2, cursor: first.nextCursor })
        expect(second.items.map((o) => o.id)).toEqual([o3, o2])
        const last = yield* orgs.listByApp(tenant.app.id, { limit: 2, cursor: second.nextCursor })
        expect(last.items.map((o) => o.id)).toEqual([o1])
        expect(last.nextCursor).toBeUndefined()
        expect(yield* orgs.count(tenant.app.id)).toBe(5)
      }),
    )

    h.test(
      "listForUser returns the organizations the user is a member of, newest first",
      Effect.gen(function* () {
        const orgs = yield* OrganizationStore
        const tenant = yield* seedTenant()
        const creator = yield* seedUser(tenant)
        const member = yield* seedUser(tenant)
        const [a, b, c] = [yield* seedOrg(creator), yield* seedOrg(creator), yield* seedOrg(creator)]
        yield* seedMember(a, member)
        yield* seedMember(c, member, "admin")
        yield* seedMember(b, creator, "owner")
        expect((yield* orgs.listForUser(member.id)).map((o) => o.id)).toEqual([c.id, a.id])
        expect(yield* orgs.listForUser(newId.user())).toEqual([])
      }),
    )

    h.test(
      "delete removes the organization with its members, teams, team members, invitations and branding",
      Effect.gen(function* () {
        const [orgs, members, teams, teamMembers, invitations, branding] = yield* Effect.all([
          OrganizationStore,
          MemberStore,
          TeamStore,
          TeamMemberStore,
          InvitationStore,
          BrandingStore,
        ])
        const { org, creator } = yield* seedOrgWithCreator
        const member = yield* seedMember(org, creator, "owner")
        const team = yield* seedTeam(org)
        yield* teamMembers.add(makeTeamMember(team, creator))
        const invitation = yield* seedInvitation(org, creator)
        yield* branding.upsert(makeBranding(org))
        const survivor = yield* seedOrg(creator)
        const survivorMember = yield* seedMember(survivor, creator, "owner")

        yield* orgs.delete(org.id)
        yield* expectFailure(orgs.get(org.id), "NotFound")
        yield* expectFailure(members.get(member.id), "NotFound")
        yield* expectFailure(teams.get(team.id), "NotFound")
        expect(yield* teamMembers.list(team.id)).toEqual([])
        yield* expectFailure(invitations.get(invitation.id), "NotFound")
        yield* expectFailure(branding.get(org.id), "NotFound")
        yield* expectFailure(orgs.delete(org.id), "NotFound")
        expect(yield* members.get(survivorMember.id)).toEqual(survivorMember)
        expect((yield* orgs.listForUser(creator.id)).map((o) => o.id)).toEqual([survivor.id])
      }),
    )
  })

  describe("OrganizationStore.getForUpdate", () => {
    h.test(
      "returns the organization (NotFound if unknown); membership changes serialise on it",
      Effect.gen(function* () {
        const orgs = yield* OrganizationStore
        const members = yield* MemberStore
        const store = yield* Store
        const { tenant, org } = yield* seedOrgWithCreator
        expect(yield* orgs.getForUpdate(org.id)).toEqual(org)
        yield* expectFailure(orgs.getForUpdate(newId.organization()), "NotFound")
        const owners = yield* Effect.forEach(Array.from({ length: 5 }), () =>
          Effect.flatMap(seedUser(tenant), (user) => seedMember(org, user, "owner")),
        )
        // Each owner steps down unless they are the last one: without the lock all five would see five owners.
        const steppedDown = yield* race(owners.length, (i) =>
          store.transaction(
            Effect.gen(function* () {
              yield* orgs.getForUpdate(org.id)
              if ((yield* members.countByRole(org.id, "owner")) <= 1) return false
              yield* members.updateRole(owners[i]!.id, "admin", NOW)
              return true
            }),
          ),
        )
        expect(countTrue(steppedDown)).toBe(owners.length - 1)
        expect(yield* members.countByRole(org.id, "owner")).toBe(1)
      }),
    )
  })

  describe("MemberStore", () => {
    h.test(
      "create returns the membership; get and getByUserAndOrg find it; a second one is a Conflict",
      Effect.gen(function* () {
        const members = yield* MemberStore
        const { org, creator } = yield* seedOrgWithCreator
        const member = makeMember(org, creator, "owner")
        expect(yield* members.create(member)).toEqual(member)
        expect(yield* members.get(member.id)).toEqual(member)
        expect(yield* members.getByUserAndOrg(creator.id, org.id)).toEqual(member)
        yield* expectFailure(members.create(makeMember(org, creator, "admin")), "Conflict")
        yield* expectFailure(members.get(newId.member()), "NotFound")
        yield* expectFailure(members.getByUserAndOrg(newId.user(), org.id), "NotFound")
      }),
    )

    h.test(
      "updateRole changes the role; countByRole counts per role; unknown ids are NotFound",
      Effect.gen(function* () {
        const members = yield* MemberStore
        const { tenant, org, creator } = yield* seedOrgWithCreator
        yield* seedMember(org, creator, "owner")
        const member = yield* seedMember(org, yield* seedUser(tenant))
        yield* seedMember(org, yield* seedUser(tenant))
        expect(yield* members.countByRole(org.id, "member")).toBe(2)
        const promoted = yield* members.updateRole(member.id, "admin", NOW)
        expect(promoted).toEqual({ ...member, role: "admin", updatedAt: NOW })
        expect(yield* members.get(member.id)).toEqual(promoted)
        expect(yield* members.countByRole(org.id, "owner")).toBe(1)
        expect(yield* members.countByRole(org.id, "admin")).toBe(1)
        expect(yield* members.countByRole(org.id, "member")).toBe(1)
        yield* expectFailure(members.updateRole(newId.member(), "admin", NOW), "NotFound")
      }),
    )

    h.test(
      "listByOrg is oldest first; delete removes one membership; unknown ids are NotFound",
      Effect.gen(function* () {
        const members = yield* MemberStore
        const { tenant, org, creator } = yield* seedOrgWithCreator
        const owner = yield* seedMember(org, creator, "owner")
        const second = yield* seedMember(org, yield* seedUser(tenant))
        const third = yield* seedMember(org, yield* seedUser(tenant))
        yield* seedMember(yield* seedOrg(creator), creator)
        expect(yield* members.listByOrg(org.id)).toEqual([owner, second, third])
        yield* members.delete(second.id)
        yield* expectFailure(members.get(second.id), "NotFound")
        yield* expectFailure(members.delete(second.id), "NotFound")
        expect((yield* members.listByOrg(org.id)).map((m) => m.id)).toEqual([owner.id, third.id])
      }),
    )
  })

  describe("MemberStore.listWithUsers", () => {
    h.test(
      "lists the members oldest first with their users, leaving out deleted users and other organizations",
      Effect.gen(function* () {
        const members = yield* MemberStore
        const users = yield* UserStore
        const { tenant, org, creator } = yield* seedOrgWithCreator
        const owner = yield* seedMember(org, creator, "owner")
        const alice = yield* seedUser(tenant)
        const second = yield* seedMember(org, alice, "admin")
        const gone = yield* seedUser(tenant)
        yield* seedMember(org, gone)
        yield* users.softDelete(gone.id, NOW)
        yield* seedMember(yield* seedOrg(creator), alice)
        expect(yield* members.listWithUsers(org.id)).toEqual([
          { member: owner, user: creator },
          { member: second, user: alice },
        ])
        expect(yield* members.listWithUsers(newId.organization())).toEqual([])
      }),
    )
  })

  describe("InvitationStore", () => {
    h.test(
      "create returns the invitation; get and findByTokenHash find it; listByOrg is newest first",
      Effect.gen(function* () {
        const invitations = yield* InvitationStore
        const { org, creator } = yield* seedOrgWithCreator
        const invitation = makeInvitation(org, creator, { role: "admin" })
        expect(yield* invitations.create(invitation)).toEqual(invitation)
        expect(yield* invitations.get(invitation.id)).toEqual(invitation)
        expect(yield* getSome(invitations.findByTokenHash(invitation.tokenHash))).toEqual(invitation)
        const newer = yield* seedInvitation(org, creator)
        yield* seedInvitation(yield* seedOrg(creator), creator)
        expect(yield* invitations.listByOrg(org.id)).toEqual([newer, invitation])
        yield* expectFailure(invitations.get(newId.invitation()), "NotFound")
        yield* expectNone(invitations.findByTokenHash(hash()))
      }),
    )

    h.test(
      "resolve moves a pending invitation once; 20 concurrent resolves: exactly one true",
      Effect.gen(function* () {
        const invitations = yield* InvitationStore
        const { org, creator } = yield* seedOrgWithCreator
        const invitation = yield* seedInvitation(org, creator)
        expect(yield* invitations.resolve(invitation.id, "accepted", NOW)).toBe(true)
        expect(yield* invitations.resolve(invitation.id, "declined", NOW)).toBe(false)
        expect(yield* invitations.get(invitation.id)).toEqual({ ...invitation, status: "accepted", updatedAt: NOW })
        expect(yield* invitations.resolve(newId.invitation(), "accepted", NOW)).toBe(false)

        const raced = yield* seedInvitation(org, creator)
        const statuses = ["accepted", "declined", "canceled"] as const
        const results = yield* race(20, (i) => invitations.resolve(raced.id, statuses[i % 3]!, NOW))
        expect(countTrue(results)).toBe(1)
        expect((yield* invitations.get(raced.id)).status).toBe(statuses[results.indexOf(true) % 3])
      }),
    )

    h.test(
      "delete removes the invitation; unknown ids are NotFound",
      Effect.gen(function* () {
        const invitations = yield* InvitationStore
        const { org, creator } = yield* seedOrgWithCreator
        const invitation = yield* seedInvitation(org, creator)
        yield* invitations.delete(invitation.id)
        yield* expectFailure(invitations.get(invitation.id), "NotFound")
        yield* expectNone(invitations.findByTokenHash(invitation.tokenHash))
        yield* expectFailure(invitations.delete(invitation.id), "NotFound")
      }),
    )
  })

  describe("TeamStore", () => {
    h.test(
      "create/get; listByOrg is oldest first; unknown ids are NotFound",
      Effect.gen(function* () {
        const teams = yield* TeamStore
        const { org, creator } = yield* seedOrgWithCreator
        const team = makeTeam(org)
        expect(yield* teams.create(team)).toEqual(team)
        expect(yield* teams.get(team.id)).toEqual(team)
        const second = yield* seedTeam(org)
        yield* seedTeam(yield* seedOrg(creator))
        expect(yield* teams.listByOrg(org.id)).toEqual([team, second])
        yield* expectFailure(teams.get(newId.team()), "NotFound")
      }),
    )

    h.test(
      "slugs are unique per organization (SlugTaken); another organization may reuse them",
      Effect.gen(function* () {
        const teams = yield* TeamStore
        const { org, creator } = yield* seedOrgWithCreator
        const team = yield* seedTeam(org, { slug: "core" })
        const sibling = yield* seedTeam(org)
        yield* expectFailure(teams.create(makeTeam(org, { slug: "core" })), "SlugTaken")
        yield* expectFailure(teams.update(sibling.id, { slug: "core" }, NOW), "SlugTaken")
        expect((yield* teams.create(makeTeam(yield* seedOrg(creator), { slug: "core" }))).slug).toBe(team.slug)
      }),
    )

    h.test(
      "update patches name and slug and stamps updatedAt; delete removes the team; NotFound",
      Effect.gen(function* () {
        const teams = yield* TeamStore
        const { org } = yield* seedOrgWithCreator
        const team = yield* seedTeam(org)
        const updated = yield* teams.update(team.id, { name: "Platform", slug: "platform" }, NOW)
        expect(updated).toEqual({ ...team, name: "Platform", slug: "platform", updatedAt: NOW })
        expect(yield* teams.get(team.id)).toEqual(updated)
        yield* expectFailure(teams.update(newId.team(), { name: "x" }, NOW), "NotFound")
        yield* teams.delete(team.id)
        yield* expectFailure(teams.get(team.id), "NotFound")
        yield* expectFailure(teams.delete(team.id), "NotFound")
        expect(yield* teams.listByOrg(org.id)).toEqual([])
      }),
    )
  })

  describe("TeamMemberStore", () => {
    h.test(
      "add; list is oldest first; adding twice is a Conflict; remove; removing twice is NotFound",
      Effect.gen(function* () {
        const teamMembers = yield* TeamMemberStore
        const { tenant, org, creator } = yield* seedOrgWithCreator
        const team = yield* seedTeam(org)
        const other = yield* seedUser(tenant)
        const first = makeTeamMember(team, creator)
        expect(yield* teamMembers.add(first)).toEqual(first)
        const second = yield* teamMembers.add(makeTeamMember(team, other))
        yield* teamMembers.add(makeTeamMember(yield* seedTeam(org), other))
        expect(yield* teamMembers.list(team.id)).toEqual([first, second])
        yield* expectFailure(teamMembers.add(makeTeamMember(team, creator)), "Conflict")
        yield* teamMembers.remove(team.id, creator.id)
        expect(yield* teamMembers.list(team.id)).toEqual([second])
        yield* expectFailure(teamMembers.remove(team.id, creator.id), "NotFound")
      }),
    )

    h.test(
      "removeFromOrg removes the user from every team of that organization only, and counts them",
      Effect.gen(function* () {
        const teamMembers = yield* TeamMemberStore
        const { tenant, org, creator } = yield* seedOrgWithCreator
        const colleague = yield* seedUser(tenant)
        const [red, blue] = [yield* seedTeam(org), yield* seedTeam(org)]
        const elsewhere = yield* seedTeam(yield* seedOrg(creator))
        for (const team of [red, blue, elsewhere]) yield* teamMembers.add(makeTeamMember(team, creator))
        const kept = yield* teamMembers.add(makeTeamMember(red, colleague))
        expect(yield* teamMembers.removeFromOrg(org.id, creator.id)).toBe(2)
        expect(yield* teamMembers.list(red.id)).toEqual([kept])
        expect(yield* teamMembers.list(blue.id)).toEqual([])
        expect((yield* teamMembers.list(elsewhere.id)).map((m) => m.userId)).toEqual([creator.id])
        expect(yield* teamMembers.removeFromOrg(org.id, creator.id)).toBe(0)
      }),
    )
  })
}
