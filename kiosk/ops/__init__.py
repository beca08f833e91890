"""Headless surfaces: the scripted demo and the printed reports."""
