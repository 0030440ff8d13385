/// Exit statuses from sysexits.h, the convention daemons and their supervisors share.
enum ExitCode {
    static let success: Int32 = 0
    static let usage: Int32 = 64        // EX_USAGE: bad flags or values
    static let unavailable: Int32 = 69  // EX_UNAVAILABLE: cannot bind or listen
    static let osError: Int32 = 71      // EX_OSERR: the system refused a resource
    static let cannotCreate: Int32 = 73 // EX_CANTCREAT: the pid file cannot be created
    static let config: Int32 = 78       // EX_CONFIG: the configuration file is unreadable or invalid
}
