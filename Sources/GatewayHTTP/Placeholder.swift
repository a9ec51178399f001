enum _PlaceholderGatewayHTTP {}
