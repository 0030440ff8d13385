import Glibc
@testable import SwiftEcho
import Synchronization
import Testing

/// The loops as executors: jobs from any thread run on the loop's thread, one at a time, in
/// order; before the loop runs and after it stops they still run, never dropped.
@Suite struct LoopExecutorTests {
    /// A log kept by an actor whose executor is a loop's: each call says where it ran.
    actor Journal {
        let executor: LoopExecutor
        nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
        var entries: [Int] = []
        var offLoop = 0

        init(executor: LoopExecutor) { self.executor = executor }

        func record(_ value: Int) {
            if LoopExecutor.current !== executor { offLoop += 1 }
            entries.append(value)
        }

        func snapshot() -> (entries: [Int], offLoop: Int) { (entries, offLoop) }
    }

    /// Four threads' calls all run on the loop's thread, each thread's in the order it made them.
    @Test func callsFromManyThreadsRunOnTheLoopInOrder() async throws {
        let server = try startServer(.echo)
        let journal = Journal(executor: server.executors[0])
        try await withThrowingTaskGroup(of: Void.self) { group in
            for thread in 0..<4 {
                group.addTask {
                    for i in 0..<500 { await journal.record(thread * 1000 + i) }
                }
            }
            try await group.waitForAll()
        }
        let (entries, offLoop) = await journal.snapshot()
        #expect(offLoop == 0)
        #expect(entries.count == 2000)
        for thread in 0..<4 {
            let mine = entries.filter { $0 / 1000 == thread }
            #expect(mine == (0..<500).map { thread * 1000 + $0 })
        }
        try server.stopAndWait()
    }

    /// A task that prefers a loop's executor runs on that loop's thread, after every `await` too.
    @Test func aTaskPreferringTheExecutorRunsOnTheLoop() async throws {
        let server = try startServer(.echo) { $0.threads = 2 }
        for executor in server.executors {
            let placed = await Task(executorPreference: executor) { () -> [Bool] in
                let before = LoopExecutor.current === executor
                try? await Task.sleep(for: .milliseconds(1))
                return [before, LoopExecutor.current === executor, executor.isIsolatingCurrentContext() == true]
            }.value
            #expect(placed == [true, true, true])
        }
        #expect(server.executors[0] !== server.executors[1])
        try server.stopAndWait()
    }

    /// Before the server runs and after it has stopped, jobs run on the executor's own queue:
    /// still one at a time and isolated, never dropped.
    @Test func jobsRunBeforeTheLoopAndAfterItStops() async throws {
        let server = EchoServer(configuration: Configuration(port: 0), logger: quietLogger)
        let journal = Journal(executor: server.executors[0])
        await journal.record(1)
        try server.start()
        await journal.record(2)
        try await onThread { try server.stopAndWait() }
        await journal.record(3)
        let (entries, offLoop) = await journal.snapshot()
        #expect(entries == [1, 2, 3])
        #expect(offLoop == 2, "only the call made while the loop ran was on its thread")
    }
}
