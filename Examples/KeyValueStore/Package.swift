// swift-tools-version:6.1
// A key-value line protocol over SwiftEcho: an actor holds the data, an async hook answers
// each line. Depends on the SwiftEcho package by path; uses only its public API.
import PackageDescription

let package = Package(
    name: "KeyValueStore",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "SwiftEcho", path: "../..")],
    targets: [
        // The protocol, the store and the hook, testable in process.
        .target(name: "KeyValue", dependencies: [.product(name: "SwiftEcho", package: "SwiftEcho")]),
        // main: a port, signals, run.
        .executableTarget(name: "kv-server", dependencies: ["KeyValue"]),
        .testTarget(name: "KeyValueTests", dependencies: ["KeyValue"]),
    ]
)
