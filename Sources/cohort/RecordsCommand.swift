import ArgumentParser
import ControlPlane
import Foundation
import Records

/// `cohort records attendance|audit`: exports from the records database (docs/RECORDS.md).
struct RecordsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "records",
        abstract: "Export attendance minutes or the audit trail of a session from the records database.",
        subcommands: [Attendance.self, Audit.self])

    /// The options both exports take.
    struct Options: ParsableArguments {
        @Option(help: ArgumentHelp("The therapy session id.", valueName: "id"))
        var session: String

        @Option(help: ArgumentHelp("First day, YYYY-MM-DD (UTC), included.", valueName: "date"))
        var from: String?

        @Option(help: ArgumentHelp("Last day, YYYY-MM-DD (UTC), included.", valueName: "date"))
        var to: String?

        @Option(help: ArgumentHelp("csv or json.", valueName: "format"))
        var format: String = "csv"

        @Option(help: ArgumentHelp("The records database: an SQLite file or a postgres:// URL. Env COHORT_RECORDS. (default: \(ServeSettings.defaultRecords))",
                                   valueName: "path|url"))
        var records: String?

        @Option(name: .customLong("config"), help: ArgumentHelp(
            "The server's --config file, whose `records` is used when neither --records nor COHORT_RECORDS is given. Env COHORT_CONFIG.",
            valueName: "path"))
        var config: String?

        /// The database `cohort serve` with the same flags, environment and
        /// config file writes to: --records, then COHORT_RECORDS, then the
        /// config file's `records`, then the default.
        func recordsLocation(environment: [String: String]) throws -> String {
            let file: ConfigFile?
            do { file = try ConfigFile.load(flag: config, environment: environment) } catch { throw ValidationError(error.description) }
            var inputs = ServeInputs(flags: ServeFlags(records.map { ["records": $0] } ?? [:]), environment: environment, file: file)
            guard let location = inputs.text("records"), location.lowercased() != "off" else {
                throw ValidationError("records are off in this configuration: give --records")
            }
            return location
        }

        func run(_ report: RecordsExport.Report) throws {
            guard let format = RecordsExport.Format(rawValue: format) else {
                throw ValidationError("--format is csv or json")
            }
            let path = try recordsLocation(environment: ProcessInfo.processInfo.environment)
            do {
                let store = try RecordsDatabase.openExisting(path)
                let text = try RecordsExport.render(report, session: session, from: from, to: to, format: format, store: store)
                FileHandle.standardOutput.write(Data(text.utf8))
            } catch let e as RecordsError {
                throw ValidationError(e.description)
            }
        }
    }

    struct Attendance: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Minutes per person per day: in session, in main, in breakout rooms, with audio on, with video on.")
        @OptionGroup var options: Options
        func run() throws { try options.run(.attendance) }
    }

    struct Audit: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Joins, leaves (with reason) and host actions, in time order.")
        @OptionGroup var options: Options
        func run() throws { try options.run(.audit) }
    }
}

/// The records database as the control plane serves it (`GET /records/...`).
struct RecordsHTTPSource: RecordsSource {
    let store: any RecordBackend

    func export(report: String, session: String, from: String?, to: String?,
                format: String) throws -> (contentType: String, body: String) {
        guard let report = RecordsExport.Report(rawValue: report) else { throw RecordsQueryError("unknown report") }
        guard let format = RecordsExport.Format(rawValue: format) else { throw RecordsQueryError("format is csv or json") }
        do {
            return (format.contentType, try RecordsExport.render(report, session: session, from: from, to: to,
                                                                 format: format, store: store))
        } catch let e as RecordsError {
            throw RecordsQueryError(e.description)
        }
    }
}
