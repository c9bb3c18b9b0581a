"""The DuckDB SQL files the engine runs. Each file holds named, documented query blocks."""
