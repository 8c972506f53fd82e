/** Memory implementations of the tenancy stores (apps, environments and per-app / per-organization settings). */
import { Conflict } from "../../domain/errors.js"
import type {
  AppPatch,
  AppSessionConfigStoreShape,
  AppStoreShape,
  BrandingStoreShape,
  EnvironmentPatch,
  EnvironmentStoreShape,
  FormConfigStoreShape,
} from "../../services/store/tenancy.js"
import type { Engine } from "./engine.js"
import { newestFirst, oldestFirst, patchOf, replacingAllBut, sorted } from "./query.js"

const appPatch = patchOf<AppPatch>({ name: true, slug: true, logo: true, metadata: true })
const environmentPatch = patchOf<EnvironmentPatch>({
  name: true,
  slug: true,
  color: true,
  description: true,
  settings: true,
  metadata: true,
})

export const makeAppStore = ({ run }: Engine): AppStoreShape => ({
  create: (app) => run((db) => db.insert("apps", app), "SlugTaken", "Conflict"),
  get: (id) => run((db) => db.get("apps", id), "NotFound"),
  getBySlug: (slug) => run((db) => db.getBy("apps", "slug", slug), "NotFound"),
  getByPublishableKey: (publishableKey) => run((db) => db.getBy("apps", "publishableKey", publishableKey), "NotFound"),
  list: () => run((db) => sorted(db.select("apps"), newestFirst)),
  update: (id, patch, now) =>
    run((db) => db.update("apps", db.get("apps", id), { ...appPatch(patch), updatedAt: now }), "NotFound", "SlugTaken"),
  delete: (id) => run((db) => db.delete("apps", db.get("apps", id)), "NotFound"),
})

export const makeEnvironmentStore = ({ run }: Engine): EnvironmentStoreShape => ({
  create: (env) => run((db) => db.insert("environments", env), "SlugTaken", "Conflict"),
  get: (id) => run((db) => db.get("environments", id), "NotFound"),
  getBySlug: (appId, slug) => run((db) => db.getBy("environments", "slug", appId, slug), "NotFound"),
  getDefault: (appId) => run((db) => db.getBy("environments", "default", appId), "NotFound"),
  list: (appId) =>
    run((db) =>
      sorted(
        db.select("environments", (env) => env.appId === appId),
        oldestFirst,
      ),
    ),
  update: (id, patch, now) =>
    run(
      (db) => db.update("environments", db.get("environments", id), { ...environmentPatch(patch), updatedAt: now }),
      "NotFound",
      "SlugTaken",
    ),
  delete: (id) =>
    run(
      (db) => {
        const env = db.get("environments", id)
        if (env.isDefault) throw new Conflict({ message: "the default environment cannot be deleted" })
        db.delete("environments", env)
      },
      "NotFound",
      "Conflict",
    ),
  setDefault: (id, now) =>
    run((db) => {
      const env = db.get("environments", id)
      // Clear the old default first: the partial unique index allows one default per app at any moment.
      const previous = db.findBy("environments", "default", env.appId)
      if (previous !== undefined && previous.id !== id) {
        db.update("environments", previous, { isDefault: false, updatedAt: now })
      }
      return db.update("environments", env, { isDefault: true, updatedAt: now })
    }, "NotFound"),
})

export const makeAppSessionConfigStore = ({ run }: Engine): AppSessionConfigStoreShape => ({
  get: (appId) => run((db) => db.getBy("appSessionConfigs", "app", appId), "NotFound"),
  upsert: (config) =>
    run((db) => db.upsert("appSessionConfigs", "app", config, replacingAllBut(config, "id", "createdAt"))),
  delete: (appId) =>
    run((db) => db.delete("appSessionConfigs", db.getBy("appSessionConfigs", "app", appId)), "NotFound"),
})

export const makeFormConfigStore = ({ run }: Engine): FormConfigStoreShape => ({
  get: (appId, formType) => run((db) => db.getBy("formConfigs", "formType", appId, formType), "NotFound"),
  save: ({ appId, formType, fields, active }, newId, now) =>
    run((db) => {
      const existing = db.findBy("formConfigs", "formType", appId, formType)
      return existing === undefined
        ? db.insert("formConfigs", {
            id: newId,
            appId,
            formType,
            fields,
            active,
            version: 1,
            createdAt: now,
            updatedAt: now,
          })
        : db.update("formConfigs", existing, { fields, active, version: existing.version + 1, updatedAt: now })
    }),
  delete: (appId, formType) =>
    run((db) => db.delete("formConfigs", db.getBy("formConfigs", "formType", appId, formType)), "NotFound"),
  list: (appId) =>
    run((db) =>
      sorted(
        db.select("formConfigs", (form) => form.appId === appId),
        oldestFirst,
      ),
    ),
})

export const makeBrandingStore = ({ run }: Engine): BrandingStoreShape => ({
  get: (orgId) => run((db) => db.getBy("brandingConfigs", "org", orgId), "NotFound"),
  upsert: (config) =>
    run((db) => db.upsert("brandingConfigs", "org", config, replacingAllBut(config, "id", "createdAt"))),
  delete: (orgId) => run((db) => db.delete("brandingConfigs", db.getBy("brandingConfigs", "org", orgId)), "NotFound"),
})
