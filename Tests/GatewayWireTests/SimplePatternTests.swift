import Foundation
import Testing

@testable import GatewayWire

@Suite("Schema patterns without Foundation")
struct SimplePatternTests {
    static let patterns = [
        "^[a-z0-9-]+$", "^[A-Za-z_][A-Za-z0-9_]*$", #"^\d{4}-\d{2}-\d{2}$"#, "ab", "^a", "b$", "^a?b+c*$",
        "^[^ab]{2,3}$", "a{2,}", "^.{1,4}$", #"^\w+@\w+\.[a-z]{2,}$"#, #"^[\d.]+$"#, #"\s"#, #"^\S*$"#, "^$",
        "x*", #"^[\-a]+$"#, "^[a-c][b-d]?$", #"^\$\d+$"#, "a.c", #"^[!-\/:-@\[-`{-~]+$"#, #"^[\.-9]+$"#,
        #"^[^\]\\]+$"#, #"^a\]b$"#,
    ]
    static let outsideTheSubset = [
        "(ab)+", "a|b", "a+?", #"\bword"#, #"^\p{L}+$"#, "[]", "a{", "a**", #"\u0041"#, "(?i)a", #"[^\d]"#,
        "a{-1}", "a{1,-2}", #"[\d-z]"#,
    ]

    @Test(
        "the subset agrees with NSRegularExpression on random ASCII strings (where ECMA-262 and Python agree)",
        arguments: patterns)
    func differential(_ source: String) throws {
        let simple = try #require(SimplePattern(source), "should be in the subset")
        let reference = try NSRegularExpression(pattern: source)
        let alphabet = Array("ab c-d_0.9Z@$\t]\\#/5".unicodeScalars)
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

    @Test("patterns outside the subset are not the matcher's (and not checked)", arguments: outsideTheSubset)
    func fallback(_ source: String) {
        #expect(SimplePattern(source) == nil)
    }

    @Test("classes accept what ECMA-262 or Python accepts: Unicode digits and letters, both languages' spaces")
    func lenientClasses() throws {
        #expect(try #require(SimplePattern(#"^\w+$"#)).matches("héllo") == true)
        #expect(try #require(SimplePattern(#"^\d$"#)).matches("٣") == true)
        #expect(try #require(SimplePattern(#"^\D$"#)).matches("٣") == true)
        #expect(try #require(SimplePattern(#"^\W$"#)).matches("é") == true)
        #expect(try #require(SimplePattern(#"^\s$"#)).matches("\u{00A0}") == true)
        #expect(try #require(SimplePattern(#"^\s$"#)).matches("\u{FEFF}") == true)
        #expect(try #require(SimplePattern(#"^\s$"#)).matches("\u{1C}") == true)
        #expect(try #require(SimplePattern("^.$")).matches("\n") == false)
        #expect(try #require(SimplePattern("^.$")).matches("\r") == true)
        #expect(try #require(SimplePattern("^.$")).matches("💩") == true)
        #expect(try #require(SimplePattern("^[a-z]+$")).matches("abc\n") == true)
        #expect(try #require(SimplePattern("^[a-z]+$")).matches("abc\n\n") == false)
        #expect(try #require(SimplePattern("^[é-ë]+$")).matches("éêë") == true)
        #expect(try #require(SimplePattern(#"^[!-\/]+$"#)).matches("#/") == true)
        #expect(try #require(SimplePattern(#"^[\.-9]+$"#)).matches("5") == true)
    }

    @Test("a string that makes backtracking explode is left undecided, and the schema admits it")
    func budget() throws {
        let pattern = try #require(SimplePattern("^a*a*a*a*a*a*a*b$"))
        #expect(pattern.matches(String(repeating: "a", count: 200)) == nil)
        #expect(pattern.matches(String(repeating: "a", count: 20) + "b") == true)
        let schema = try JSONSchema(compiling: ["pattern": "^a*a*a*a*a*a*a*b$"])
        #expect(schema.validate(.string(String(repeating: "a", count: 200))) == nil)
        #expect(schema.validate(.string("c")) != nil)
        // Patterns outside the subset are not checked at all.
        #expect(try JSONSchema(compiling: ["pattern": "^(a|b)+$"]).validate(.string("zzz")) == nil)
    }
}
