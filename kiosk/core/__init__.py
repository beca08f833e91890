"""The ground floor, pure: domain types, events, config, policy, identity, the Protocols."""
