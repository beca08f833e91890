"""The booth's screens: booth (play), loading, missing models, attract."""
