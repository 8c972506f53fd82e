/**
 * A plugin written outside the package, with public imports only (`authsome-ts`, `authsome-ts/plugin`): signed-in
 * users keep bookmarks. It adds a table (its own migration group), a store on both backends, two routes and an
 * error of its own — the same parts the built-in plugins have.
 */
import { Clock, Context, Data, Effect, Schema } from "effect"
import { Ids, type Models } from "authsome-ts"
import {
  cascade,
  ddl,
  declareError,
  definePlugin,
  json,
  type MemoryEngine,
  memoryTable,
  newestFirst,
  ownedByApp,
  sessionRoute,
  Sql,
  sorted,
  storeLayer,
} from "authsome-ts/plugin"

// --- the table -----------------------------------------------------------------------------------------------------

const BookmarkId = Ids.defineId("abmk", "BookmarkId")

export interface Bookmark {
  readonly id: typeof BookmarkId.schema.Type
  readonly appId: Models.User["appId"]
  readonly userId: Models.User["id"]
  readonly url: string
  readonly title: string
  readonly createdAt: Date
}

export const bookmarkMigrations = {
  name: "example-bookmarks",
  migrations: [
    ddl(1, "create_bookmarks", [
      `CREATE TABLE example_bookmarks (
        id text PRIMARY KEY,
        app_id text NOT NULL REFERENCES authsome_apps (id) ON DELETE CASCADE,
        user_id text NOT NULL REFERENCES authsome_users (id) ON DELETE CASCADE,
        url text NOT NULL,
        title text NOT NULL,
        created_at timestamptz NOT NULL
      )`,
      "CREATE INDEX example_bookmarks_user_idx ON example_bookmarks (user_id, id DESC)",
    ]),
  ],
}

// --- the store -----------------------------------------------------------------------------------------------------

export class BookmarkStore extends Context.Tag("example/BookmarkStore")<
  BookmarkStore,
  {
    readonly add: (bookmark: Bookmark) => Effect.Effect<void>
    /** Newest first. */
    readonly list: (userId: Bookmark["userId"]) => Effect.Effect<ReadonlyArray<Bookmark>>
  }
>() {}

const BookmarksTable = Sql.defineTable<Bookmark>("example_bookmarks", {
  id: "text",
  appId: "text",
  userId: "text",
  url: "text",
  title: "text",
  createdAt: "timestamptz",
})

const bookmarksInMemory = memoryTable<Bookmark>()("exampleBookmarks", {
  entity: "bookmark",
  primaryKey: (bookmark) => [bookmark.id],
  unique: {},
  foreignKeys: [ownedByApp, cascade("userId", "users")],
})

const BookmarkStoreLive = storeLayer(BookmarkStore, {
  sql: Effect.map(Sql.client, (sql) => ({
    add: (bookmark) => sql`${Sql.insertInto(sql, BookmarksTable, [bookmark])}`.pipe(Sql.exec),
    list: (userId) =>
      sql`SELECT ${BookmarksTable.select} FROM example_bookmarks WHERE user_id = ${userId} ORDER BY id DESC`.pipe(
        Sql.all(BookmarksTable),
      ),
  })),
  memory: (engine: MemoryEngine) => {
    engine.register(bookmarksInMemory)
    return {
      add: (bookmark) => engine.run((db) => void db.insert(bookmarksInMemory, bookmark)),
      list: (userId) =>
        engine.run((db) =>
          sorted(
            db.select(bookmarksInMemory, (bookmark) => bookmark.userId === userId),
            newestFirst,
          ),
        ),
    }
  },
})

// --- the error and the routes --------------------------------------------------------------------------------------

export class BookmarkLimitReached extends Data.TaggedError("BookmarkLimitReached")<{ readonly limit: number }> {}

const BookmarkJson = Schema.Struct({ id: Schema.String, url: Schema.String, title: Schema.String })

const toJson = (bookmark: Bookmark) => ({ id: bookmark.id, url: bookmark.url, title: bookmark.title })

const routes = (limit: number) =>
  Effect.map(BookmarkStore, (store) => [
    sessionRoute({
      method: "POST",
      path: "/bookmarks",
      tag: "Bookmarks",
      summary: "Keep a bookmark",
      body: Schema.Struct({
        url: Schema.String.pipe(Schema.pattern(/^https?:\/\//)),
        title: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)),
      }),
      responses: { 201: { description: "the bookmark", schema: BookmarkJson } },
      handler: (request) =>
        Effect.gen(function* () {
          const user = request.auth.user
          if ((yield* store.list(user.id)).length >= limit) return yield* new BookmarkLimitReached({ limit })
          const bookmark: Bookmark = {
            id: BookmarkId.make(),
            appId: user.appId,
            userId: user.id,
            url: request.body.url,
            title: request.body.title,
            createdAt: new Date(yield* Clock.currentTimeMillis),
          }
          yield* store.add(bookmark)
          return json(201, toJson(bookmark))
        }),
    }),
    sessionRoute({
      method: "GET",
      path: "/bookmarks",
      tag: "Bookmarks",
      summary: "The signed-in user's bookmarks",
      responses: {
        200: { description: "newest first", schema: Schema.Struct({ bookmarks: Schema.Array(BookmarkJson) }) },
      },
      handler: (request) =>
        Effect.map(store.list(request.auth.user.id), (bookmarks) => json(200, { bookmarks: bookmarks.map(toJson) })),
    }),
  ])

/** The bookmarks plugin: at most `limit` bookmarks per user. */
export const plugin = (options: { readonly limit?: number } = {}) =>
  definePlugin<BookmarkStore>({
    name: "bookmarks",
    migrations: bookmarkMigrations,
    layer: BookmarkStoreLive,
    routes: routes(options.limit ?? 3),
    errors: [
      declareError<BookmarkLimitReached>("BookmarkLimitReached", {
        status: 409,
        type: "bookmark_limit",
        description: "the user keeps the most bookmarks allowed",
        message: (error) => `at most ${error.limit} bookmarks`,
      }),
    ],
  })
