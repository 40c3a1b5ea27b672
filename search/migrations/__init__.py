"""Versioned SQL files of the search schema (NNNN_name.up.sql / NNNN_name.down.sql)."""
