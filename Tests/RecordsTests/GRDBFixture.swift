import GRDB

/// Databases that are valid SQLite but not Cohort's.
enum GRDBFixture {
    static func otherDatabase(at path: String) throws -> DatabaseQueue {
        let q = try DatabaseQueue(path: path)
        try q.write { db in try db.execute(sql: "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)") }
        return q
    }
}
