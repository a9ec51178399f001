/// A regular expression from the subset tool schemas use most (`^[a-z0-9-]+$`, `^\d{4}-\d{2}-\d{2}$`), matched
/// without Foundation: about 25 times faster than `NSRegularExpression` for such patterns, which matters because a
/// pattern is checked on every call.
///
/// The subset: `^` and `$` at the ends; atoms `.`, a literal, an escaped metacharacter, `\d \D \w \W \s \S`, and a
/// class `[...]` (ranges, negation, those escapes inside); quantifiers `?`, `*`, `+`, `{n}`, `{n,}`, `{n,m}`, greedy.
/// Anything else (groups, alternation, lazy quantifiers, look-around, back-references) does not parse here, and the
/// pattern goes to `NSRegularExpression`. Semantics are ECMA-262's with the `u` flag, over Unicode scalars.
struct SimplePattern: Sendable {
    private let atoms: [Atom]
    private let anchoredStart: Bool
    private let anchoredEnd: Bool

    private struct Atom: Sendable {
        let set: ScalarSet
        let minimum: Int
        let maximum: Int  // Int.max for unbounded
    }

    private enum ScalarSet: Sendable {
        case literal(Unicode.Scalar)
        case any  // `.`: everything but line terminators
        case digit(negated: Bool)
        case word(negated: Bool)
        case space(negated: Bool)
        indirect case union([ScalarSet], negated: Bool)
        case range(Unicode.Scalar, Unicode.Scalar)

        func contains(_ scalar: Unicode.Scalar) -> Bool {
            switch self {
            case .literal(let literal): scalar == literal
            case .any: !SimplePattern.isLineTerminator(scalar)
            case .digit(let negated): ("0"..."9").contains(scalar) != negated
            case .word(let negated): SimplePattern.isWord(scalar) != negated
            case .space(let negated): SimplePattern.isSpace(scalar) != negated
            case .union(let members, let negated): members.contains { $0.contains(scalar) } != negated
            case .range(let low, let high): (low...high).contains(scalar)
            }
        }
    }

    /// The pattern, if it is inside the subset.
    init?(_ source: String) {
        var scalars = Array(source.unicodeScalars)[...]
        anchoredStart = scalars.first == "^"
        if anchoredStart { scalars = scalars.dropFirst() }
        anchoredEnd = scalars.last == "$" && !Self.isEscaped(scalars, at: scalars.endIndex - 1)
        if anchoredEnd { scalars = scalars.dropLast() }
        var atoms: [Atom] = []
        while let first = scalars.first {
            scalars = scalars.dropFirst()
            let set: ScalarSet
            switch first {
            case "\\":
                guard let escaped = scalars.popFirst(), let parsed = Self.escape(escaped) else { return nil }
                set = parsed
            case "[":
                guard let parsed = Self.characterClass(&scalars) else { return nil }
                set = parsed
            case ".":
                set = .any
            case "(", ")", "|", "*", "+", "?", "{", "}", "^", "$", "]":
                return nil
            default:
                set = .literal(first)
            }
            guard let (minimum, maximum) = Self.quantifier(&scalars) else { return nil }
            atoms.append(Atom(set: set, minimum: minimum, maximum: maximum))
        }
        self.atoms = atoms
    }

    /// Whether the pattern matches somewhere in `string`; `nil` when deciding took more than `budget` steps of
    /// backtracking (the caller then asks `NSRegularExpression`).
    func matches(_ string: String, budget: Int = 10_000) -> Bool? {
        let scalars = Array(string.unicodeScalars)
        var steps = budget
        for start in 0...scalars.count {
            switch match(scalars, from: start, atom: 0, steps: &steps) {
            case true?: return true
            case nil: return nil
            case false?: if anchoredStart { return false }
            }
        }
        return false
    }

