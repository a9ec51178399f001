import Foundation
import Testing

@testable import GatewayWire

@Suite("Schema patterns without Foundation")
struct SimplePatternTests {
    static let patterns = [
        "^[a-z0-9-]+$", "^[A-Za-z_][A-Za-z0-9_]*$", #"^\d{4}-\d{2}-\d{2}$"#, "ab", "^a", "b$", "^a?b+c*$",
        "^[^ab]{2,3}$", "a{2,}", "^.{1,4}$", #"^\w+@\w+\.[a-z]{2,}$"#, #"^[\d.]+$"#, #"\s"#, #"^\S*$"#, "^$",
        "x*", #"^[\-a]+$"#, "^[a-c][b-d]?$", #"^\$\d+$"#, "a.c",
    ]
    static let outsideTheSubset = [
        "(ab)+", "a|b", "a+?", #"\bword"#, #"^\p{L}+$"#, "[]", "a{", "a**", #"\u0041"#, "(?i)a",
    ]

    @Test("the subset agrees with NSRegularExpression on random ASCII strings", arguments: patterns)
    func differential(_ source: String) throws {
        let simple = try #require(SimplePattern(source), "should be in the subset")
        let reference = try NSRegularExpression(pattern: source)
        let alphabet = Array("ab c-d_0.9Z@$\t".unicodeScalars)
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<3_000 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let length = Int(seed >> 60)
            var scalars = String.UnicodeScalarView()
            var bits = seed
            for _ in 0..<length {
                bits = bits &* 2_862_933_555_777_941_757 &+ 3_037_000_493
                scalars.append(alphabet[Int(bits >> 59) % alphabet.count])
            }
            let string = String(scalars)
            let expected =
                reference.firstMatch(in: string, range: NSRange(location: 0, length: string.utf16.count)) != nil
            #expect(simple.matches(string) == expected, "\(source) on \(string.debugDescription)")
        }
    }

    @Test("patterns outside the subset go to NSRegularExpression", arguments: outsideTheSubset)
    func fallback(_ source: String) {
        #expect(SimplePattern(source) == nil)
    }

    @Test("classes follow ECMA-262: \\d and \\w are ASCII, \\s includes Unicode spaces, . stops at line ends")
    func ecmaClasses() throws {
        #expect(try #require(SimplePattern(#"^\w+$"#)).matches("héllo") == false)
        #expect(try #require(SimplePattern(#"^\d$"#)).matches("٣") == false)
        #expect(try #require(SimplePattern(#"^\s$"#)).matches("\u{00A0}") == true)
        #expect(try #require(SimplePattern("^.$")).matches("\n") == false)
        #expect(try #require(SimplePattern("^.$")).matches("💩") == true)
        #expect(try #require(SimplePattern("^[é-ë]+$")).matches("éêë") == true)
    }

    @Test("a string that makes backtracking explode is handed on instead of decided slowly")
    func budget() throws {
        let pattern = try #require(SimplePattern("^a*a*a*a*a*a*a*b$"))
        #expect(pattern.matches(String(repeating: "a", count: 200)) == nil)
        let schemaPattern = try #require(SchemaPattern("^a*a*a*a*a*a*a*b$"))
        #expect(schemaPattern.matches(String(repeating: "a", count: 200)) == false)
        #expect(schemaPattern.matches(String(repeating: "a", count: 200) + "b") == true)
    }
}
