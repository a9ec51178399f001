import GatewayWire

/// A small deterministic generator (SplitMix64) so property tests are reproducible from their seed.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { self.state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Builds random JSON values and writes them in varied but valid spellings.
struct RandomJSON {
    var rng: SeededGenerator

    init(seed: UInt64) { self.rng = SeededGenerator(seed: seed) }

    mutating func value(depth: Int = 0) -> JSONValue {
        let choice = Int.random(in: 0..<(depth > 4 ? 4 : 6), using: &rng)
        switch choice {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &rng))
        case 2: return .number(number())
        case 3: return .string(string())
        case 4: return .array((0..<Int.random(in: 0...4, using: &rng)).map { _ in value(depth: depth + 1) })
        default:
            var seen = Set<String>()
            var members: [(key: String, value: JSONValue)] = []
            for _ in 0..<Int.random(in: 0...5, using: &rng) {
                let key = string()
                if seen.insert(key).inserted { members.append((key: key, value: value(depth: depth + 1))) }
            }
            return .object(JSONObject(members: members))
        }
    }

    mutating func number() -> JSONNumber {
        let samples = [
            "0", "-0", "1", "-1", "1.0", "1.50", "12345678901234567890", "-9007199254740993", "1e10", "1E+2",
            "2.5e-3", "0.000001", "123456789.987654321",
        ]
        if Bool.random(using: &rng) { return JSONNumber(lexeme: samples.randomElement(using: &rng)!) }
        return JSONNumber(Int.random(in: -1_000_000...1_000_000, using: &rng))
    }

    mutating func string() -> String {
        let pieces = [
            "a", "Z", "name", " ", "\"", "\\", "/", "\n", "\t", "\u{1}", "\u{1F}", "é", "日本", "🎉", "\u{2028}",
            "data:,x",
            "", "_", "-",
        ]
        return (0..<Int.random(in: 0...6, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
    }

    /// Writes `value` with random insignificant whitespace and random (valid) escape spellings.
    mutating func write(_ value: JSONValue, into output: inout [UInt8]) {
        space(&output)
        switch value {
        case .null: output += Array("null".utf8)
        case .bool(let flag): output += Array((flag ? "true" : "false").utf8)
        case .number(let number): output += Array(number.lexeme.utf8)
        case .string(let text): writeString(text, into: &output)
        case .array(let elements):
            output.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                write(element, into: &output)
            }
            space(&output)
            output.append(UInt8(ascii: "]"))
        case .object(let object):
            output.append(UInt8(ascii: "{"))
            for (index, member) in object.members.enumerated() {
                if index > 0 { output.append(UInt8(ascii: ",")) }
                space(&output)
                writeString(member.key, into: &output)
                space(&output)
                output.append(UInt8(ascii: ":"))
                write(member.value, into: &output)
            }
            space(&output)
            output.append(UInt8(ascii: "}"))
        }
        space(&output)
    }

    mutating func space(_ output: inout [UInt8]) {
        for _ in 0..<Int.random(in: 0...2, using: &rng) {
            output.append([0x20, 0x09, 0x0A, 0x0D].randomElement(using: &rng)!)
        }
    }

    mutating func writeString(_ text: String, into output: inout [UInt8]) {
        output.append(UInt8(ascii: "\""))
        for scalar in text.unicodeScalars {
            let style = Int.random(in: 0..<3, using: &rng)
            switch scalar {
            case "\"": output += Array(#"\""#.utf8)
            case "\\": output += Array(#"\\"#.utf8)
            case "/" where style == 0: output += Array(#"\/"#.utf8)
            case "\n" where style != 0: output += Array(#"\n"#.utf8)
            default:
                if scalar.value < 0x20 || style == 0 {
                    for unit in String(scalar).utf16 {
                        output += Array("\\u".utf8) + Array(String(unit, radix: 16).leftPadded(to: 4).utf8)
                    }
                } else {
                    output += Array(String(scalar).utf8)
                }
            }
        }
        output.append(UInt8(ascii: "\""))
    }
}

extension String {
    func leftPadded(to length: Int) -> String {
        String(repeating: "0", count: Swift.max(0, length - count)) + self
    }
}
