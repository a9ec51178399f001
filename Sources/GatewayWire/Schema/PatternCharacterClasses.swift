/// The character classes of ``SimplePattern``: lenient ones (ECMA-262 ∪ Python) and the ASCII ones the negated
/// escapes complement.
enum PatternCharacterClasses {
    static func isASCIIDigit(_ scalar: Unicode.Scalar) -> Bool { ("0"..."9").contains(scalar) }

    static func isDigit(_ scalar: Unicode.Scalar) -> Bool {
        isASCIIDigit(scalar) || scalar.properties.numericType == .decimal
    }

    static func isASCIIWord(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || isASCIIDigit(scalar) || scalar == "_"
    }

    static func isWord(_ scalar: Unicode.Scalar) -> Bool {
        isASCIIWord(scalar) || scalar.properties.isAlphabetic || scalar.properties.numericType != nil
    }

    /// Spaces both ECMA-262 and Python's `re` count.
    static func isCommonSpace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x20, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000: true
        default: false
        }
    }

    /// Spaces either counts: ECMA-262 adds U+FEFF, Python U+001C…U+001F and U+0085.
    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        isCommonSpace(scalar) || scalar == "\u{FEFF}" || (0x1C...0x1F).contains(scalar.value) || scalar == "\u{85}"
    }
}
