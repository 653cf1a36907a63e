"""The data and training half of the invention pipeline: run stores become datasets
(``elm dataset``), datasets become language models (``elm train``)."""
