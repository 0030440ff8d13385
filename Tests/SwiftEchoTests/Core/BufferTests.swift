import Glibc
import Testing
import cecho
import cecho_internal

/// The C byte buffer against a trivial model: an array.
@Suite struct BufferTests {
    @Test func appendsAndConsumesInOrder() {
        var buffer = ce_buf()
        defer { ce_buf_free(&buffer) }
        let bytes: [UInt8] = Array(0..<200)
        #expect(ce_buf_append(&buffer, bytes, bytes.count, 1 << 20) == 0)
        #expect(ce_buf_len(&buffer) == 200)
        ce_buf_consume(&buffer, 50)
        #expect(contents(buffer) == Array(bytes[50...]))
    }

    @Test func emptiedBufferRewindsItsCursors() {
        var buffer = ce_buf()
        defer { ce_buf_free(&buffer) }
        _ = ce_buf_append(&buffer, [1, 2, 3] as [UInt8], 3, 100)
        ce_buf_consume(&buffer, 3)
        #expect(buffer.start == 0 && buffer.end == 0)
    }

    @Test func refusesToGrowPastItsLimit() {
        var buffer = ce_buf()
        defer { ce_buf_free(&buffer) }
        let chunk = [UInt8](repeating: 7, count: 600)
        #expect(ce_buf_append(&buffer, chunk, chunk.count, 1000) == 0)
        errno = 0
        #expect(ce_buf_append(&buffer, chunk, chunk.count, 1000) == -1)
        #expect(errno == ENOBUFS)
        #expect(ce_buf_len(&buffer) == 600, "a refused append leaves the buffer as it was")
        #expect(buffer.cap <= 1000, "the allocation never passes the limit")
    }

    @Test func reclaimsConsumedSpaceBeforeGrowing() {
        var buffer = ce_buf()
        defer { ce_buf_free(&buffer) }
        let chunk = [UInt8](repeating: 1, count: 3000)
        _ = ce_buf_append(&buffer, chunk, chunk.count, 1 << 20)
        let capacity = buffer.cap
        ce_buf_consume(&buffer, 2500)
        let more = [UInt8](repeating: 2, count: 3000)
        #expect(ce_buf_append(&buffer, more, more.count, 1 << 20) == 0)
        #expect(buffer.cap == capacity, "3500 bytes fit in the 4 KiB already allocated once compacted")
        #expect(contents(buffer) == [UInt8](repeating: 1, count: 500) + more)
    }

    @Test func randomOperationsMatchAnArrayModel() {
        var buffer = ce_buf()
        defer { ce_buf_free(&buffer) }
        var model: [UInt8] = []
        var rng = SplitMix(seed: 42)
        let limit = 50_000
        for step in 0..<5000 {
            if rng.next() % 3 != 0 {
                let count = Int(rng.next() % 5000)
                let bytes = (0..<count).map { UInt8(truncatingIfNeeded: $0 &+ step) }
                let fits = model.count + count <= limit
                #expect((ce_buf_append(&buffer, bytes, count, limit) == 0) == fits)
                if fits { model += bytes }
            } else if !model.isEmpty {
                let count = Int(rng.next() % UInt64(model.count + 1))
                ce_buf_consume(&buffer, count)
                model.removeFirst(count)
            }
            #expect(ce_buf_len(&buffer) == model.count)
        }
        #expect(contents(buffer) == model)
    }

    private func contents(_ buffer: ce_buf) -> [UInt8] {
        guard let data = buffer.data else { return [] }
        return (buffer.start..<buffer.end).map { UInt8(bitPattern: data[$0]) }
    }
}
