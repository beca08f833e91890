"""The game without a screen: config, policy, fair queue, engine, batch runner, events, api."""
