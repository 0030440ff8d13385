// swift-tools-version:6.1
// SwiftEcho: a C event loop with a Swift face. The toolchain's own modules only: no package
// dependencies, so the package builds anywhere a Swift toolchain does.
import PackageDescription

let package = Package(
    name: "SwiftEcho",
    products: [
        .library(name: "SwiftEcho", targets: ["SwiftEcho"]),
        .executable(name: "echo-cli", targets: ["echo-cli"]),
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
        // echo-cli is a dependency so that `swift test` builds the binary the CLI tests run.
        .testTarget(name: "SwiftEchoTests", dependencies: ["SwiftEcho", "cecho", "echo-cli"]),
    ],
    cLanguageStandard: .c11
)
