import GatewayWire
import Synchronization

extension MCPRouter {
    enum NameKind {
        case tool
        case prompt

        var listKind: ListKind { self == .tool ? .tools : .prompts }
        var unknownCode: GatewayError.Code { self == .tool ? .unknownTool : .unknownPrompt }
        var label: String { self == .tool ? "tool" : "prompt" }
    }

    /// The server and upstream name behind a client-visible tool or prompt name.
    ///
    /// On `/mcp/{server}` names are the server's own. On `/mcp` a name is `{prefix}{separator}{name}`, or an alias of
    /// a long one; an alias the catalog does not know yet is learnt by listing the servers once.
    func resolve(
        _ kind: NameKind,
        name: String,
        context: MCPRequestContext
    ) async throws(GatewayError) -> (UpstreamServer, String) {
        let visible = visibleServers(context)
        let unknown = GatewayError(kind.unknownCode, "Unknown \(kind.label): \(name)")
        if case .server = context.scope {
            guard let server = visible.first else { throw unknown }
            return (server, name)
        }
        if let found = lookUpAlias(kind, name, in: visible) { return found }
        if !names.looksLikeAlias(name), let (prefix, upstreamName) = names.split(name),
            let server = directory.server(prefix: prefix), visible.contains(where: { $0 === server })
        {
            return (server, upstreamName)
        }
        guard names.looksLikeAlias(name) else { throw unknown }
        for server in visible {
            await learnAll(kind.listKind, from: server, context: context)
            if let found = lookUpAlias(kind, name, in: [server]) { return found }
        }
        throw unknown
    }

    private func lookUpAlias(_ kind: NameKind, _ name: String, in servers: [UpstreamServer]) -> (
        UpstreamServer, String
    )? {
        for server in servers {
            let original = server.catalog.withLock { kind == .tool ? $0.toolAliases[name] : $0.promptAliases[name] }
            if let original { return (server, original) }
        }
        return nil
    }

    /// The server and original URI behind a client-visible resource URI.
    ///
    /// Gateway URIs name their server. Other URIs go to the server that listed them, else to the server with the
    /// longest matching URI-template prefix; servers whose resources are not known yet are listed first. With a
    /// single server in view, everything goes to it.
    func resolveResource(_ uri: String, context: MCPRequestContext) async throws(GatewayError) -> (
        UpstreamServer, String
    ) {
        let visible = visibleServers(context)
        if visible.count == 1, case .server = context.scope { return (visible[0], uri) }
        if let (name, original) = GatewayResourceURI.parse(uri) {
            guard let server = visible.first(where: { $0.name == name }) else { throw resourceNotFound(uri) }
            return (server, original)
        }
        if let found = match(uri, in: visible) { return found }
        var learnt = false
        for server in visible where server.declares("resources") != false {
            let (uris, templates) = server.catalog.withLock { ($0.knowsResourceURIs, $0.knowsTemplates) }
            if !uris { await learnAll(.resources, from: server, context: context) }
            if !templates { await learnAll(.resourceTemplates, from: server, context: context) }
            learnt = learnt || !uris || !templates
        }
        guard learnt else { return try lastResort(uri, visible) }
        if let found = match(uri, in: visible) { return found }
        return try lastResort(uri, visible)
    }

    /// A URI no visible server is known to serve: the only server in view gets it, else it is not found.
    private func lastResort(_ uri: String, _ visible: [UpstreamServer]) throws(GatewayError) -> (UpstreamServer, String)
    {
        if visible.count == 1 { return (visible[0], uri) }
        throw resourceNotFound(uri)
    }

    private func match(_ uri: String, in servers: [UpstreamServer]) -> (UpstreamServer, String)? {
        if let owner = servers.first(where: { $0.catalog.withLock { $0.resourceURIs.contains(uri) } }) {
            return (owner, uri)
        }
        let best = servers.compactMap { server in server.catalog.withLock { $0.templateMatch(uri) }.map { (server, $0) }
        }
        .max { $0.1 < $1.1 }
        return best.map { ($0.0, uri) }
    }

    private func resourceNotFound(_ uri: String) -> GatewayError {
        GatewayError(.unknownResource, "Resource not found: \(uri)", data: ["uri": .string(uri)])
    }

    /// Lists every page of `kind` from `server` so its catalog knows the names (bounded to 100 pages).
    func learnAll(_ kind: ListKind, from server: UpstreamServer, context: MCPRequestContext) async {
        var cursor: JSONValue? = nil
        var learning = context
        learning.scope = .aggregate
        for _ in 0..<100 {
            let generation = server.catalog.withLock { $0.generation }
            guard
                let page = try? await server.fetch(
                    kind.method,
                    params: cursor.map { ["cursor": $0] },
                    owner: context.owner,
                    affinity: context.affinity,
                    readinessWait: Self.listReadinessWait
                )
            else { return }
            let next = page["nextCursor"].flatMap { $0.isNull ? nil : $0 }
            _ = merge(
                kind,
                page[kind.itemsKey]?.arrayValue ?? [],
                from: server,
                page: (first: cursor == nil, last: next == nil),
                generation: generation,
                context: learning
            )
            guard let next else { return }
            cursor = next
        }
    }
}
