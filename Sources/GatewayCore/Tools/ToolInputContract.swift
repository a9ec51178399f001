import GatewayWire

/// What a `tools/call` is checked against before it is forwarded, read from the tool's `inputSchema` once per
/// listing that changes it: the compiled schema, and the arguments mirrored into `Mcp-Param-*` headers.
struct ToolInputContract: Sendable {
    /// The `inputSchema` as listed, so a later listing that repeats it reuses this contract.
    let source: JSONValue
    /// `nil` when the schema does not compile (``compileProblem`` says why): the call is forwarded unchecked and
    /// the upstream judges its arguments.
    let schema: JSONSchema?
    let compileProblem: JSONSchemaError?
    /// The arguments 2026-07-28 clients mirror into headers; `nil` when the annotations are invalid, which makes the
    /// tool unlisted and uncallable for 2026-07-28 clients (``annotationProblem`` says why; the annotation means
    /// nothing to the session-based revisions, whose clients keep the tool).
    let mirrored: [MirroredParameter]?
    let annotationProblem: MirroredParameter.InvalidAnnotation?

    init(inputSchema: JSONValue) {
        self.source = inputSchema
        do throws(JSONSchemaError) {
            (schema, compileProblem) = (try JSONSchema(compiling: inputSchema, readingJSONInStrings: true), nil)
        } catch {
            (schema, compileProblem) = (nil, error)
        }
        do throws(MirroredParameter.InvalidAnnotation) {
            (mirrored, annotationProblem) = (try MirroredParameter.all(in: inputSchema), nil)
        } catch {
            (mirrored, annotationProblem) = (nil, error)
        }
    }

    /// Why `arguments` (absent or `null` counts as `{}`, as servers read it) fail the schema, or `nil`.
    func violation(of arguments: JSONValue?) -> JSONSchemaViolation? {
        guard let arguments, !arguments.isNull else { return schema?.validate(.object([:])) }
        return schema?.validate(arguments)
    }
}
