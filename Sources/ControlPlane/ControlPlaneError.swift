/// Failures of the control plane itself (not of a client's request).
public enum ControlPlaneError: Error, Equatable, Sendable {
    /// The web root is missing, not a directory, or unreadable.
    case webRootUnreadable(String)
    /// `start()` was called on a server that is running or was shut down.
    case alreadyStarted
    /// An accepted connection over `ConnectionLimits.maxConnections` or the per-address cap.
    case connectionRefused
}
