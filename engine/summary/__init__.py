"""The summary: the pipeline from inputs (or a store snapshot) to the contract files, written
atomically (summarize, outputs), and analysts' SQL files run after it (analyst)."""
