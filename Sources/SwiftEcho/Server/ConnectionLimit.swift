import cecho

/// Fits `--max-connections` to what the process can really hold: the open-files limit
/// (raised to its hard limit first) and, with select, FD_SETSIZE. Each connection is one
/// descriptor; the core keeps `CE_RESERVED_FDS` for itself.
enum ConnectionLimit {
    static func fit(_ requested: Int, backend: String, logger: Logger) -> Int {
        let reserve = Int(CE_RESERVED_FDS)
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
