/// Splits a command line the way a POSIX shell splits words, without expanding anything: whitespace separates
/// words, single quotes keep everything, inside double quotes a backslash escapes only `"` and `\`, outside quotes
/// a backslash escapes the next character.
enum CommandLineWords {
    struct UnclosedQuote: Error {}

    static func split(_ line: String) throws(UnclosedQuote) -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var escaped = false
        var pendingBackslash = false
        for character in line {
            if escaped {
                current.append(character)
                escaped = false
                continue
            }
            if pendingBackslash {
                pendingBackslash = false
                if character != "\"" && character != "\\" { current.append("\\") }
                current.append(character)
                continue
            }
            switch (quote, character) {
            case ("'", "'"), ("\"", "\""):
                quote = nil
            case ("'", _):
                current.append(character)
            case (nil, "\\"):
                escaped = true
                inWord = true
            case ("\"", "\\"):
                // Inside double quotes a backslash escapes only `"` and `\`; before anything else it is itself.
                pendingBackslash = true
            case ("\"", _):
                current.append(character)
            case (nil, "'"), (nil, "\""):
                quote = character
                inWord = true
            case (nil, _) where character.isWhitespace:
                if inWord { words.append(current) }
                current = ""
                inWord = false
            default:
                current.append(character)
                inWord = true
            }
        }
        guard quote == nil, !escaped, !pendingBackslash else { throw UnclosedQuote() }
        if inWord { words.append(current) }
        return words
    }
}
