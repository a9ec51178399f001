import GatewayWire
import Logging
import Synchronization

extension MCPRouter {
    /// One page of a merged list.
    ///
    /// The first page asks every visible server for its first page, concurrently. Servers that have more are
    /// recorded in the gateway's cursor (signed, bound to the principal and the endpoint), and the next page asks
    /// just those for their next page. A server that fails is left out and logged; only when every server fails
    /// does the list fail.
    func list(_ kind: ListKind, _ message: JSONRPCMessage, context: MCPRequestContext) async throws(GatewayError)
        -> [UInt8]
    {
        let visible = visibleServers(context)
        var queue: [(server: UpstreamServer, cursor: JSONValue?)] = []
        if message.param("cursor") != nil {
            guard case .string(let cursor) = message.paramValue("cursor") else {
                throw GatewayError(.invalidCursor, "Invalid cursor: \"cursor\" must be a string")
            }
            let state = try cursors.decode(cursor, principal: context.identity.principal)
            guard state["m"]?.stringValue == kind.method, state["s"]?.stringValue == context.scope.description,
                let entries = state["q"]?.arrayValue
            else { throw GatewayError(.invalidCursor, "Invalid cursor") }
            for entry in entries {
                guard let pair = entry.arrayValue, pair.count == 2, let name = pair[0].stringValue else {
                    throw GatewayError(.invalidCursor, "Invalid cursor")
                }
                if let server = visible.first(where: { $0.name == name }) { queue.append((server, pair[1])) }
            }
        } else {
            for server in visible where server.declares(kind.capability) != false {
                queue.append((server, nil))
            }
        }

        // What a page teaches the catalog counts only if the catalog was not reset (list_changed) while it was fetched.
        let generations = queue.map { entry in entry.server.catalog.withLock { $0.generation } }
        let pages = await fetchPages(kind, queue: queue, owner: context.owner, affinity: context.affinity)
        var items: [JSONValue] = []
        var pending: [JSONValue] = []
        var failures: [GatewayError] = []
        var hints = CacheHints()
        for (index, entry) in queue.enumerated() {
            switch pages[index] {
            case .success(let result):
                hints.merge(result)
                let next = result["nextCursor"].flatMap { $0.isNull ? nil : $0 }
                items += merge(
                    kind,
                    result[kind.itemsKey]?.arrayValue ?? [],
                    from: entry.server,
                    page: (first: entry.cursor == nil, last: next == nil),
                    generation: generations[index],
                    context: context
                )
                if let next { pending.append([.string(entry.server.name), next]) }
            case .failure(let error):
                failures.append(error)
                context.logger.warning(
                    "server left out of merged list",
                    metadata: [
                        "mcp.method": "\(kind.method)", "gateway.upstream": "\(entry.server.name)", "error": "\(error)",
                    ]
                )
            }
        }
        if !queue.isEmpty, failures.count == queue.count { throw failures[0] }

        var result: JSONObject = [:]
        if context.era == .modern { result["resultType"] = "complete" }
        result[kind.itemsKey] = .array(items)
        if !pending.isEmpty {
            let state: JSONValue = [
                "m": .string(kind.method), "s": .string(context.scope.description), "q": .array(pending),
            ]
            result["nextCursor"] = .string(cursors.encode(state, principal: context.identity.principal))
        }
        if context.era == .modern {
            result["ttlMs"] = .number(JSONNumber(hints.ttlMs))
            result["cacheScope"] = .string(hints.scope)
        }
        return JSONRPCMessage.encodeResponse(id: message.id!, result: .object(result))
    }

