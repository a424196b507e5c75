"""Endpoint families of the public service, one module each, each exposing ``router``."""
