/// What the router has learnt about one server's names from its lists: aliases of long tool and prompt names, the
/// complete set of names once a whole list was seen, each tool's input contract, and which resource URIs and URI
/// templates it serves (for routing `resources/read`).
struct ServerCatalog: Sendable {
    /// Counts resets (`list_changed`, restarts): a page fetched before the latest one teaches nothing.
    var generation = 0
    var toolAliases: [String: String] = [:]
    var promptAliases: [String: String] = [:]
    var tools = NameSet()
    /// Each listed tool's compiled `inputSchema` and mirrored arguments, by the upstream's tool name.
    var toolContracts: [String: ToolInputContract] = [:]
    /// Whether each listed tool is annotated `readOnlyHint` or `idempotentHint`, so a failed call may be tried on
    /// another instance.
    var repeatableTools: [String: Bool] = [:]
    var prompts = NameSet()
    var resourceURIs: Set<String> = []
    var templates: Set<String> = []
    /// Whether a `resources/list` and a `resources/templates/list` were seen; routing learns whichever is missing.
    var knowsResourceURIs = false
    var knowsTemplates = false

    /// Length of the longest template prefix (the text before the first `{`) matching `uri`, if any.
    func templateMatch(_ uri: String) -> Int? {
        templates.map { String($0.prefix { $0 != "{" }) }.filter { !$0.isEmpty && uri.hasPrefix($0) }.map(\.count).max()
    }
}

/// The names a server lists, known only once every page of one listing was seen.
struct NameSet: Sendable {
    private var known: Set<String> = []
    private var collecting: Set<String>? = nil
    private(set) var complete = false

    /// Records one page; `firstPage` starts a listing, `lastPage` (no next cursor) completes it.
    mutating func record(_ names: [String], firstPage: Bool, lastPage: Bool) {
        if firstPage { collecting = [] }
        guard collecting != nil else { return }
        collecting!.formUnion(names)
        if lastPage {
            known = collecting!
            collecting = nil
            complete = true
        }
    }

    /// Whether the server is known not to have `name` (a complete listing without it).
    func lacks(_ name: String) -> Bool { complete && !known.contains(name) }
}
