/// What the router has learnt about one server's names from its lists: aliases of long tool and prompt names,
/// and which resource URIs and URI templates it serves (for routing `resources/read`).
struct ServerCatalog: Sendable {
    var toolAliases: [String: String] = [:]
    var promptAliases: [String: String] = [:]
    var resourceURIs: Set<String> = []
    /// The fixed text before the first `{` of each URI template.
    var templatePrefixes: Set<String> = []
    var knowsResources = false

    /// Length of the longest template prefix matching `uri`, if any.
    func templateMatch(_ uri: String) -> Int? {
        templatePrefixes.filter { !$0.isEmpty && uri.hasPrefix($0) }.map(\.count).max()
    }
}
