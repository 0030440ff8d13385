import Glibc

/// Which sanitizer this build runs under (the daemon is built with the same one). Memory
/// figures mean little under a sanitizer (ASan keeps freed memory in quarantine and both add
/// shadow memory), and everything runs several times slower, so tests scale their bounds.
enum Sanitizer {
    case none, address, thread

    static let current: Sanitizer = {
        let me = dlopen(nil, RTLD_NOW)
        defer { if let me { dlclose(me) } }
        if dlsym(me, "__tsan_init") != nil { return .thread }
        if dlsym(me, "__asan_init") != nil { return .address }
        return .none
    }()

    /// How much longer than a plain build work may take.
    static var slowdown: Double {
        switch current {
        case .none: 1
        case .address: 3
        case .thread: 5
        }
    }

    /// Whether resident memory measures what the code holds (not under a sanitizer).
    static var measuresMemory: Bool { current == .none }
}

/// Raises this process's soft open-files limit to the hard one, for tests that hold
/// thousands of client sockets; returns the limit now in force.
@discardableResult
func raiseOpenFilesLimit() -> Int {
    var limit = rlimit()
    getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max
        setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
    }
    return Int(clamping: limit.rlim_cur)
}
