import SwiftEcho

extension ServiceNotifier {
    /// Sends `fields`; a failure is logged, never fatal: the service manager's socket going
    /// away must not take the daemon with it (systemd times a missing READY=1 out itself).
    func tell(_ fields: [String], logger: Logger) {
        do {
            try send(fields)
            logger.debug("notified the service manager", metadata: ["notify.state": fields.joined(separator: " ")])
        } catch {
            logger.warning("cannot notify the service manager: \(error.message)",
                           metadata: ["notify.state": fields.joined(separator: " ")])
        }
    }
}
