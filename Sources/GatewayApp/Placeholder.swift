enum _PlaceholderGatewayApp {}
