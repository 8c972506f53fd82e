/** Memory implementations of the organization stores: organizations, members, invitations, teams, team members. */
import type {
  InvitationStoreShape,
  MemberStoreShape,
  MemberWithUser,
  OrganizationPatch,
  OrganizationStoreShape,
  TeamMemberStoreShape,
  TeamPatch,
  TeamStoreShape,
} from "../../services/store/organizations.js"
import type { Engine } from "./engine.js"
import { isLive } from "./identity.js"
import { byTime, newestFirst, oldestFirst, paged, patchOf, sorted } from "./query.js"

const organizationPatch = patchOf<OrganizationPatch>({ name: true, slug: true, logo: true, metadata: true })
const teamPatch = patchOf<TeamPatch>({ name: true, slug: true })

export const makeOrganizationStore = ({ run }: Engine): OrganizationStoreShape => ({
  create: (org) => run((db) => db.insert("organizations", org), "SlugTaken"),
  get: (id) => run((db) => db.get("organizations", id), "NotFound"),
  // Every operation is serialised already: nothing else can change the organization while a transaction runs.
  getForUpdate: (id) => run((db) => db.get("organizations", id), "NotFound"),
  getBySlug: (appId, slug) => run((db) => db.getBy("organizations", "slug", appId, slug), "NotFound"),
  update: (id, patch, now) =>
    run(
      (db) => db.update("organizations", db.get("organizations", id), { ...organizationPatch(patch), updatedAt: now }),
      "NotFound",
      "SlugTaken",
    ),
  delete: (id) => run((db) => db.delete("organizations", db.get("organizations", id)), "NotFound"),
  listByApp: (appId, page) =>
    run((db) =>
      paged(
        db.select("organizations", (org) => org.appId === appId),
        page,
      ),
    ),
  listForUser: (userId) =>
    run((db) => {
      const orgIds = new Set(db.select("members", (member) => member.userId === userId).map((member) => member.orgId))
      return sorted(
        db.select("organizations", (org) => orgIds.has(org.id)),
        newestFirst,
      )
    }),
  count: (appId) => run((db) => db.count("organizations", (org) => org.appId === appId)),
})

export const makeMemberStore = ({ run }: Engine): MemberStoreShape => ({
  create: (member) => run((db) => db.insert("members", member), "Conflict"),
  get: (id) => run((db) => db.get("members", id), "NotFound"),
  getByUserAndOrg: (userId, orgId) => run((db) => db.getBy("members", "orgUser", orgId, userId), "NotFound"),
  updateRole: (id, role, now) =>
    run((db) => db.update("members", db.get("members", id), { role, updatedAt: now }), "NotFound"),
  delete: (id) => run((db) => db.delete("members", db.get("members", id)), "NotFound"),
  listByOrg: (orgId) =>
    run((db) =>
      sorted(
        db.select("members", (member) => member.orgId === orgId),
        oldestFirst,
      ),
    ),
  listWithUsers: (orgId) =>
    run((db) =>
      sorted(
        db.select("members", (member) => member.orgId === orgId),
        oldestFirst,
      ).flatMap((member): Array<MemberWithUser> => {
        const user = db.find("users", member.userId)
        return isLive(user) ? [{ member, user }] : []
      }),
    ),
  countByRole: (orgId, role) =>
    run((db) => db.count("members", (member) => member.orgId === orgId && member.role === role)),
})

export const makeInvitationStore = ({ run, find }: Engine): InvitationStoreShape => ({
  create: (invitation) => run((db) => db.insert("invitations", invitation)),
  get: (id) => run((db) => db.get("invitations", id), "NotFound"),
  findByTokenHash: (tokenHash) => find((db) => db.findBy("invitations", "tokenHash", tokenHash)),
  listByOrg: (orgId) =>
    run((db) =>
      sorted(
        db.select("invitations", (invitation) => invitation.orgId === orgId),
        newestFirst,
      ),
    ),
  resolve: (id, status, now) =>
    run((db) => {
      const invitation = db.find("invitations", id)
      if (invitation === undefined || invitation.status !== "pending") return false
      db.update("invitations", invitation, { status, updatedAt: now })
      return true
    }),
  delete: (id) => run((db) => db.delete("invitations", db.get("invitations", id)), "NotFound"),
})

export const makeTeamStore = ({ run }: Engine): TeamStoreShape => ({
  create: (team) => run((db) => db.insert("teams", team), "SlugTaken"),
  get: (id) => run((db) => db.get("teams", id), "NotFound"),
  update: (id, patch, now) =>
    run(
      (db) => db.update("teams", db.get("teams", id), { ...teamPatch(patch), updatedAt: now }),
      "NotFound",
      "SlugTaken",
    ),
  delete: (id) => run((db) => db.delete("teams", db.get("teams", id)), "NotFound"),
  listByOrg: (orgId) =>
    run((db) =>
      sorted(
        db.select("teams", (team) => team.orgId === orgId),
        oldestFirst,
      ),
    ),
})

export const makeTeamMemberStore = ({ run }: Engine): TeamMemberStoreShape => ({
  add: (member) => run((db) => db.insert("teamMembers", member), "Conflict"),
  remove: (teamId, userId) => run((db) => db.delete("teamMembers", db.get("teamMembers", teamId, userId)), "NotFound"),
  list: (teamId) =>
    run((db) =>
      sorted(
        db.select("teamMembers", (member) => member.teamId === teamId),
        byTime(
          (member) => member.createdAt,
          (member) => member.userId,
        ),
      ),
    ),
  removeFromOrg: (orgId, userId) =>
    run((db) => {
      const teamIds = new Set(db.select("teams", (team) => team.orgId === orgId).map((team) => team.id))
      return db.deleteWhere("teamMembers", (member) => member.userId === userId && teamIds.has(member.teamId))
    }),
})
