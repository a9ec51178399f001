enum _PlaceholderGatewayCore {}
