import GatewayCore
import GatewayWire
import HTTPTypes
import Hummingbird
import NIOCore

/// The HTTP side of the one error mapping: a ``GatewayError`` becomes its status and a JSON-RPC error body.
extension GatewayError {
    func httpResponse(id: JSONRPCID? = nil, era: MCPEra = .legacy) -> Response {
        var response = Response.json(
            HTTPResponse.Status(code: httpStatus(era: era)), jsonRPCResponse(id: id, era: era))
        if code == .unauthorized {
            response.headers[.wwwAuthenticate] = #"Bearer realm="mcp-gateway""#
        }
        return response
    }
}

extension GatewayError {
    /// The error as a REST or management route answers it: ``restStatus`` and ``restBody``.
    func restResponse() -> Response {
        .json(HTTPResponse.Status(code: restStatus), restBody)
    }
}

extension Response {
    static func json(_ status: HTTPResponse.Status, _ bytes: [UInt8], headers extra: HTTPFields = [:]) -> Response {
        var headers = extra
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
