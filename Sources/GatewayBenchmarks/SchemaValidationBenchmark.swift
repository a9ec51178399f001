import GatewayWire

/// What checking one `tools/call` against its tool's `inputSchema` costs the gateway, in process: reading the
/// arguments out of the already-parsed request and validating them against the compiled schema (the work
/// `MCPRouter.argumentsRefusal` adds per call), for a typical 10-property schema.
struct SchemaValidationBenchmark {
    static let schema = #"""
        {"type":"object","additionalProperties":false,"required":["query","limit","region"],"properties":{
          "query":{"type":"string","minLength":1,"maxLength":500},
          "limit":{"type":"integer","minimum":1,"maximum":100},
          "offset":{"type":"integer","minimum":0},
          "region":{"type":"string","enum":["eu-west-1","us-east-1","ap-south-1"]},
          "sort":{"type":"string","enum":["asc","desc"]},
          "includeArchived":{"type":"boolean"},
          "tags":{"type":"array","items":{"type":"string","pattern":"^[a-z0-9-]+$"},"maxItems":10,"uniqueItems":true},
          "since":{"type":"string","format":"date-time"},
          "score":{"type":"number","exclusiveMinimum":0,"maximum":1},
          "owner":{"type":"object","required":["id"],"properties":{"id":{"type":"string"},"team":{"type":"string"}}}}}
        """#

    static let request = #"""
        {"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"search__find","arguments":{
          "query":"quarterly report","limit":20,"offset":40,"region":"eu-west-1","sort":"desc","includeArchived":false,
          "tags":["finance","q3-2026"],"since":"2026-07-01T00:00:00Z","score":0.75,"owner":{"id":"u-17","team":"ops"}}}}
        """#

    struct Figures {
        let nanosecondsPerCall: Double
        let nanosecondsPerCompile: Double
    }

    /// The median of `rounds` rounds of `iterations` calls each.
    static func run(iterations: Int = 100_000, rounds: Int = 5) throws -> Figures {
        let document = try JSONParser.parse(schema)
        let message = try JSONRPCMessage.parse(Array(request.utf8))
        let compiled = try JSONSchema(compiling: document)
        guard compiled.validate(message.paramValue("arguments") ?? .null) == nil else {
            throw BenchmarkError("the benchmark's arguments do not satisfy its schema")
        }
        let clock = ContinuousClock()
        var perCall: [Double] = []
        var perCompile: [Double] = []
        var refused = 0
        for _ in 0..<rounds {
            let elapsed = clock.measure {
                for _ in 0..<iterations where compiled.validate(message.paramValue("arguments") ?? .null) != nil {
                    refused += 1
                }
            }
            perCall.append(nanoseconds(elapsed) / Double(iterations))
            let compiling = clock.measure {
                for _ in 0..<1_000 where (try? JSONSchema(compiling: document)) == nil { refused += 1 }
            }
            perCompile.append(nanoseconds(compiling) / 1_000)
        }
        guard refused == 0 else { throw BenchmarkError("validation results changed between iterations") }
        return Figures(nanosecondsPerCall: median(perCall), nanosecondsPerCompile: median(perCompile))
    }

    private static func nanoseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1e9 + Double(duration.components.attoseconds) / 1e9
    }

    private static func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
}

struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
