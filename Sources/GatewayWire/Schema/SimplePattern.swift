/// A JSON Schema `pattern` from the subset tool schemas use most (`^[a-z0-9-]+$`, `^\d{4}-\d{2}-\d{2}$`), matched
/// by a small backtracking matcher with a step budget, without Foundation.
///
/// The subset: `^` and `$` at the ends; atoms `.`, a literal, an escaped character, `\d \D \w \W \s \S`, and a
/// class `[...]` (ranges, negation, those escapes inside); quantifiers `?`, `*`, `+`, `{n}`, `{n,}`, `{n,m}`, greedy.
/// A pattern outside it (groups, alternation, lazy quantifiers, look-around, back-references, `\p{…}`) is not
/// checked at all, and neither is a string that takes more than the budget to decide: the gateway must never refuse
/// what the server would accept, nor spend unbounded time deciding.
///
/// For the same reason the classes are the union of what ECMA-262 (the dialect JSON Schema names) and Python's `re`
/// (what the most common MCP servers validate with) accept: `\d` and `\w` match Unicode digits and letters as well as
/// ASCII, `\s` both languages' spaces, `.` everything but `\n`, and a final `$` also matches before a last `\n`. The
/// negated escapes are the complements of the ASCII sets, so they too accept whatever either language accepts.
struct SimplePattern: Sendable {
    private typealias Classes = PatternCharacterClasses
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
        case range(Unicode.Scalar, Unicode.Scalar)
        case anyButNewline
        case digit(negated: Bool)
        case word(negated: Bool)
        case space(negated: Bool)
        indirect case union([ScalarSet], negated: Bool)

        func contains(_ scalar: Unicode.Scalar) -> Bool {
            switch self {
            case .literal(let literal): scalar == literal
            case .range(let low, let high): (low...high).contains(scalar)
            case .anyButNewline: scalar != "\n"
            case .digit(let negated): negated ? !Classes.isASCIIDigit(scalar) : Classes.isDigit(scalar)
            case .word(let negated): negated ? !Classes.isASCIIWord(scalar) : Classes.isWord(scalar)
            case .space(let negated): negated ? !Classes.isCommonSpace(scalar) : Classes.isSpace(scalar)
            case .union(let members, let negated): members.contains { $0.contains(scalar) } != negated
            }
        }

        var isClassEscape: Bool {
            switch self {
            case .digit, .word, .space: true
            default: false
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
        while let first = scalars.popFirst() {
            let set: ScalarSet
            switch first {
            case "\\":
                guard let escaped = scalars.popFirst(), let parsed = Self.escape(escaped) else { return nil }
                set = parsed
            case "[":
                guard let parsed = Self.characterClass(&scalars) else { return nil }
                set = parsed
            case ".":
                set = .anyButNewline
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

    /// Whether the pattern matches somewhere in `string`; `nil` when deciding took more than `budget` steps.
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
        guard atom < atoms.count else {
            guard anchoredEnd else { return true }
            return position == scalars.count || (position == scalars.count - 1 && scalars[position] == "\n")
        }
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

    /// What `\` followed by `scalar` stands for, outside or inside a class.
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
        case "f": .literal("\u{0C}")
        case "v": .literal("\u{0B}")
        default: "\\^$.|?*+()[]{}/-".unicodeScalars.contains(scalar) ? .literal(scalar) : nil
        }
    }

    /// `[...]` after its opening bracket, consuming the closing one.
    private static func characterClass(_ scalars: inout ArraySlice<Unicode.Scalar>) -> ScalarSet? {
        let negated = scalars.first == "^"
        if negated { scalars = scalars.dropFirst() }
        var members: [ScalarSet] = []
        while let first = scalars.first, first != "]" {
            guard let low = classAtom(&scalars) else { return nil }
            if scalars.first == "-", let next = scalars.dropFirst().first, next != "]" {
                scalars = scalars.dropFirst()
                guard case .literal(let from) = low, case .literal(let to)? = classAtom(&scalars), from <= to else {
                    return nil
                }
                members.append(.range(from, to))
            } else {
                members.append(low)
            }
        }
        guard scalars.popFirst() == "]", !members.isEmpty else { return nil }
        // Under negation the lenient classes would shrink what is accepted: such classes are not checked.
        if negated, members.contains(where: \.isClassEscape) { return nil }
        return .union(members, negated: negated)
    }

    /// One member of a class: a literal, an escaped character, or a class escape.
    private static func classAtom(_ scalars: inout ArraySlice<Unicode.Scalar>) -> ScalarSet? {
        guard let first = scalars.popFirst() else { return nil }
        switch first {
        case "\\":
            guard let escaped = scalars.popFirst() else { return nil }
            if escaped == "b" { return .literal("\u{08}") }  // backspace, inside a class
            return escape(escaped)
        case "[":
            return nil
        default:
            return .literal(first)
        }
    }

    private static func quantifier(_ scalars: inout ArraySlice<Unicode.Scalar>) -> (Int, Int)? {
        let bounds: (Int, Int)
        switch scalars.first {
        case "?": bounds = (0, 1)
        case "*": bounds = (0, Int.max)
        case "+": bounds = (1, Int.max)
        case "{":
            guard let close = scalars.firstIndex(of: "}") else { return nil }
            let inside = scalars[(scalars.startIndex + 1)..<close]
            guard inside.allSatisfy({ $0 == "," || ("0"..."9").contains($0) }) else { return nil }
            let parts = String(String.UnicodeScalarView(inside))
                .split(separator: ",", maxSplits: 1, omittingEmptySubsequences: false)
            guard let low = Int(parts[0]), low <= 1_000 else { return nil }
            let high = parts.count == 1 ? low : parts[1].isEmpty ? Int.max : Int(parts[1]) ?? -1
            guard high >= low else { return nil }
            scalars = scalars[(close + 1)...]
            return followedByQuantifier(scalars) ? nil : (low, high)
        default:
            return (1, 1)
        }
        scalars = scalars.dropFirst()
        return followedByQuantifier(scalars) ? nil : bounds
    }

    /// A `?` after a quantifier (lazy) or a second quantifier: outside the subset.
    private static func followedByQuantifier(_ scalars: ArraySlice<Unicode.Scalar>) -> Bool {
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
}
