/// The records' tables in PostgreSQL: the same as SQLite's
/// (`RecordStore.migrator`, docs/RECORDS.md "Schema") with PostgreSQL's
/// types, and a `node` column on `server_start` and `interval` so that
/// several servers can share one database (each heartbeats and recovers
/// only its own open intervals).
///
/// One migration per change, applied in order and recorded in
/// `schema_version`; never edit a shipped migration. `interval` is quoted
/// everywhere: it is a keyword in PostgreSQL.
enum PostgresRecordSchema {
    /// Named migrations, each a list of statements (PostgreSQL's extended
    /// protocol takes one statement per query).
    static let migrations: [(version: String, statements: [String])] = [
        ("v1", [
            """
            CREATE TABLE server_start (
                id BIGSERIAL PRIMARY KEY,
                at_ms BIGINT NOT NULL,
                node TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE event (
                id BIGSERIAL PRIMARY KEY,
                at_ms BIGINT NOT NULL,
                session TEXT NOT NULL,
                kind TEXT NOT NULL,
                reason TEXT,
                person TEXT NOT NULL,
                participant TEXT NOT NULL,
                name TEXT NOT NULL,
                role TEXT NOT NULL,
                target_person TEXT,
                target_participant TEXT,
                target_name TEXT,
                target_role TEXT,
                detail TEXT
            )
            """,
            "CREATE INDEX event_session_at ON event (session, at_ms)",
            "CREATE INDEX event_at ON event (at_ms)",
            """
            CREATE TABLE "interval" (
                id BIGSERIAL PRIMARY KEY,
                node TEXT NOT NULL,
                session TEXT NOT NULL,
                person TEXT NOT NULL,
                participant TEXT NOT NULL,
                name TEXT NOT NULL,
                role TEXT NOT NULL,
                kind TEXT NOT NULL CHECK (kind IN ('room', 'audio', 'video')),
                room TEXT,
                start_ms BIGINT NOT NULL,
                end_ms BIGINT NOT NULL,
                open BOOLEAN NOT NULL DEFAULT TRUE
            )
            """,
            #"CREATE INDEX interval_session_start ON "interval" (session, start_ms)"#,
            #"CREATE INDEX interval_end ON "interval" (end_ms)"#,
            #"CREATE INDEX interval_open ON "interval" (node, participant) WHERE open"#,
        ]),
    ]

    /// Created before the first migration; one row per applied migration.
    static let versionTable = """
        CREATE TABLE IF NOT EXISTS schema_version (
            version TEXT PRIMARY KEY,
            applied_at_ms BIGINT NOT NULL
        )
        """

    /// Taken (per transaction) while migrating, so that two servers starting
    /// at once against an empty database do not both create the tables.
    static let migrationLock: Int64 = 0x636F_686F_7274  // "cohort"
}
