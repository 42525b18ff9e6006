"""``python -m streamparse``: the same as the ``streamparse`` command."""

from .cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
