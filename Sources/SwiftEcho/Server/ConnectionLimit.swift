import cecho

/// Fits `--max-connections` to what the process can really hold: the open-files limit
/// (raised to its hard limit first) and, with select, FD_SETSIZE. Each connection is one
/// descriptor; the core keeps `CE_RESERVED_FDS` for itself, and a few more for each further
/// loop (`CE_RESERVED_FDS_PER_LOOP`).
enum ConnectionLimit {
    static func fit(_ requested: Int, backend: String, loops: Int = 1, logger: Logger) -> Int {
        let reserve = Int(CE_RESERVED_FDS) + max(0, loops - 1) * Int(CE_RESERVED_FDS_PER_LOOP)
        var limit = requested
        let openFiles = Int(ce_limit_raise_nofile())
        if openFiles > 0, limit > openFiles - reserve {
            let lowered = max(1, openFiles - reserve)
            logger.warning(
                "max connections lowered from \(limit) to \(lowered): the open files limit (RLIMIT_NOFILE) is \(openFiles) and \(reserve) descriptors are kept in reserve",
                metadata: ["limit.requested": "\(requested)", "limit.nofile": "\(openFiles)"])
            limit = lowered
        }
        let bound = Int(ce_backend_fd_bound(backend))
        if limit > bound - reserve {
            let lowered = max(1, bound - reserve)
            logger.warning(
                "max connections lowered from \(limit) to \(lowered): the \(backend) backend can only watch descriptors below FD_SETSIZE (\(bound))",
                metadata: ["limit.requested": "\(requested)", "limit.fd_setsize": "\(bound)"])
            limit = lowered
        }
        return limit
    }
}
