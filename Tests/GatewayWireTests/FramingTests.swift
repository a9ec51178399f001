import Testing

@testable import GatewayWire

@Suite("NDJSON and SSE framing")
struct FramingTests {
    func lines(_ chunks: [String], maxLineLength: Int = 1024) throws -> [String] {
        var framer = NDJSONFramer(maxLineLength: maxLineLength)
        var result: [String] = []
        for chunk in chunks {
            framer.append(Array(chunk.utf8))
            while let line = try framer.nextLine() { result.append(String(decoding: line, as: UTF8.self)) }
        }
        return result
    }

    @Test("NDJSON lines split across chunks, with CRLF and blank lines")
    func ndjson() throws {
        #expect(
            try lines(["{\"a\"", ":1}\n{\"b\":2}\r\n\n", "{\"c\"", ":3}\n"]) == [#"{"a":1}"#, #"{"b":2}"#, #"{"c":3}"#])
        #expect(try lines(["no newline yet"]) == [])
    }

    @Test("an NDJSON line over the limit is an error, not unbounded buffering")
    func ndjsonLimit() {
        #expect(throws: NDJSONFramer.LineTooLong.self) { try lines([String(repeating: "x", count: 2000)]) }
        #expect(throws: NDJSONFramer.LineTooLong.self) { try lines([String(repeating: "x", count: 2000) + "\n"]) }
    }

    func events(_ text: String, chunkSize: Int) throws -> [SSEEvent] {
        var parser = SSEParser()
        var result: [SSEEvent] = []
        let bytes = Array(text.utf8)
        var start = 0
        while start < bytes.count {
            try parser.append(bytes[start..<min(start + chunkSize, bytes.count)])
            while let event = parser.nextEvent() { result.append(event) }
            start += chunkSize
        }
        return result
    }

    @Test("SSE: multi-line data, comments, event types, ids, retry and every line ending, in any chunking")
    func sse() throws {
        let stream =
            ": keep-alive\n\nevent: message\nid: 7\ndata: {\"a\":1}\n\ndata: line1\r\ndata:line2\r\rretry: 1500\ndata: x\n\nfoo: bar\n\n"
        let expected = [
            SSEEvent(event: "message", data: Array(#"{"a":1}"#.utf8), id: "7"),
            SSEEvent(data: Array("line1\nline2".utf8)),
            SSEEvent(data: Array("x".utf8), retry: 1500),
        ]
        for chunkSize in [1, 2, 3, 7, 1000] {
            #expect(try events(stream, chunkSize: chunkSize) == expected)
        }
    }

    @Test("SSE encoder output parses back, splitting embedded line breaks")
    func sseRoundTrip() throws {
        let data = Array("{\"a\":\n1}\r\n".utf8)
        let encoded = SSEEncoder.event(data, id: "3") + SSEEncoder.comment("ping")
        let parsed = try events(String(decoding: encoded, as: UTF8.self), chunkSize: 5)
        #expect(parsed == [SSEEvent(event: "message", data: Array("{\"a\":\n1}\n".utf8), id: "3")])
    }

    @Test("an oversized SSE event is an error")
    func sseLimit() {
        var parser = SSEParser(maxEventSize: 10)
        #expect(throws: SSEParser.EventTooLarge.self) { try parser.append(Array("data: 0123456789abc\n\n".utf8)) }
    }
}
