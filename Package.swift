// swift-tools-version:6.1
import PackageDescription

// Dependency direction follows docs/ARCHITECTURE (../shared/ARCHITECTURE.md):
// the codecs know nothing of sockets; only MediaTransport, ControlPlane and
// the executables import NIO.
let package = Package(
    name: "Cohort",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "cohort", targets: ["cohort"]),
        // The protocol codecs, for the fuzz package and other clients.
        .library(name: "CohortProtocols", targets: ["Wire", "STUN", "RTP", "SDP", "DTLS", "SRTP"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        // Latency percentiles in the load test (cohort-loadtest only).
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
        // Attendance and audit records in embedded SQLite (Records only; needs libsqlite3-dev).
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        // The same records in PostgreSQL when --records is a postgres:// URL (Records only).
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // `cohort serve`'s ordered shutdown on SIGTERM/SIGINT (already under postgres-nio).
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        // `cohort serve --config FILE` (YAML; the cohort executable only).
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        // GET /metrics: the metrics API and its Prometheus text exposition (cohort only).
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // System libraries through pkg-config. Names are Cohort-specific so
        // they cannot clash with another package's "COpenSSL".
        .systemLibrary(name: "CCohortOpus", pkgConfig: "opus",
                       providers: [.apt(["libopus-dev"])]),
        .systemLibrary(name: "CCohortSRTP", pkgConfig: "libsrtp2",
                       providers: [.apt(["libsrtp2-dev"])]),
        .systemLibrary(name: "CCohortOpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"])]),

        .target(name: "Wire"),
        .target(name: "STUN", dependencies: ["Wire", "CCohortOpenSSL"]),
        .target(name: "RTP", dependencies: ["Wire"]),
        .target(name: "SDP", dependencies: ["Wire"]),
        .target(name: "DTLS", dependencies: ["Wire", "CCohortOpenSSL"]),
        .target(name: "SRTP", dependencies: ["RTP", "CCohortSRTP"]),
        .target(name: "Opus", dependencies: ["CCohortOpus"]),
        .target(name: "Mixing", dependencies: ["Wire", "RTP", "Opus"]),
        .target(name: "Congestion", dependencies: ["Wire", "RTP"]),
        .target(name: "SFU", dependencies: ["Wire", "STUN", "RTP", "SDP", "DTLS", "SRTP", "Opus", "Mixing", "Congestion"]),
        // The media socket's system calls (recvmmsg, sendmmsg, epoll) for MediaTransport.
        .target(name: "CCohortSocket"),
        .target(name: "MediaTransport", dependencies: [
            "SFU", "CCohortSocket",
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "Tokens", dependencies: ["Wire", "CCohortOpenSSL"]),
        // Attendance and audit records: the engine's record events, written
        // in batches to SQLite by a writer thread, and the exports.
        .target(name: "Records", dependencies: [
            "SFU",
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Scale-out: the session directory of several nodes in PostgreSQL (docs/SCALE-OUT.md).
        .target(name: "Directory", dependencies: [
            "Records",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "ControlPlane", dependencies: [
            "SFU", "Tokens",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOWebSocket", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], resources: [.copy("Web")]),
        // GET /metrics: engine snapshots into swift-metrics handles backed by a Prometheus registry.
        .target(name: "Telemetry", dependencies: [
            "SFU", "ControlPlane",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "CoreMetrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ]),
        .executableTarget(name: "cohort", dependencies: [
            "MediaTransport", "ControlPlane", "Tokens", "SFU", "DTLS", "Records", "Telemetry", "Directory",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "Yams", package: "Yams"),
        ]),
        .executableTarget(name: "cohort-fuzz", dependencies: ["Wire", "STUN", "RTP", "SDP", "DTLS", "SRTP", "ControlPlane"]),
        // A participant in the client role, for engine tests and the load test.
        .target(name: "CohortClient", dependencies: ["Wire", "STUN", "RTP", "SDP", "DTLS", "SRTP"]),
        .target(name: "CohortTestSupport", dependencies: ["Wire"]),
        // The load test: sans-IO pieces (scenarios, media probes, statistics, reports) ...
        .target(name: "LoadTest", dependencies: [
            "Wire", "RTP", "Opus",
            .product(name: "Histogram", package: "hdrhistogram-swift"),
        ]),
        // ... and the executable that drives hundreds of CohortClient participants on NIO.
        .executableTarget(name: "cohort-loadtest", dependencies: [
            "LoadTest", "CohortClient", "Tokens", "DTLS", "RTP", "STUN", "Wire", "Opus",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOWebSocket", package: "swift-nio"),
        ]),
        // Benchmarks live apart from tests; run them in release mode (Scripts/bench-*.sh).
        .executableTarget(name: "cohort-bench-dtls", dependencies: ["DTLS", "Wire"],
                          path: "Benchmarks/DTLSHandshake"),
        // Benchmarks live apart from tests; Scripts/bench-srtp.sh runs this in release mode.
        .executableTarget(name: "cohort-bench-srtp", dependencies: ["SRTP", "CohortMallocCounter"],
                          path: "Benchmarks/SRTP/Swift"),
        // Scripts/bench-mixer.sh runs this in release mode: CPU per mixed participant.
        .executableTarget(name: "cohort-bench-mixer", dependencies: ["Mixing", "Opus", "Wire"],
                          path: "Benchmarks/Mixer"),
        // Scripts/bench-forward.sh runs this in release mode: CPU per forwarded copy with and without loss repair.
        .executableTarget(name: "cohort-bench-forward", dependencies: ["SFU", "CohortClient", "CohortTestSupport", "DTLS",
                                                                      "STUN", "Wire", "Telemetry", "ControlPlane",
                                                                      "Congestion", "RTP"],
                          path: "Benchmarks/Forwarding"),
        // Replaces malloc in the executable that links it, to count allocations per thread.
        .target(name: "CohortMallocCounter", path: "Benchmarks/SRTP/MallocCounter"),

        .testTarget(name: "WireTests", dependencies: ["Wire", "CohortTestSupport"]),
        .testTarget(name: "STUNTests", dependencies: ["STUN", "CohortTestSupport"]),
        .testTarget(name: "RTPTests", dependencies: ["RTP", "CohortTestSupport"]),
        .testTarget(name: "SDPTests", dependencies: ["SDP", "CohortTestSupport"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "DTLSTests", dependencies: ["DTLS", "CohortTestSupport"]),
        .testTarget(name: "SRTPTests", dependencies: ["SRTP", "CohortTestSupport", "CCohortOpenSSL",
                                                         "CohortMallocCounter"]),
        .testTarget(name: "OpusTests", dependencies: ["Opus"]),
        .testTarget(name: "MixingTests", dependencies: ["Mixing", "CohortTestSupport"]),
        .testTarget(name: "CongestionTests", dependencies: ["Congestion", "RTP", "Wire", "CohortTestSupport"]),
        .testTarget(name: "SFUTests", dependencies: ["SFU", "CohortClient", "CohortTestSupport", "Opus",
                                                    "CohortMallocCounter"]),
        .testTarget(name: "LoadTestTests", dependencies: ["LoadTest", "Opus", "RTP", "Wire"]),
        .testTarget(name: "DirectoryTests", dependencies: ["Directory"]),
        .testTarget(name: "TokensTests", dependencies: ["Tokens", "Wire"]),
        .testTarget(name: "RecordsTests", dependencies: ["Records", "SFU", "CohortClient", "Wire", "DTLS",
                                                        .product(name: "GRDB", package: "GRDB.swift"),
                                                        .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "ControlPlaneTests", dependencies: [
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            "ControlPlane", "cohort", "Tokens", "SFU", "CohortTestSupport", "CohortClient", "DTLS", "Telemetry", "MediaTransport",
            "CohortMallocCounter",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOWebSocket", package: "swift-nio"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
