enum _PlaceholderGatewayDemoServer {}
