/// The four list methods the gateway merges across servers.
enum ListKind: Sendable {
    case tools
    case prompts
    case resources
    case resourceTemplates

    init?(method: String) {
        switch method {
        case "tools/list": self = .tools
        case "prompts/list": self = .prompts
        case "resources/list": self = .resources
        case "resources/templates/list": self = .resourceTemplates
        default: return nil
        }
    }

    var method: String {
        switch self {
        case .tools: "tools/list"
        case .prompts: "prompts/list"
        case .resources: "resources/list"
        case .resourceTemplates: "resources/templates/list"
        }
    }

    /// The result member holding the items.
    var itemsKey: String {
        switch self {
        case .tools: "tools"
        case .prompts: "prompts"
        case .resources: "resources"
        case .resourceTemplates: "resourceTemplates"
        }
    }

    /// The server capability that announces the method.
    var capability: String {
        switch self {
        case .tools: "tools"
        case .prompts: "prompts"
        case .resources, .resourceTemplates: "resources"
        }
    }
}
