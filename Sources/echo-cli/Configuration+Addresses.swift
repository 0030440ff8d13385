import SwiftEcho

extension Configuration {
    /// Whether any address option differs from its default: what socket activation ignores,
    /// and says so. (A default spelled out, `--port 10000`, cannot be told apart.)
    var setsAnAddress: Bool {
        let defaults = Configuration()
        return host != defaults.host || port != defaults.port || !listen.isEmpty
    }
}
