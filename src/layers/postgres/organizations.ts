/** Organizations, memberships, invitations and teams. */
import { Effect, Layer } from "effect"
import * as M from "../../domain/models.js"
import {
  InvitationStore,
  MemberStore,
  type MemberWithUser,
  OrganizationStore,
  TeamMemberStore,
  TeamStore,
} from "../../services/store/organizations.js"
import { Users } from "./identity.js"
import * as Sql from "./sql.js"

export const Organizations = Sql.tableOf("authsome_organizations", M.Organization)

export const Members = Sql.tableOf("authsome_members", M.Member)

export const Invitations = Sql.tableOf("authsome_invitations", M.Invitation)

export const Teams = Sql.tableOf("authsome_teams", M.Team)

export const TeamMembers = Sql.tableOf("authsome_team_members", M.TeamMember)

const makeOrganizationStore = Effect.gen(function* () {
  const sql = yield* Sql.client
  const onReplica = yield* Sql.replicaReads
  const findOrganization = (condition: Sql.Fragment) =>
    sql`SELECT ${Organizations.select} FROM authsome_organizations WHERE ${condition}`.pipe(
      Sql.one(Organizations, "organization"),
    )

  return OrganizationStore.of({
    create: (org) =>
      sql`${Sql.insertInto(sql, Organizations, [org])} RETURNING ${Organizations.select}`.pipe(
        Sql.onUniqueViolation(Sql.slugTaken),
        Sql.returned(Organizations),
      ),
    get: (id) => findOrganization(sql`id = ${id}`),
    getForUpdate: (id) =>
      sql`SELECT ${Organizations.select} FROM authsome_organizations WHERE id = ${id} FOR UPDATE`.pipe(
        Sql.one(Organizations, "organization"),
      ),
    getBySlug: (appId, slug) => findOrganization(sql`app_id = ${appId} AND slug = ${slug}`),
    update: (id, patch, now) =>
      sql`UPDATE authsome_organizations SET ${Sql.assignments(sql, Organizations, { ...patch, updatedAt: now })}
          WHERE id = ${id} RETURNING ${Organizations.select}`.pipe(
        Sql.onUniqueViolation(Sql.slugTaken),
        Sql.one(Organizations, "organization"),
      ),
    // Members, teams, invitations and branding go with it through ON DELETE CASCADE.
    delete: (id) =>
      sql`DELETE FROM authsome_organizations WHERE id = ${id} RETURNING 1`.pipe(Sql.found("organization")),
    listByApp: (appId, page) => onReplica((sql) => Sql.listPage(sql, Organizations, [sql`app_id = ${appId}`], page)),
    listForUser: (userId) =>
      sql`SELECT ${Organizations.selectAs("o", "")}
          FROM authsome_organizations o JOIN authsome_members m ON m.org_id = o.id
          WHERE m.user_id = ${userId} ORDER BY o.id DESC`.pipe(Sql.all(Organizations)),
    // A statistic: lag-tolerant (the read replica when there is one).
    count: (appId) =>
      onReplica((sql) =>
        sql`SELECT count(*) AS count FROM authsome_organizations WHERE app_id = ${appId}`.pipe(Sql.count),
      ),
  })
})

const makeMemberStore = Effect.gen(function* () {
  const sql = yield* Sql.client
  return MemberStore.of({
    create: (member) =>
      sql`${Sql.insertInto(sql, Members, [member])} RETURNING ${Members.select}`.pipe(
        Sql.onUniqueViolation(Sql.conflict),
        Sql.returned(Members),
      ),
    get: (id) => sql`SELECT ${Members.select} FROM authsome_members WHERE id = ${id}`.pipe(Sql.one(Members, "member")),
    getByUserAndOrg: (userId, orgId) =>
      sql`SELECT ${Members.select} FROM authsome_members WHERE org_id = ${orgId} AND user_id = ${userId}`.pipe(
        Sql.one(Members, "member"),
      ),
    updateRole: (id, role, now) =>
      sql`UPDATE authsome_members SET role = ${role}, updated_at = ${now}
          WHERE id = ${id} RETURNING ${Members.select}`.pipe(Sql.one(Members, "member")),
    delete: (id) => sql`DELETE FROM authsome_members WHERE id = ${id} RETURNING 1`.pipe(Sql.found("member")),
    listByOrg: (orgId) =>
      sql`SELECT ${Members.select} FROM authsome_members WHERE org_id = ${orgId} ORDER BY id`.pipe(Sql.all(Members)),
    listWithUsers: (orgId) =>
      sql`SELECT to_jsonb(m) AS m, to_jsonb(u) AS u
          FROM authsome_members m JOIN authsome_users u ON u.id = m.user_id
          WHERE m.org_id = ${orgId} AND u.deleted_at IS NULL ORDER BY m.id`.pipe(
        Effect.map((rows) =>
          rows.map(
            (row): MemberWithUser => ({
              member: Members.decodeJson(row["m"] as Sql.Row),
              user: Users.decodeJson(row["u"] as Sql.Row),
            }),
          ),
        ),
        Sql.dieOnSqlError,
      ),
    countByRole: (orgId, role) =>
      sql`SELECT count(*) AS count FROM authsome_members WHERE org_id = ${orgId} AND role = ${role}`.pipe(Sql.count),
  })
})

