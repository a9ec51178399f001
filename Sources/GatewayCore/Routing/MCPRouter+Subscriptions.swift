import GatewayWire

extension MCPRouter {
    /// `subscriptions/listen` (2026-07-28): a long-lived stream that starts with the acknowledgement of what the
    /// gateway will send, then carries the requested list changes and resource updates until the client closes it.
    /// Resource subscriptions go upstream as `resources/subscribe` (counted across clients); a URI no visible
    /// server serves, or whose server refuses it, is left out of the acknowledgement.
    func listen(_ message: JSONRPCMessage, context: MCPRequestContext) async throws(GatewayError) -> MCPReply {
        guard let id = message.id, case .object(let requested) = message.paramValue("notifications") else {
            throw GatewayError(.invalidParams, "Invalid params: \"notifications\" must be an object")
        }
        var filter = ListenStreams.Filter()
        filter.toolsListChanged = requested["toolsListChanged"]?.boolValue == true
        filter.promptsListChanged = requested["promptsListChanged"]?.boolValue == true
        filter.resourcesListChanged = requested["resourcesListChanged"]?.boolValue == true
        if let value = requested["resourceSubscriptions"] {
            guard let uris = value.arrayValue?.compactMap(\.stringValue), uris.count == value.arrayValue?.count else {
                throw GatewayError(
                    .invalidParams,
                    "Invalid params: \"notifications.resourceSubscriptions\" must be an array of strings")
            }
            for uri in Set(uris).sorted() {
                guard let target = try? await subscribeUpstream(uri, context: context) else { continue }
                filter.resources.append((client: uri, server: target.server, uri: target.uri))
            }
        }
        let targets = filter.resources.map { ResourceTarget(server: $0.server, uri: $0.uri) }
        let stream = listeners.open(id: id, scope: context.scope, filter: filter) { [weak self] in
            for target in targets { self?.releaseSubscription(target) }
        }
        return .stream(first: ListenStreams.acknowledgement(id: id, honoured: filter), rest: stream)
    }

    /// Counts a subscriber of `uri` and subscribes upstream if it is the first.
    private func subscribeUpstream(_ uri: String, context: MCPRequestContext) async throws(GatewayError)
        -> ResourceTarget
    {
        let (server, original) = try await resolveResource(uri, context: context)
        let target = ResourceTarget(server: server.name, uri: original)
        guard subscriptions.acquire(server: target.server, uri: target.uri) else { return target }
        do throws(GatewayError) {
            _ = try await server.fetch(
                "resources/subscribe", params: ["uri": .string(original)], owner: UpstreamRequest.gatewayOwner)
            return target
        } catch {
            _ = subscriptions.release(server: target.server, uri: target.uri)
            throw error
        }
    }

    /// Counts one subscriber less, and unsubscribes upstream after the last.
    func releaseSubscription(_ target: ResourceTarget) {
        guard subscriptions.release(server: target.server, uri: target.uri),
            let server = directory.server(named: target.server)
        else { return }
        Task {
            _ = try? await server.fetch(
                "resources/unsubscribe", params: ["uri": .string(target.uri)], owner: UpstreamRequest.gatewayOwner)
        }
    }

    /// After a server (re)started, its new upstream session knows no subscriptions: subscribe again to every URI
    /// someone still wants.
    func resubscribe(_ name: String) {
        guard let server = directory.server(named: name) else { return }
        let uris = subscriptions.uris(of: name)
        guard !uris.isEmpty else { return }
        Task {
            for uri in uris {
                _ = try? await server.fetch(
                    "resources/subscribe", params: ["uri": .string(uri)], owner: UpstreamRequest.gatewayOwner)
            }
        }
    }
}
