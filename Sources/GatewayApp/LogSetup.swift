import Foundation
import GatewayCore
import GatewayWire
import Logging
import Synchronization

/// Bootstraps swift-log once for the process: human-readable text or one JSON object per line, on stderr.
public enum LogSetup {
    public static func bootstrap(level: String, format: LogFormat) {
        let level = Logger.Level(rawValue: level) ?? .info
        LoggingSystem.bootstrap { label in
            switch format {
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            case .json:
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }
}

/// One JSON object per log line: `ts`, `level`, `logger`, `msg`, then the metadata.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    private static let output = Mutex<FileHandle>(.standardError)

    init(label: String) { self.label = label }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var object: JSONObject = [
            "ts": .string(Date().formatted(.iso8601)),
            "level": .string(event.level.rawValue),
            "logger": .string(label),
            "msg": .string(event.message.description),
        ]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { _, new in new }) {
            object[key] = .string("\(value)")
        }
        var line = JSONValue.object(object).serialized()
        line.append(UInt8(ascii: "\n"))
        Self.output.withLock { $0.write(Data(line)) }
    }
}