const makeInvitationStore = Effect.gen(function* () {
  const sql = yield* Sql.client
  return InvitationStore.of({
    create: (invitation) =>
      sql`${Sql.insertInto(sql, Invitations, [invitation])} RETURNING ${Invitations.select}`.pipe(
        Sql.returned(Invitations),
      ),
    get: (id) =>
      sql`SELECT ${Invitations.select} FROM authsome_invitations WHERE id = ${id}`.pipe(
        Sql.one(Invitations, "invitation"),
      ),
    findByTokenHash: (tokenHash) =>
      sql`SELECT ${Invitations.select} FROM authsome_invitations WHERE token_hash = ${tokenHash}`.pipe(
        Sql.maybe(Invitations),
      ),
    listByOrg: (orgId) =>
      sql`SELECT ${Invitations.select} FROM authsome_invitations WHERE org_id = ${orgId} ORDER BY id DESC`.pipe(
        Sql.all(Invitations),
      ),
    resolve: (id, status, now) =>
      sql`UPDATE authsome_invitations SET status = ${status}, updated_at = ${now}
          WHERE id = ${id} AND status = 'pending' RETURNING 1`.pipe(Sql.changed),
    delete: (id) => sql`DELETE FROM authsome_invitations WHERE id = ${id} RETURNING 1`.pipe(Sql.found("invitation")),
  })
})

const makeTeamStore = Effect.gen(function* () {
  const sql = yield* Sql.client
  return TeamStore.of({
    create: (team) =>
      sql`${Sql.insertInto(sql, Teams, [team])} RETURNING ${Teams.select}`.pipe(
        Sql.onUniqueViolation(Sql.slugTaken),
        Sql.returned(Teams),
      ),
    get: (id) => sql`SELECT ${Teams.select} FROM authsome_teams WHERE id = ${id}`.pipe(Sql.one(Teams, "team")),
    update: (id, patch, now) =>
      sql`UPDATE authsome_teams SET ${Sql.assignments(sql, Teams, { ...patch, updatedAt: now })}
          WHERE id = ${id} RETURNING ${Teams.select}`.pipe(
        Sql.onUniqueViolation(Sql.slugTaken),
        Sql.one(Teams, "team"),
      ),
    delete: (id) => sql`DELETE FROM authsome_teams WHERE id = ${id} RETURNING 1`.pipe(Sql.found("team")),
    listByOrg: (orgId) =>
      sql`SELECT ${Teams.select} FROM authsome_teams WHERE org_id = ${orgId} ORDER BY id`.pipe(Sql.all(Teams)),
  })
})

const makeTeamMemberStore = Effect.gen(function* () {
  const sql = yield* Sql.client
  return TeamMemberStore.of({
    add: (member) =>
      sql`${Sql.insertInto(sql, TeamMembers, [member])} RETURNING ${TeamMembers.select}`.pipe(
        Sql.onUniqueViolation(Sql.conflict),
        Sql.returned(TeamMembers),
      ),
    remove: (teamId, userId) =>
      sql`DELETE FROM authsome_team_members WHERE team_id = ${teamId} AND user_id = ${userId} RETURNING 1`.pipe(
        Sql.found("team_member"),
      ),
    list: (teamId) =>
      sql`SELECT ${TeamMembers.select} FROM authsome_team_members WHERE team_id = ${teamId}
          ORDER BY created_at, user_id`.pipe(Sql.all(TeamMembers)),
    removeFromOrg: (orgId, userId) =>
      sql`WITH deleted AS (
            DELETE FROM authsome_team_members tm USING authsome_teams t
            WHERE tm.team_id = t.id AND t.org_id = ${orgId} AND tm.user_id = ${userId} RETURNING 1
          ) SELECT count(*) AS count FROM deleted`.pipe(Sql.count),
  })
})

export const organizationsLayer = Layer.mergeAll(
  Layer.effect(OrganizationStore, makeOrganizationStore),
  Layer.effect(MemberStore, makeMemberStore),
  Layer.effect(InvitationStore, makeInvitationStore),
  Layer.effect(TeamStore, makeTeamStore),
  Layer.effect(TeamMemberStore, makeTeamMemberStore),
)
