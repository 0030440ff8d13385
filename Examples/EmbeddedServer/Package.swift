// swift-tools-version:6.1
// An embedded SwiftEcho server in an async main, stopped by signals as the daemon is. Depends
// on the SwiftEcho package by path; uses only its public API.
import PackageDescription

let package = Package(
    name: "EmbeddedServer",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "SwiftEcho", path: "../..")],
    targets: [
        // The server itself, testable in process.
        .target(name: "Greeter", dependencies: [.product(name: "SwiftEcho", package: "SwiftEcho")]),
        // main: flags in, signals, run, exit status.
        .executableTarget(name: "greeting-server", dependencies: ["Greeter"]),
        // The executable is a dependency so that `swift test` builds the binary the tests run.
        .testTarget(name: "GreeterTests", dependencies: ["Greeter", "greeting-server"]),
    ]
)
