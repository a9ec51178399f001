/// How a server's calls are spread over its instances (`loadBalancer.strategy`).
public enum LoadBalancingStrategy: String, Sendable, Hashable, CaseIterable {
    /// Each ready instance in turn.
    case roundRobin = "round_robin"
    /// The instance with the fewest calls in flight for its weight.
    case leastConnections = "least_connections"
    /// Smooth weighted round robin (as nginx does it): shares proportional to `weight`, interleaved.
    case weighted
    /// Smooth weighted round robin over `weight` scaled by each instance's health score.
    case healthBased = "health_based"
    /// A uniformly random ready instance.
    case random
}

/// A server's load balancing, health checking and retry settings, after the gateway-wide defaults were applied.
public struct LoadBalancerConfiguration: Sendable, Hashable {
    public var strategy = LoadBalancingStrategy.roundRobin
    /// How often every instance gets an MCP-level probe (`ping`, or `server/discover` for 2026-07-28 instances).
    public var healthCheckInterval: Duration = .seconds(10)
    /// How long one probe may take before it counts as failed.
    public var healthTimeout: Duration = .seconds(5)
    /// How many more instances a failed request may be tried on (list, read, discover, and calls that are safe to
    /// repeat).
    public var maxRetries = 2
    /// Consecutive failures (calls or probes) after which an instance leaves the rotation.
    public var unhealthyThreshold = 3

    public init() {}
}

/// What a server entry says about its load balancing; what it leaves out comes from the gateway-wide defaults
/// (``GatewayConfiguration/loadBalancerDefaults``, set from `MCP_GATEWAY_DEFAULT_STRATEGY`,
/// `MCP_GATEWAY_HEALTH_INTERVAL`, `MCP_GATEWAY_HEALTH_TIMEOUT`, `MCP_GATEWAY_MAX_RETRIES`).
public struct LoadBalancerOverrides: Sendable, Hashable {
    public var strategy: LoadBalancingStrategy?
    public var healthCheckInterval: Duration?
    public var healthTimeout: Duration?
    public var maxRetries: Int?
    public var unhealthyThreshold: Int?

    public init() {}

    public func applied(to defaults: LoadBalancerConfiguration) -> LoadBalancerConfiguration {
        var resolved = defaults
        resolved.strategy = strategy ?? defaults.strategy
        resolved.healthCheckInterval = healthCheckInterval ?? defaults.healthCheckInterval
        resolved.healthTimeout = healthTimeout ?? defaults.healthTimeout
        resolved.maxRetries = maxRetries ?? defaults.maxRetries
        resolved.unhealthyThreshold = unhealthyThreshold ?? defaults.unhealthyThreshold
        return resolved
    }
}
