"""Where the project's folders are, for the host tools that read them."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
