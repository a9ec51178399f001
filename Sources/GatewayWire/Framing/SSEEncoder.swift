/// Writes server-sent events.
public enum SSEEncoder {
    /// An event carrying `data`; line breaks inside `data` become separate `data:` lines.
    public static func event(_ data: [UInt8], type: String? = "message", id: String? = nil) -> [UInt8] {
        var output: [UInt8] = []
        output.reserveCapacity(data.count + 32)
        if let type {
            output.append(contentsOf: "event: ".utf8)
            output.append(contentsOf: type.utf8)
            output.append(UInt8(ascii: "\n"))
        }
        if let id {
            output.append(contentsOf: "id: ".utf8)
            output.append(contentsOf: id.utf8)
            output.append(UInt8(ascii: "\n"))
        }
        output.append(contentsOf: "data: ".utf8)
        var position = 0
        while position < data.count {
            let byte = data[position]
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                if byte == UInt8(ascii: "\r"), position + 1 < data.count, data[position + 1] == UInt8(ascii: "\n") {
                    position += 1
                }
                output.append(contentsOf: "\ndata: ".utf8)
            } else {
                output.append(byte)
            }
            position += 1
        }
        output.append(contentsOf: "\n\n".utf8)
        return output
    }

    /// A comment line, used as a keep-alive that clients ignore.
    public static func comment(_ text: String = "") -> [UInt8] {
        Array(": \(text)\n\n".utf8)
    }
}