    /// Whether atoms `atom...` match `scalars` from `position` (to the end, if anchored there); backtracks over
    /// each quantifier, longest first, counting down `steps`.
    private func match(_ scalars: [Unicode.Scalar], from position: Int, atom: Int, steps: inout Int) -> Bool? {
        guard atom < atoms.count else { return !anchoredEnd || position == scalars.count }
        let current = atoms[atom]
        var end = position
        while end < scalars.count, end - position < current.maximum, current.set.contains(scalars[end]) { end += 1 }
        guard end - position >= current.minimum else { return false }
        for stop in stride(from: end, through: position + current.minimum, by: -1) {
            steps -= 1
            guard steps > 0 else { return nil }
            switch match(scalars, from: stop, atom: atom + 1, steps: &steps) {
            case true?: return true
            case nil: return nil
            case false?: continue
            }
        }
        return false
    }

    // MARK: Parsing

    private static func escape(_ scalar: Unicode.Scalar) -> ScalarSet? {
        switch scalar {
        case "d": .digit(negated: false)
        case "D": .digit(negated: true)
        case "w": .word(negated: false)
        case "W": .word(negated: true)
        case "s": .space(negated: false)
        case "S": .space(negated: true)
        case "t": .literal("\t")
        case "n": .literal("\n")
        case "r": .literal("\r")
        default: "\\^$.|?*+()[]{}/-".unicodeScalars.contains(scalar) ? .literal(scalar) : nil
        }
    }

    /// `[...]` after its opening bracket, consuming the closing one.
    private static func characterClass(_ scalars: inout ArraySlice<Unicode.Scalar>) -> ScalarSet? {
        let negated = scalars.first == "^"
        if negated { scalars = scalars.dropFirst() }
        var members: [ScalarSet] = []
        while let first = scalars.popFirst() {
            switch first {
            case "]":
                return members.isEmpty ? nil : .union(members, negated: negated)
            case "[":
                return nil
            case "\\":
                guard let escaped = scalars.popFirst(), let set = escape(escaped) else { return nil }
                members.append(set)
            default:
                if scalars.first == "-", let high = scalars.dropFirst().first, high != "]", high != "\\" {
                    guard first <= high else { return nil }
                    scalars = scalars.dropFirst(2)
                    members.append(.range(first, high))
                } else {
                    members.append(.literal(first))
                }
            }
        }
        return nil
    }

    private static func quantifier(_ scalars: inout ArraySlice<Unicode.Scalar>) -> (Int, Int)? {
        let bounds: (Int, Int)
        switch scalars.first {
        case "?": bounds = (0, 1)
        case "*": bounds = (0, Int.max)
        case "+": bounds = (1, Int.max)
        case "{":
            guard let close = scalars.firstIndex(of: "}") else { return nil }
            let inside = String(String.UnicodeScalarView(scalars[(scalars.startIndex + 1)..<close]))
            let parts = inside.split(separator: ",", maxSplits: 1, omittingEmptySubsequences: false)
            guard let low = Int(parts[0]), low <= 1_000 else { return nil }
            let high = parts.count == 1 ? low : parts[1].isEmpty ? Int.max : Int(parts[1]) ?? -1
            guard high >= low else { return nil }
            scalars = scalars[(close + 1)...]
            return Self.lazy(&scalars) ? nil : (low, high)
        default:
            return (1, 1)
        }
        scalars = scalars.dropFirst()
        return Self.lazy(&scalars) ? nil : bounds
    }

    /// A `?` after a quantifier (lazy) or a second quantifier: outside the subset.
    private static func lazy(_ scalars: inout ArraySlice<Unicode.Scalar>) -> Bool {
        guard let next = scalars.first else { return false }
        return "?*+{".unicodeScalars.contains(next)
    }

    private static func isEscaped(_ scalars: ArraySlice<Unicode.Scalar>, at index: Int) -> Bool {
        var backslashes = 0
        var position = index - 1
        while position >= scalars.startIndex, scalars[position] == "\\" {
            backslashes += 1
            position -= 1
        }
        return backslashes % 2 == 1
    }

    // MARK: ECMA-262 classes

    static func isWord(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "_"
    }

    static func isLineTerminator(_ scalar: Unicode.Scalar) -> Bool {
        scalar == "\n" || scalar == "\r" || scalar == "\u{2028}" || scalar == "\u{2029}"
    }

    /// WhiteSpace and LineTerminator of ECMA-262.
    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x20, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000, 0xFEFF: true
        default: false
        }
    }
}
