"""Endpoint-string parsers for the ``nacl:`` transport (see docs/transports.md)."""

from zkos_tw.transports.endpoints import NaclClientParser, NaclServerParser

nacl_server = NaclServerParser()
nacl_client = NaclClientParser()
