"""govassist: cited retrieval and chat over digital-governance texts."""

__version__ = "0.1.0"
