/// The directory's tables in PostgreSQL (docs/SCALE-OUT.md). Created at a
/// node's first connection if missing, under an advisory lock so that nodes
/// starting together do not race on `CREATE TABLE`. They live beside the
/// records tables when both use one database; the names do not collide.
enum DirectorySchema {
    /// `pg_advisory_xact_lock` key while creating the tables ("COHORTDR").
    static let creationLock: Int64 = 0x434F_484F_5254_4452

    static let statements = [
        """
        CREATE TABLE IF NOT EXISTS nodes (
            id TEXT PRIMARY KEY,
            control_url TEXT NOT NULL,
            media_address TEXT NOT NULL,
            capacity INTEGER NOT NULL,
            load INTEGER NOT NULL DEFAULT 0,
            heartbeat_at TIMESTAMPTZ
        )
        """,
        """
        CREATE TABLE IF NOT EXISTS placements (
            session TEXT PRIMARY KEY,
            node TEXT NOT NULL,
            placed_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )
        """,
        "CREATE INDEX IF NOT EXISTS placements_node ON placements (node)",
    ]
}