    /// Every server's page, in queue order.
    private func fetchPages(
        _ kind: ListKind,
        queue: [(server: UpstreamServer, cursor: JSONValue?)],
        owner: String,
        affinity: String?
    ) async -> [Result<JSONObject, GatewayError>] {
        await withTaskGroup(of: (Int, Result<JSONObject, GatewayError>).self) { group in
            for (index, entry) in queue.enumerated() {
                group.addTask {
                    let params: JSONValue? = entry.cursor.map { ["cursor": $0] }
                    let deadline = self.listDeadline
                    let page = await withTaskGroup(of: Result<JSONObject, GatewayError>?.self) { race in
                        race.addTask {
                            do throws(GatewayError) {
                                return .success(
                                    try await entry.server.fetch(
                                        kind.method, params: params, owner: owner, affinity: affinity,
                                        readinessWait: Self.listReadinessWait))
                            } catch {
                                return .failure(error)
                            }
                        }
                        race.addTask {
                            try? await Task.sleep(for: deadline)
                            return nil
                        }
                        let first = await race.next() ?? nil
                        race.cancelAll()
                        return first
                            ?? .failure(
                                .upstream(
                                    .upstreamTimeout, server: entry.server.name,
                                    "did not answer \(kind.method) within the list deadline of \(deadline)"))
                    }
                    return (index, page)
                }
            }
            var pages = [Result<JSONObject, GatewayError>](
                repeating: .failure(GatewayError(.internalError, "missing page")),
                count: queue.count
            )
            for await (index, page) in group { pages[index] = page }
            return pages
        }
    }

    /// How long a merged list waits for a server that is still starting. Servers that become ready later announce
    /// themselves with `list_changed`, so clients list again.
    static let listReadinessWait: Duration = .seconds(3)

    /// Applies naming, filtering and policy to one server's items, and records what routing needs later.
    func merge(
        _ kind: ListKind,
        _ items: [JSONValue],
        from server: UpstreamServer,
        page: (first: Bool, last: Bool),
        generation: Int,
        context: MCPRequestContext
    ) -> [JSONValue] {
        let aggregate = context.scope == .aggregate
        let prefix = server.configuration.prefix
        var merged: [JSONValue] = []
        merged.reserveCapacity(items.count)
        var aliases: [String: String] = [:]
        var listed: [String] = []
        let known = kind == .tools ? server.catalog.withLock { $0.toolContracts } : [:]
        var contracts: [String: ToolInputContract] = [:]
        var repeatable: [String: Bool] = [:]
        for item in items {
            guard case .object(var object) = item else { continue }
            switch kind {
            case .tools, .prompts:
                guard let name = object["name"]?.stringValue else { continue }
                listed.append(name)
                if kind == .tools {
                    let contract = contract(for: name, object["inputSchema"], known: known, server, context)
                    contracts[name] = contract
                    let hints = object["annotations"]
                    repeatable[name] =
                        hints?["readOnlyHint"]?.boolValue == true || hints?["idempotentHint"]?.boolValue == true
                    guard contract.annotationProblem == nil || context.era != .modern,
                        server.configuration.tools.permits(name),
                        policy.allows(context.identity, server: server.name, tool: name)
                    else { continue }
                }
                if aggregate {
                    let qualified = names.qualified(prefix: prefix, name: name)
                    if qualified != prefix + names.separator + name { aliases[qualified] = name }
                    object["name"] = .string(qualified)
                }
            case .resources:
                guard let uri = object["uri"]?.stringValue else { continue }
                listed.append(uri)
                if aggregate, earlierClaimant(before: server, where: { $0.resourceURIs.contains(uri) }) {
                    object["uri"] = .string(GatewayResourceURI.make(server: server.name, uri: uri))
                }
            case .resourceTemplates:
                guard let template = object["uriTemplate"]?.stringValue else { continue }
                listed.append(template)
                if aggregate, earlierClaimant(before: server, where: { $0.templates.contains(template) }) {
                    object["uriTemplate"] = .string(GatewayResourceURI.make(server: server.name, uri: template))
                }
            }
            merged.append(.object(object))
        }
        server.catalog.withLock { catalog in
            guard catalog.generation == generation else { return }
            switch kind {
            case .tools:
                catalog.toolAliases.merge(aliases) { _, new in new }
                catalog.toolContracts.merge(contracts) { _, new in new }
                catalog.repeatableTools.merge(repeatable) { _, new in new }
                catalog.tools.record(listed, firstPage: page.first, lastPage: page.last)
            case .prompts:
                catalog.promptAliases.merge(aliases) { _, new in new }
                catalog.prompts.record(listed, firstPage: page.first, lastPage: page.last)
            case .resources:
                catalog.resourceURIs.formUnion(listed)
                catalog.knowsResourceURIs = true
            case .resourceTemplates:
                catalog.templates.formUnion(listed)
                catalog.knowsTemplates = true
            }
        }
        return merged
    }

