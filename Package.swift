// swift-tools-version:6.1
// SwiftEcho: a C event loop with a Swift face. The toolchain's own modules only: no package
// dependencies, so the package builds anywhere a Swift toolchain does.
import PackageDescription

let package = Package(
    name: "SwiftEcho",
    products: [
        .library(name: "SwiftEcho", targets: ["SwiftEcho"]),
        .executable(name: "echo-cli", targets: ["echo-cli"]),
        .executable(name: "echo-bench", targets: ["echo-bench"]),
    ],
    targets: [
        // The C core: loop, pollers, buffers, sockets, limits, counters. The echo hot path.
        .target(
            name: "cecho",
            cSettings: [.define("_GNU_SOURCE")]
        ),
        // The Swift layer: configuration, logging, the server and its C bridge.
        .target(name: "SwiftEcho", dependencies: ["cecho"]),
        // The daemon: flags in, configuration out, signals, exit codes.
        .executableTarget(name: "echo-cli", dependencies: ["SwiftEcho"]),
        // The benchmark runner (benchmarks/): a load engine in C, so that the client costs no
        // more per message than the servers it measures, and the runner around it in Swift.
        .target(
            name: "cbench",
            dependencies: ["cecho"],
            path: "benchmarks/Sources/cbench",
            cSettings: [.define("_GNU_SOURCE")]
        ),
        .executableTarget(
            name: "echo-bench",
            dependencies: ["SwiftEcho", "cecho", "cbench"],
            path: "benchmarks/Sources/echo-bench"
        ),
        // The executables are dependencies so that `swift test` builds the binaries the tests run.
        .testTarget(name: "SwiftEchoTests", dependencies: ["SwiftEcho", "cecho", "cbench", "echo-cli", "echo-bench"]),
    ],
    cLanguageStandard: .c11
)
