"""What the HTTP services (the Anthropic gateway, the agent server) share: token auth and
the rule that a service reachable from other machines needs a token."""
