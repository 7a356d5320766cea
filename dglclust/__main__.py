"""``python -m dglclust ...``: the command line (same as the ``dglclust`` script)."""
import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
