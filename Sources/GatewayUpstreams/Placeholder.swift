enum _PlaceholderGatewayUpstreams {}
