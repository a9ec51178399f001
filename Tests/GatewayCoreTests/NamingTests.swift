import GatewayWire
import Testing

@testable import GatewayCore

@Suite("Names, cursors and globs")
struct NamingTests {
    let names = QualifiedNames()

    @Test("short names are prefix__name and split back")
    func shortNames() throws {
        #expect(names.qualified(prefix: "fs", name: "read_file") == "fs__read_file")
        let split = try #require(names.split("fs__read__file"))
        #expect(split.prefix == "fs" && split.name == "read__file")
        #expect(names.split("__x") == nil)
        #expect(names.split("plain") == nil)
    }

    @Test("long names get a deterministic alias of exactly the budget")
    func aliases() {
        let long = String(repeating: "very_long_tool_name_", count: 5)
        let alias = names.qualified(prefix: "server", name: long)
        #expect(alias.count == 64)
        #expect(alias == names.qualified(prefix: "server", name: long))
        #expect(alias != names.qualified(prefix: "server", name: long + "x"))
        #expect(alias.hasPrefix("server__very_long"))
        #expect(names.looksLikeAlias(alias))
        #expect(!names.looksLikeAlias("server__short"))
        #expect(alias.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" })
    }

    @Test("cursors round-trip, and are refused when forged, edited or presented by another principal")
    func cursors() throws {
        let codec = CursorCodec(secret: "k")
        let state: JSONValue = ["m": "tools/list", "q": [["a", "c1"]]]
        let cursor = codec.encode(state, principal: "alice")
        #expect(try codec.decode(cursor, principal: "alice") == state)
        #expect(throws: GatewayError.self) { try codec.decode(cursor, principal: "bob") }
        #expect(throws: GatewayError.self) { try CursorCodec(secret: "other").decode(cursor, principal: "alice") }
        var edited = Array(cursor)
        edited[3] = edited[3] == "A" ? "B" : "A"
        #expect(throws: GatewayError.self) { try codec.decode(String(edited), principal: "alice") }
        #expect(throws: GatewayError.self) { try codec.decode("garbage", principal: "alice") }
        #expect(try CursorCodec(secret: "k").decode(cursor, principal: "alice") == state)
    }

    @Test(
        "globs",
        arguments: [
            ("read_*", "read_file", true), ("read_*", "write_file", false), ("*", "", true), ("a?c", "abc", true),
            ("a?c", "ac", false), ("*_file", "read_file", true), ("a*b*c", "axxbyyc", true), ("a*b*c", "axxbyy", false),
        ])
    func globs(pattern: String, name: String, expected: Bool) {
        #expect(GlobPattern(pattern).matches(name) == expected)
    }

    @Test("tool filters: deny wins, empty allow allows all")
    func toolFilters() {
        #expect(ToolFilter().permits("x"))
        #expect(!ToolFilter(allow: ["*"], deny: ["rm*"]).permits("rm_rf"))
        #expect(!ToolFilter(allow: ["read_*"]).permits("write"))
    }
}
