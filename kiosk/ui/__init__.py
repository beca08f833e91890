"""The Textual booth: the app, its stylesheet, screens, widgets and terminal graphics."""
