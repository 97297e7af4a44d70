import ArgumentParser

/// The `cohort` command: `serve` runs the relay, `token` mints join tokens.
@main
struct Cohort: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cohort",
        abstract: "Cohort: a WebRTC media relay for virtual group therapy.",
        discussion: """
            Every serve option can also be set with an environment variable named \
            COHORT_ and the option in capitals with "_" for "-" (COHORT_HTTP, \
            COHORT_CONSENT_TIMEOUT, ...) or as a key of a `serve --config` YAML file. A flag \
            on the command line wins over the variable, which wins over the file.
            """,
        version: "0.1.0",
        subcommands: [ServeCommand.self, TokenCommand.self, RecordsCommand.self],
        defaultSubcommand: nil)
}
