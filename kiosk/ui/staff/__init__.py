"""Staff mode on the booth keyboard: the PIN prompt and the staff screen."""
