import Logging
import ServiceLifecycle
import UnixSignals

/// One step of `cohort serve`'s shutdown, as a swift-service-lifecycle
/// `Service`: it runs for the server's whole life doing nothing, and does
/// its part once the group shuts down gracefully.
struct ShutdownStep: Service, CustomStringConvertible {
    /// The step's name in the group's logs.
    let description: String
    let action: @Sendable () async -> Void

    init(_ description: String, _ action: @escaping @Sendable () async -> Void) {
        self.description = description
        self.action = action
    }

    func run() async throws {
        // Returns at graceful shutdown; throws when the group is cancelled
        // (the shutdown took too long), and the step still does its part:
        // the records must be closed either way.
        try? await gracefulShutdown()
        await action()
    }
}

/// The ordered shutdown of `cohort serve` on SIGTERM or SIGINT, one
/// `ServiceGroup` of `ShutdownStep`s.
///
/// A `ServiceGroup` shuts its services down one at a time, in the reverse
/// of the order they were given, each after the one before has returned:
/// so the steps are handed over reversed, and run in the order written.
enum ShutdownSequence {
    /// A group that waits for SIGTERM or SIGINT, then runs `steps` in
    /// order; if they take longer than `limit`, the rest are cancelled
    /// (each still runs its action, without waiting).
    ///
    /// `started` runs once the group has taken over the signals (a group
    /// registers them before it starts any service): a SIGTERM before that
    /// would still kill the process at once, so the server announces that
    /// it is ready only from here.
    static func group(_ steps: [ShutdownStep], limit: Duration, logger: Logger,
                      signals: [UnixSignal] = [.sigterm, .sigint],
                      started: @escaping @Sendable () -> Void = {}) -> ServiceGroup {
        var services: [ServiceGroupConfiguration.ServiceConfiguration] =
            steps.reversed().map { .init(service: $0, serviceName: $0.description) }
        // Last in the list, so first to be shut down; it has nothing to do then.
        services.append(.init(service: Started(action: started), serviceName: "started"))
        var configuration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: signals, logger: logger)
        configuration.maximumGracefulShutdownDuration = limit
        return ServiceGroup(configuration: configuration)
    }
}

/// Runs its action when the group starts it, then waits for the shutdown.
private struct Started: Service {
    let action: @Sendable () -> Void

    func run() async throws {
        action()
        try? await gracefulShutdown()
    }
}
