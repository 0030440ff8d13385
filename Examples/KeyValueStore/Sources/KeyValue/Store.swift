/// The data, shared by every connection: an actor, so that any task may use it and each
/// change happens whole.
public actor Store {
    private var values: [String: String] = [:]

    public init() {}

    public func value(for key: String) -> String? {
        values[key]
    }

    public func set(_ value: String, for key: String) {
        values[key] = value
    }

    /// Removes the key; whether it was there.
    public func remove(_ key: String) -> Bool {
        values.removeValue(forKey: key) != nil
    }

    public var count: Int { values.count }
}
