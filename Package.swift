// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "gwi-fleet",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "gwi-fleet", targets: ["gwi-fleet"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.0"),
        // Already required by swift-subprocess; named here to hand pg_dump a pipe of our own.
        .package(url: "https://github.com/apple/swift-system", from: "1.4.0"),
        // SHA-256 and MD5 of backups as they stream, instead of hand-written digests.
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        // The compliance page: a template a reader can review, with every value HTML-escaped by default.
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.0.0"),
    ],
    targets: [
        // libpq's C API, found through pkg-config (Debian: libpq-dev).
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        // The one pool of threads for blocking work (libpq waits, pipe relays, hashing files).
        .target(name: "FleetBasics"),
        // The only importer of CLibPQ: non-blocking connections with deadlines, queries, COPY, conninfo.
        .target(name: "PostgresClient", dependencies: ["CLibPQ", "FleetBasics"]),
        // Pure values: the fleet file decoded, validated and resolved into venues.
        .target(name: "FleetModel", dependencies: [.product(name: "Yams", package: "Yams")]),
        // The run lifecycle, byte pipelines, the backup store and catalog, one folder per operation, reports.
        .target(
            name: "FleetEngine",
            dependencies: [
                "FleetBasics",
                "FleetModel",
                "PostgresClient",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Mustache", package: "swift-mustache"),
            ]
        ),
        // Command-line parsing and terminal rendering; nothing else.
        .executableTarget(
            name: "gwi-fleet",
            dependencies: [
                "FleetEngine",
                "FleetModel",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Throwaway PostgreSQL clusters and seeded venue databases for the tests.
        .target(
            name: "TestSupport",
            dependencies: ["PostgresClient"],
            path: "Tests/TestSupport",
            exclude: ["neon_test_server.py"]
        ),
        .testTarget(name: "FleetModelTests", dependencies: ["FleetModel"], resources: [.copy("Fixtures")]),
        .testTarget(name: "PostgresClientTests", dependencies: ["PostgresClient", "TestSupport"]),
        .testTarget(name: "FleetEngineTests", dependencies: ["FleetEngine", "FleetModel", "PostgresClient", "TestSupport"]),
        .testTarget(name: "GwiFleetCLITests", dependencies: ["gwi-fleet", "PostgresClient", "TestSupport"], exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v6]
)