    /// The contract of a listed tool: the one known already when the schema is unchanged, else compiled now (and a
    /// schema the gateway cannot use, or invalid header annotations, reported once).
    private func contract(
        for tool: String,
        _ inputSchema: JSONValue?,
        known: [String: ToolInputContract],
        _ server: UpstreamServer,
        _ context: MCPRequestContext
    ) -> ToolInputContract {
        let schema = inputSchema ?? .null
        if let contract = known[tool], contract.source == schema { return contract }
        let contract = ToolInputContract(inputSchema: schema)
        if let problem = contract.annotationProblem {
            context.logger.warning(
                "tool left out for 2026-07-28 clients: invalid x-mcp-header annotation",
                metadata: ["gateway.upstream": "\(server.name)", "mcp.tool": "\(tool)", "reason": "\(problem)"])
        } else if let problem = contract.compileProblem {
            context.logger.notice(
                "tool arguments not checked: the gateway cannot use its inputSchema",
                metadata: ["gateway.upstream": "\(server.name)", "mcp.tool": "\(tool)", "reason": "\(problem)"])
        }
        return contract
    }

    /// Whether a server declared earlier already lists the same URI (or template): its claim wins, and later
    /// servers' copies are renamed.
    private func earlierClaimant(before server: UpstreamServer, where claims: (ServerCatalog) -> Bool) -> Bool {
        for other in directory.servers {
            if other === server { return false }
            if other.catalog.withLock({ claims($0) }) { return true }
        }
        return false
    }
}

/// The caching hints of a merged result (2026-07-28): the smallest `ttlMs` of its parts, and `private` if any part
/// is private. A part without hints (every session-based server) counts as `ttlMs` 0. The gateway filters lists
/// by principal, so its merged lists are always private.
struct CacheHints {
    private var smallest: Int?
    let scope = "private"

    var ttlMs: Int { smallest ?? 0 }

    mutating func merge(_ part: JSONObject) {
        let ttl = max(0, part["ttlMs"]?.numberValue?.intValue ?? 0)
        smallest = min(smallest ?? ttl, ttl)
    }
}

extension UpstreamServer {
    /// Sends a request of the gateway's own and returns its result object; errors and non-objects are failures
    /// that name this server.
    func fetch(
        _ method: String,
        params: JSONValue?,
        owner: String,
        affinity: String? = nil,
        readinessWait: Duration? = nil
    ) async throws(GatewayError) -> JSONObject {
        let reply = try await send(
            .synthesized(method: method, params: params), owner: owner, affinity: affinity,
            readinessWait: readinessWait)
        let bytes: [UInt8]
        do {
            bytes = try await reply.finalMessage()
        } catch let error as GatewayError {
            throw error
        } catch {
            throw GatewayError.upstream(.upstreamProtocolError, server: name, "\(error)")
        }
        guard let message = try? JSONRPCMessage.parse(bytes) else {
            throw GatewayError.upstream(
                .upstreamProtocolError, server: name, "answered \(method) with invalid JSON-RPC")
        }
        if message.kind == .errorResponse {
            let text = message.error?["message"]?.stringValue ?? "error"
            throw GatewayError.upstream(
                .upstreamRejected, server: name, "\(method) failed: \(text)",
                details: [("error", message.error ?? .null)])
        }
        guard let result = message.result?.objectValue else {
            throw GatewayError.upstream(
                .upstreamProtocolError, server: name, "answered \(method) without a result object")
        }
        return result
    }
}
