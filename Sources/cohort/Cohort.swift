import ArgumentParser

@main
struct Cohort: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cohort",
        abstract: "Cohort: a WebRTC media relay for virtual group therapy.",
        version: "0.1.0",
        subcommands: [])
}
